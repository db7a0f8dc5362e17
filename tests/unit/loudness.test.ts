import { describe, expect, test } from 'vitest';
import { LoudnessMeter, normalisationGain } from '../../src/audio/loudness.ts';
import { prng } from '../helpers/audio.ts';

function stereoSine(seconds: number, dbfs: number, hz = 997): Float32Array {
  const a = 10 ** (dbfs / 20);
  const n = Math.round(seconds * 48000);
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) out[2 * i] = out[2 * i + 1] = a * Math.sin((2 * Math.PI * hz * i) / 48000);
  return out;
}

function measure(...parts: Float32Array[]): number {
  const meter = new LoudnessMeter();
  for (const p of parts) for (let at = 0; at < p.length; at += 9601) meter.add(p.subarray(at, at + 9601));
  return meter.integrated();
}

describe('BS.1770 integrated loudness', () => {
  // EBU Tech 3341 test 1 and 2: 1 kHz stereo sine at -23 / -33 dBFS reads -23 / -33 LUFS (±0.1 LU).
  test.each([-23, -33, -10])('1 kHz stereo sine at %d dBFS reads the same in LUFS', (dbfs) => {
    expect(measure(stereoSine(20, dbfs))).toBeCloseTo(dbfs, 1);
  });

  test('gating: silence and a much quieter part do not pull the reading down (Tech 3341 test 3 shape)', () => {
    const loud = stereoSine(10, -23);
    const quiet = stereoSine(10, -46);
    const silence = new Float32Array(48000 * 10 * 2);
    // Tech 3341 allows ±0.1 LU: blocks straddling an edge pass the gate at a slightly lower level.
    expect(Math.abs(measure(loud, silence, quiet, silence) + 23)).toBeLessThan(0.1);
  });

  test('K-weighting: low frequencies count for less', () => {
    expect(measure(stereoSine(10, -23, 40))).toBeLessThan(-23 - 3);
  });

  test('silence is -Infinity and needs no gain', () => {
    expect(measure(new Float32Array(48000 * 4))).toBe(-Infinity);
    expect(normalisationGain(-Infinity, -16)).toBe(1);
  });

  test('normalisation gain moves noise to the target', () => {
    const rnd = prng(3);
    const x = new Float32Array(48000 * 10 * 2).map(() => (rnd() * 2 - 1) * 0.05);
    const before = measure(x);
    const g = normalisationGain(before, -16);
    expect(measure(x.map((v) => v * g))).toBeCloseTo(-16, 1);
  });
});
