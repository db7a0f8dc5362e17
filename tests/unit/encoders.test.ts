import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEncoder, type MixFormat } from '../../src/audio/encoders/index.ts';
import { floatToInt16 } from '../../src/audio/encoders/encoder.ts';
import { createEncoderInWorker } from '../../src/audio/encoders/worker-client.ts';
import { correlation, firstOnset, prng, sec, toMono } from '../helpers/audio.ts';
import { decodeMono, HAVE_FFMPEG } from '../helpers/mix-fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-enc-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** 4.25 s: a quiet 200 Hz hum, then a voiced-like burst (harmonics) at exactly 3.000 s. Odd length on purpose. */
function signal(): Float32Array {
  const frames = sec(4.25) + 77;
  const rnd = prng(11);
  const phases = Array.from({ length: 9 }, () => rnd() * 2 * Math.PI);
  const x = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) {
    const hum = 0.02 * Math.sin((2 * Math.PI * 200 * i) / 48000);
    let burst = 0;
    if (i >= sec(3) && i < sec(3.2))
      for (let h = 1; h <= 8; h++) burst += (0.3 / h) * Math.sin((2 * Math.PI * 150 * h * i) / 48000 + phases[h]!);
    x[2 * i] = hum + burst;
    x[2 * i + 1] = 0.5 * hum + burst;
  }
  return x;
}

let files = 0;
async function encode(format: MixFormat, x: Float32Array, thread: boolean): Promise<string> {
  const path = join(dir, `out-${files++}.${format}`);
  const options = { path, totalFrames: x.length / 2, tags: { TITLE: 'test' } };
  const encoder = thread ? await createEncoderInWorker(format, options, { thread: true }) : await createEncoder(format, options);
  // Uneven writes: the encoders must buffer across calls.
  for (let at = 0, k = 0; at < x.length; k++) {
    const n = [2 * 4800, 2 * 333, 2][k % 3]!;
    await encoder.write(x.slice(at, at + n));
    at += n;
  }
  await encoder.finish();
  return path;
}

const needsFfmpeg = (format: MixFormat) => (format === 'mp3' || format === 'flac') && !HAVE_FFMPEG;

describe.each(['ogg', 'mp3', 'flac', 'wav'] as const)('%s encoder', (format) => {
  test.skipIf(needsFfmpeg(format))(
    `keeps length and timing (decoded by ${format === 'ogg' ? 'libopus' : format === 'wav' ? 'a WAV reader' : 'ffmpeg'})`,
    async () => {
      const x = signal();
      const expected = toMono(floatToInt16(x));
      const decoded = await decodeMono(await encode(format, x, false));
      expect(decoded.length).toBe(expected.length);
      expect(Math.abs(firstOnset(decoded, 0.1)! - sec(3))).toBeLessThanOrEqual(sec(0.005));
      expect(correlation(decoded, expected)).toBeGreaterThan(0.95);
      if (format === 'wav' || format === 'flac') expect(Array.from(decoded)).toEqual(Array.from(expected));
    },
  );

  test.skipIf(needsFfmpeg(format))('gives the same bytes on a worker thread', async () => {
    const x = signal();
    const [a, b] = [await encode(format, x, false), await encode(format, x, true)];
    if (format === 'ogg') {
      // Ogg serial numbers are random per file; the audio must match.
      expect(Array.from(await decodeMono(b))).toEqual(Array.from(await decodeMono(a)));
    } else {
      expect((await stat(b)).size).toBe((await stat(a)).size);
      expect(Array.from(await decodeMono(b))).toEqual(Array.from(await decodeMono(a)));
    }
  });
});

describe('floatToInt16', () => {
  test('saturates instead of wrapping', () => {
    expect(Array.from(floatToInt16(new Float32Array([1.5, -1.5, 1, -1, 0.5])))).toEqual([32767, -32768, 32767, -32767, 16384]);
  });
});

describe.each(['mp3', 'flac', 'wav'] as const)('%s encoder, mono (a mono track converted)', (format) => {
  test.skipIf(!HAVE_FFMPEG)('writes one channel, the same length and timing (decoded by ffmpeg)', async () => {
    const stereo = signal();
    const x = stereo.filter((_, i) => i % 2 === 0);
    const path = join(dir, `mono-${format}.${format}`);
    const encoder = await createEncoder(format, { path, totalFrames: x.length, channels: 1 });
    for (let at = 0; at < x.length; at += 4801) await encoder.write(x.slice(at, at + 4801));
    await encoder.finish();
    const probe = execFileSync('ffprobe', ['-v', 'error', '-show_entries', 'stream=channels', '-of', 'csv=p=0', path]).toString().trim();
    expect(probe).toBe('1');
    const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 's16le', '-ac', '1', '-']);
    const decoded = toMono(new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength)), 1);
    const expected = toMono(floatToInt16(x), 1);
    expect(decoded.length).toBe(expected.length);
    expect(Math.abs(firstOnset(decoded, 0.1)! - sec(3))).toBeLessThanOrEqual(sec(0.005));
    expect(correlation(decoded, expected)).toBeGreaterThan(0.95);
    if (format !== 'mp3') expect(Array.from(decoded)).toEqual(Array.from(expected));
  });
});
