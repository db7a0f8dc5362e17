import { describe, expect, test } from 'vitest';
import { DEFAULT_MAX_BOOST_DB, LoudnessMeter, SpeechLoudness, levellingGain } from '../../src/audio/loudness.ts';

const RATE = 48_000;

/** Mono int16 997 Hz sine whose stereo playback (mono on both channels) reads `lufs`. */
function burst(seconds: number, lufs: number): Int16Array {
  const a = 10 ** (lufs / 20) * 32768;
  return Int16Array.from({ length: Math.round(seconds * RATE) }, (_, i) => Math.round(a * Math.sin((2 * Math.PI * 997 * i) / RATE)));
}

type Part = { pcm: Int16Array } | { silentFrames: number };

/** Feeds the parts in 1 s blocks as the mixer's rows carry them: a block wholly silent is null, else zeros where silent. */
function speechLufs(parts: Part[]): { speech: number; plain: number } {
  const whole = new Int16Array(parts.reduce((n, p) => n + ('pcm' in p ? p.pcm.length : p.silentFrames), 0));
  let at = 0;
  for (const p of parts) {
    if ('pcm' in p) whole.set(p.pcm, at);
    at += 'pcm' in p ? p.pcm.length : p.silentFrames;
  }
  const speech = new SpeechLoudness();
  const plain = new LoudnessMeter();
  for (let t = 0; t < whole.length; t += RATE) {
    const block = whole.subarray(t, t + RATE);
    speech.add(block.some((v) => v !== 0) ? block : null, 1, block.length, 1 / 32768);
    plain.add(Float32Array.from({ length: block.length * 2 }, (_, i) => block[i >> 1]! / 32768));
  }
  return { speech: speech.integrated(), plain: plain.integrated() };
}

describe('speech loudness of a track', () => {
  test.each([-30, -15])('%d LUFS bursts between long silences read their own level', (lufs) => {
    const parts: Part[] = [{ silentFrames: 7 * RATE + 123 }];
    for (let i = 0; i < 6; i++) parts.push({ pcm: burst(0.35, lufs) }, { silentFrames: 20 * RATE + 4567 * i });
    const { speech, plain } = speechLufs(parts);
    expect(Math.abs(speech - lufs)).toBeLessThan(0.5);
    // What the silence does to a meter that counts it: no 400 ms block is all burst.
    expect(plain).toBeLessThan(lufs - 2);
  });

  test('a gap shorter than a silence packet is part of the speech around it', () => {
    const withGaps: Part[] = [];
    for (let i = 0; i < 40; i++) withGaps.push({ pcm: burst(0.1, -20) }, { silentFrames: 400 });
    // 400 zero frames after every 4800: the power falls by 4800/5200.
    expect(speechLufs(withGaps).speech).toBeCloseTo(-20 + 10 * Math.log10(4800 / 5200), 1);
  });

  test('no speech, or under one 400 ms block of it, reads -Infinity and needs no gain', () => {
    expect(speechLufs([{ silentFrames: 10 * RATE }]).speech).toBe(-Infinity);
    expect(speechLufs([{ silentFrames: RATE }, { pcm: burst(0.3, -20) }, { silentFrames: RATE }]).speech).toBe(-Infinity);
    expect(levellingGain(-Infinity, -18)).toBe(1);
  });
});

describe('levelling gain', () => {
  const db = (g: number) => 20 * Math.log10(g);
  test('moves speech to the target, cutting as much as needed', () => {
    expect(db(levellingGain(-30, -18))).toBeCloseTo(12, 6);
    expect(db(levellingGain(-3, -18))).toBeCloseTo(-15, 6);
  });

  test('boosts a near-silent or noise-only track by at most the cap', () => {
    expect(db(levellingGain(-60, -18))).toBeCloseTo(DEFAULT_MAX_BOOST_DB, 6);
    expect(db(levellingGain(-60, -18, 6))).toBeCloseTo(6, 6);
  });
});
