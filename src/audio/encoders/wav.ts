// 16-bit PCM WAV, written by hand: it is a 44-byte header.
//
//  0 "RIFF" | 4 riff size (file - 8) | 8 "WAVE"
// 12 "fmt " | 16 16 | 20 format 1 (PCM) | 22 channels | 24 rate | 28 byte rate | 32 block align | 34 bits
// 36 "data" | 40 data size | 44 samples, little-endian int16 interleaved
import { FileSink, MIX_CHANNELS, MIX_RATE, channelsOf, floatToInt16, type Encoder, type EncoderOptions } from './encoder.ts';

const HEADER_BYTES = 44;
// RIFF sizes are 32-bit: about 6.2 hours of 48 kHz stereo, 12.4 of mono.
const MAX_DATA_BYTES = 0xffffffff - HEADER_BYTES;

export function wavHeader(dataBytes: number, channels: 1 | 2 = MIX_CHANNELS): Buffer {
  const blockAlign = channels * 2;
  const h = Buffer.alloc(HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(HEADER_BYTES - 8 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(MIX_RATE, 24);
  h.writeUInt32LE(MIX_RATE * blockAlign, 28);
  h.writeUInt16LE(blockAlign, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export async function createWavEncoder(options: EncoderOptions): Promise<Encoder> {
  const channels = channelsOf(options);
  const blockAlign = channels * 2;
  const expected = options.totalFrames * blockAlign;
  if (expected > MAX_DATA_BYTES) {
    throw new RangeError(
      `a WAV file holds at most ${Math.floor((MAX_DATA_BYTES / blockAlign / MIX_RATE / 3600) * 10) / 10} hours of ${channels === 1 ? 'mono' : 'stereo'} 48 kHz; choose flac, ogg or mp3`,
    );
  }
  const sink = await FileSink.create(options.path);
  await sink.append(wavHeader(expected, channels));
  let dataBytes = 0;
  return {
    async write(pcm) {
      const int16 = floatToInt16(pcm);
      dataBytes += int16.byteLength;
      // WAV is little-endian, like every machine Node runs on here.
      await sink.append(new Uint8Array(int16.buffer, int16.byteOffset, int16.byteLength));
    },
    async finish() {
      if (dataBytes !== expected) await sink.writeAt(0, wavHeader(dataBytes, channels));
      await sink.close();
    },
    abort: () => sink.discard(),
  };
}
