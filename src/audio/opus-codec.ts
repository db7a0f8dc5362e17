// The one adapter over @discordjs/opus (native libopus). Everything else in src/audio talks to these two
// small interfaces, so a different libopus binding would only change this file.
import { createRequire } from 'node:module';
import type { OpusEncoder as NativeOpus } from '@discordjs/opus';

const require = createRequire(import.meta.url);
// @discordjs/opus is CommonJS with a native addon; createRequire keeps the load synchronous.
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

const OPUS_RATE = 48_000;

// opus_defines.h request numbers: @discordjs/opus only forwards raw CTLs.
const OPUS_SET_COMPLEXITY = 4010;
const OPUS_SET_SIGNAL = 4024;
const OPUS_RESET_STATE = 4028;
const OPUS_SIGNAL_MUSIC = 3002;

/**
 * Samples of delay libopus adds at 48 kHz in OPUS_APPLICATION_AUDIO (the mode @discordjs/opus uses):
 * Fs/400 look-ahead + Fs/250 delay compensation. It is the pre-skip an Ogg Opus file must declare.
 */
export const OPUS_ENCODER_LOOKAHEAD = 312;

export interface OpusDecoder {
  readonly channels: 1 | 2;
  /** Decodes one packet to interleaved signed 16-bit PCM at 48 kHz (`channels` channels). */
  decode(packet: Buffer): Int16Array;
  /** Forgets all history, as a freshly created decoder. */
  reset(): void;
}

export function createOpusDecoder(channels: 1 | 2): OpusDecoder {
  const native: NativeOpus = new OpusEncoder(OPUS_RATE, channels);
  return {
    channels,
    decode(packet) {
      const pcm = native.decode(packet);
      return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength >> 1);
    },
    reset() {
      native.applyDecoderCTL(OPUS_RESET_STATE, 0);
    },
  };
}

export interface OpusEncoderOptions {
  /** Bits per second; default 112 kbit/s, transparent for speech mixes in stereo. */
  bitrate?: number;
  /**
   * libopus complexity 0..10 (default 10). Each step down saves CPU at a small cost in quality; at 5 the
   * encoder runs roughly twice as fast and the difference on speech is hard to hear at ~100 kbit/s.
   */
  complexity?: number;
}

export interface OpusStereoEncoder {
  /** Encodes exactly one 20 ms frame (960 × 2 interleaved int16 samples). */
  encode(pcm: Int16Array): Buffer;
  /** Forgets all history: the next frame is coded as if the input before it were silence. */
  reset(): void;
}

export const OPUS_FRAME = 960;

export function createOpusEncoder(options: OpusEncoderOptions = {}): OpusStereoEncoder {
  const native: NativeOpus = new OpusEncoder(OPUS_RATE, 2);
  native.setBitrate(options.bitrate ?? 112_000);
  native.applyEncoderCTL(OPUS_SET_COMPLEXITY, options.complexity ?? 10);
  // A room mix is several voices plus whatever the speakers' rooms add; the music tuning keeps CELT
  // in charge at these bitrates, which is what the voices want too.
  native.applyEncoderCTL(OPUS_SET_SIGNAL, OPUS_SIGNAL_MUSIC);
  return {
    encode(pcm) {
      if (pcm.length !== OPUS_FRAME * 2) throw new RangeError(`expected ${OPUS_FRAME * 2} samples, got ${pcm.length}`);
      return native.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    },
    reset() {
      native.applyEncoderCTL(OPUS_RESET_STATE, 0);
    },
  };
}
