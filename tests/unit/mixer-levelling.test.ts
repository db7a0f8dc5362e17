import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mixTracks } from '../../src/audio/mixer.ts';
import { LoudnessMeter } from '../../src/audio/loudness.ts';
import { concatPcm, decodeOggOpusFile, sec, voice } from '../helpers/audio.ts';
import { writeTrack } from '../helpers/mix-fixtures.ts';

let dir: string;
const silence = (s: number) => new Int16Array(sec(s) * 2);
// Turns, in seconds: the quiet speaker, then the loud one, twice; 1 s apart. About 18 dB apart (0.05 and 0.4).
const QUIET_TURNS = [
  [0, 4],
  [10, 14],
] as const;
const LOUD_TURNS = [
  [5, 9],
  [15, 19],
] as const;
let quiet = '';
let loud = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-levelling-'));
  [quiet, loud] = ['quiet.ogg', 'loud.ogg'].map((name) => join(dir, name)) as [string, string];
  await Promise.all([
    writeTrack(quiet, concatPcm(voice(4, 1, 0.05), silence(6), voice(4, 2, 0.05), silence(6))),
    writeTrack(loud, concatPcm(silence(5), voice(4, 3, 0.4), silence(6), voice(4, 4, 0.4), silence(1))),
  ]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Integrated loudness of the decoded mix over one speaker's turns: how loud they are in it. */
function loudnessIn(pcm: Int16Array, turns: readonly (readonly [number, number])[]): number {
  const meter = new LoudnessMeter();
  for (const [from, to] of turns) meter.add(Float32Array.from(pcm.subarray(sec(from) * 2, sec(to) * 2), (v) => v / 32768));
  return meter.integrated();
}

async function spreadOf(level: boolean): Promise<{ spread: number; quietLufs: number; loudLufs: number }> {
  const output = join(dir, `${level ? 'levelled' : 'plain'}.ogg`);
  await mixTracks({ inputs: [{ path: quiet }, { path: loud }], output, level });
  const { pcm } = await decodeOggOpusFile(output);
  const quietLufs = loudnessIn(pcm, QUIET_TURNS);
  const loudLufs = loudnessIn(pcm, LOUD_TURNS);
  return { spread: Math.abs(loudLufs - quietLufs), quietLufs, loudLufs };
}

describe('levelled mix', () => {
  test('a quiet and a loud speaker come out within 1 LU of each other, near the target; the plain mix keeps their spread', async () => {
    const plain = await spreadOf(false);
    const levelled = await spreadOf(true);
    expect(plain.spread).toBeGreaterThan(15);
    expect(levelled.spread).toBeLessThan(1);
    // The target is -18 LUFS per speaker (loudness.ts); Opus and the limiter move it by a fraction of a LU.
    expect(Math.abs(levelled.quietLufs + 18)).toBeLessThan(1);
    expect(Math.abs(levelled.loudLufs + 18)).toBeLessThan(1);
  });

  test('the result names each speaker with their speech loudness and gain', async () => {
    const result = await mixTracks({
      inputs: [
        { path: quiet, label: 'Quiet' },
        { path: loud, label: 'Loud' },
      ],
      output: join(dir, 'named.ogg'),
      level: { targetLufs: -20 },
    });
    expect(result.levelling?.targetLufs).toBe(-20);
    const [q, l] = result.levelling?.speakers ?? [];
    expect(q?.label).toBe('Quiet');
    expect(l?.label).toBe('Loud');
    expect(q!.speechLufs + q!.gainDb).toBeCloseTo(-20, 6);
    expect(l!.speechLufs + l!.gainDb).toBeCloseTo(-20, 6);
    expect(q!.gainDb).toBeGreaterThan(10);
    expect(l!.gainDb).toBeLessThan(0);
  });

  test('a noise-level track is boosted by no more than the cap', async () => {
    const whisper = join(dir, 'whisper.ogg');
    await writeTrack(whisper, concatPcm(silence(1), voice(3, 5, 0.003), silence(1)));
    const result = await mixTracks({
      inputs: [{ path: whisper }, { path: loud }],
      output: join(dir, 'capped.ogg'),
      level: { maxBoostDb: 12 },
    });
    const w = result.levelling!.speakers[0]!;
    expect(w.speechLufs).toBeLessThan(-18 - 12);
    expect(w.gainDb).toBeCloseTo(12, 6);
  });
});
