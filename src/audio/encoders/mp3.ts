// MP3 through LAME compiled to WebAssembly (wasm-media-encoders), CBR so every frame has the same size,
// plus the LAME "Info" tag that wasm-media-encoders leaves out. Without that tag decoders cannot know
// LAME's start delay and padding, and every word would land ~23 ms late; with it, players trim exactly.
import { createMp3Encoder as createLame } from 'wasm-media-encoders';
import { id3ChapterTag } from '../id3-chapters.ts';
import { FileSink, MIX_RATE, channelsOf, type Encoder, type EncoderOptions } from './encoder.ts';

const KBPS = 128;
// MPEG-1 Layer III: 1152 samples per frame; at 48 kHz a frame is 144 * bitrate / rate bytes with no
// padding slot ever needed, so CBR frames are all exactly this long.
const SAMPLES_PER_FRAME = 1152;
const FRAME_BYTES = (144 * KBPS * 1000) / MIX_RATE;
// LAME's encoder delay (lame_get_encoder_delay) at this rate; decoders add their own 529 on top.
const LAME_ENCODER_DELAY = 576;

/**
 * The Info frame: a silent MPEG frame whose payload carries the Xing/LAME tag (LAME "Mp3 Info Tag rev 1"
 * specification). Offsets are from the frame start for MPEG-1 stereo (32 bytes of side information); in mono
 * the side information is 17 bytes, so everything after it comes 15 bytes earlier:
 *
 *     0 frame header (4)      4 side info, zero (32)      36 "Info" (CBR flavour of "Xing")
 *    40 flags = 0x0F          44 frame count              48 byte count           52 TOC (100)
 *   152 quality               156 "LAME3.100" (9)        165 revision/VBR method  166 lowpass
 *   167 peak (4)              171 radio/audiophile gain (4)                      175 flags/ATH
 *   176 bitrate               177 delay (12 bits) | padding (12 bits)            180 misc
 *   181 mp3 gain              182 preset/surround (2)     184 music length (4)     188 music CRC (2)
 *   190 CRC-16 of bytes 0..189
 */
function lameInfoFrame(opts: { audioFrames: number; totalBytes: number; delay: number; padding: number; channels: 1 | 2 }): Buffer {
  const f = Buffer.alloc(FRAME_BYTES);
  const at = opts.channels === 1 ? -15 : 0;
  // Sync, MPEG-1, Layer III, no CRC | bitrate index 9 (128 kbit/s), 48 kHz | joint stereo (01) or mono (11).
  f.writeUInt32BE(opts.channels === 1 ? 0xfffb94c4 : 0xfffb9444, 0);
  f.write('Info', 36 + at, 'ascii');
  f.writeUInt32BE(0x0f, 40 + at);
  f.writeUInt32BE(opts.audioFrames, 44 + at);
  f.writeUInt32BE(opts.totalBytes, 48 + at);
  // CBR: byte position grows linearly with time.
  for (let i = 0; i < 100; i++) f[52 + at + i] = Math.floor((i * 256) / 100);
  f.writeUInt32BE(0, 152 + at);
  f.write('LAME3.100', 156 + at, 'ascii');
  f[165 + at] = 0x01; // tag revision 0, VBR method 1 = CBR
  f[176 + at] = KBPS;
  f.writeUIntBE(((opts.delay & 0xfff) << 12) | (opts.padding & 0xfff), 177 + at, 3);
  f.writeUInt32BE(opts.totalBytes, 184 + at);
  f.writeUInt16BE(crc16(f.subarray(0, 190 + at)), 190 + at);
  return f;
}

/** CRC-16/ARC (polynomial 0x8005 reflected), what the LAME tag uses. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xa001 : crc >>> 1;
  }
  return crc;
}

const MAX_PADDING = 0xfff;

export async function createMp3Encoder(options: EncoderOptions): Promise<Encoder> {
  const lame = await createLame();
  const channels = channelsOf(options);
  lame.configure({ sampleRate: MIX_RATE, channels, bitrate: KBPS, outputSampleRate: MIX_RATE });
  const sink = await FileSink.create(options.path);
  const chapters = options.chapters?.length ? id3ChapterTag(options.chapters) : Buffer.alloc(0);
  await sink.append(chapters);
  // Reserve the Info frame; its counts are only known at the end.
  await sink.append(Buffer.alloc(FRAME_BYTES));
  let samples = 0;
  let left = new Float32Array(0);
  let right = new Float32Array(0);
  return {
    async write(pcm) {
      if (channels === 1) {
        samples += pcm.length;
        await sink.append(lame.encode([pcm]));
        return;
      }
      const frames = pcm.length >> 1;
      if (left.length < frames) {
        left = new Float32Array(frames);
        right = new Float32Array(frames);
      }
      for (let i = 0, j = 0; i < frames; i++, j += 2) {
        left[i] = pcm[j]!;
        right[i] = pcm[j + 1]!;
      }
      samples += frames;
      await sink.append(lame.encode([left.subarray(0, frames), right.subarray(0, frames)]));
    },
    async finish() {
      await sink.append(lame.finalize());
      const audioBytes = sink.size - chapters.length - FRAME_BYTES;
      if (audioBytes % FRAME_BYTES !== 0) throw new Error(`LAME produced ${audioBytes} bytes, not whole ${FRAME_BYTES}-byte CBR frames`);
      const audioFrames = audioBytes / FRAME_BYTES;
      const padding = audioFrames * SAMPLES_PER_FRAME - LAME_ENCODER_DELAY - samples;
      // LAME flushes at most a couple of frames past the end; anything else means the delay assumption broke.
      if (padding < 0 || padding > MAX_PADDING) throw new Error(`unexpected MP3 padding ${padding}`);
      // The Info frame counts the MPEG stream's bytes, not the ID3 tag before it.
      const totalBytes = sink.size - chapters.length;
      await sink.writeAt(chapters.length, lameInfoFrame({ audioFrames, totalBytes, delay: LAME_ENCODER_DELAY, padding, channels }));
      await sink.close();
    },
    abort: () => sink.discard(),
  };
}
