import { describe, expect, test } from 'vitest';
import { DEFAULT_CEILING, PeakLimiter } from '../../src/audio/limiter.ts';
import { prng } from '../helpers/audio.ts';

/** Runs `input` through a limiter in chunks of the given sizes (cycled) and returns all output. */
function run(input: Float32Array, chunkFrames: number[], limiter = new PeakLimiter()): Float32Array {
  const parts: Float32Array[] = [];
  let k = 0;
  for (let at = 0; at < input.length; k++) {
    const n = chunkFrames[k % chunkFrames.length]! * 2;
    parts.push(limiter.process(input.subarray(at, at + n)));
    at += n;
  }
  parts.push(limiter.flush());
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function sine(frames: number, amplitude: number, hz = 220): Float32Array {
  const out = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) out[2 * i] = out[2 * i + 1] = amplitude * Math.sin((2 * Math.PI * hz * i) / 48000);
  return out;
}

describe('PeakLimiter', () => {
  test('two full-scale signals summed come out under the ceiling, same length, no sign flips', () => {
    const a = sine(48000, 1, 220);
    const b = sine(48000, 1, 330);
    const sum = a.map((v, i) => v + b[i]!);
    const limiter = new PeakLimiter();
    const out = run(sum, [4800], limiter);
    expect(out.length).toBe(sum.length);
    let peak = 0;
    let flips = 0;
    for (let i = 0; i < out.length; i++) {
      peak = Math.max(peak, Math.abs(out[i]!));
      if (Math.abs(sum[i]!) > 0.01 && Math.sign(out[i]!) !== Math.sign(sum[i]!)) flips++;
    }
    expect(peak).toBeLessThanOrEqual(DEFAULT_CEILING + 1e-6);
    expect(flips).toBe(0);
    expect(limiter.limitedFrames).toBeGreaterThan(0);
    expect(limiter.peak).toBeCloseTo(peak, 6);
  });

  test('signal under the ceiling passes bit-exact, only delayed, whatever the chunking', () => {
    const quiet = sine(20000, 0.5);
    for (const chunks of [[1], [7, 300, 1], [239, 240, 241], [20000]]) {
      const out = run(quiet, chunks);
      expect(Array.from(out)).toEqual(Array.from(quiet));
    }
  });

  test('chunk size does not change the result when limiting kicks in and releases', () => {
    const rnd = prng(7);
    const x = new Float32Array(30000 * 2);
    // Quiet, then a loud burst, then quiet again: exercises pass-through, limiting and the release back.
    for (let i = 0; i < x.length; i++) x[i] = (rnd() * 2 - 1) * (i > 20000 && i < 26000 ? 1.8 : 0.3);
    const reference = run(x, [x.length / 2]);
    for (const chunks of [[1], [480, 17], [4800]]) expect(Array.from(run(x, chunks))).toEqual(Array.from(reference));
    expect(reference.some((v, i) => v !== x[i])).toBe(true);
  });

  test('gain is smooth: a single spike is ramped into, not clipped', () => {
    const x = sine(9600, 0.5, 100);
    x[2 * 4800] = 2;
    x[2 * 4800 + 1] = 2;
    const out = run(x, [960]);
    // The ramp starts a look-ahead before the spike: samples 2 ms before it are already turned down.
    const before = 4800 - 96;
    expect(Math.abs(out[2 * before]!)).toBeLessThan(Math.abs(x[2 * before]!));
    expect(Math.abs(out[2 * 4800]!)).toBeLessThanOrEqual(DEFAULT_CEILING + 1e-6);
  });
});
