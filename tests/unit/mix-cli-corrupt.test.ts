// `npm run mix` against a corpus of damaged tracks (made from one good track in the test): each is either
// refused (exit 1, one line naming the file and the problem, no output) or mixed from what its packets hold,
// with one warning line. Never a hang (a run is killed if it outlasts a guard far above an honest one), never
// a stack trace.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeOpusFrames, sec, tone } from '../helpers/audio.ts';
import { runScript } from '../helpers/cli.ts';
import { readWav } from '../helpers/mix-fixtures.ts';
import { damagedTracks, writePagedTrack } from '../helpers/ogg-pages.ts';

const MIX = fileURLToPath(new URL('../../scripts/mix.ts', import.meta.url));
const HANG_GUARD_MS = 40_000;
// 2 s of tone in pages of 10 packets (0.2 s): the EOS page carries the writer's 2.5 ms filler.
const GOOD_SAMPLES = 100 * 960 + 120 - 312;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-mixcorrupt-'));
  await writePagedTrack(join(dir, 'good.ogg'), encodeOpusFrames(tone(440, 2000, 0.3)), 10);
  for (const [name, bytes] of Object.entries(damagedTracks(await readFile(join(dir, 'good.ogg'))))) {
    await writeFile(join(dir, `${name}.ogg`), bytes);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mixOne(name: string) {
  const run = await runScript(MIX, [`${name}.ogg`, '-o', `${name}-mix.wav`], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  expect(run.signal, `mix of ${name}.ogg still running after ${HANG_GUARD_MS} ms`).toBeNull();
  expect(run.stderr).not.toMatch(/\n\s+at |Error:/); // no stack trace, no error class names
  return run;
}

describe('npm run mix with a damaged input', () => {
  test.each([
    [
      'out-of-order',
      /^page \d+ at byte \d+ comes after page \d+: the pages are out of order \(scripts\/finalise-track\.ts writes a copy in order\)$/,
    ],
    ['swapped', /^page 4 at byte \d+ comes after page 5: the pages are out of order/],
    ['repeated', /^page 4 at byte \d+ repeats the page before it: the pages are out of order/],
    ['chained', /^a second stream \(from byte \d+\) is chained after the first: roomrec reads one stream per file$/],
    ['multiplexed', /^a second stream \(from byte \d+\) is multiplexed with the first: roomrec reads one stream per file$/],
    ['flipped', /^corrupt page at byte \d+$/],
    ['invalid-packet', /^invalid Opus packet in the page at byte \d+$/],
    ['headers-cut', /^file ends before the Opus headers are complete$/],
    ['no-pages', /^corrupt page at byte 0$/],
  ])('%s.ogg: refused, exit 1, one line naming the file', async (name, problem) => {
    const run = await mixOne(name);
    expect(run.code).toBe(1);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`mix: ${name}.ogg: `)).toBe(true);
    expect(lines[0]!.slice(`mix: ${name}.ogg: `.length)).toMatch(problem);
    expect(existsSync(join(dir, `${name}-mix.wav`))).toBe(false);
  });

  test.each([
    [
      'huge-granule',
      /^its last granule position says 96076792050570\.\d{3} s but its packets hold 1\.996 s: read as 1\.996 s$/,
      GOOD_SAMPLES,
    ],
    ['hundred-hours', /^its last granule position says 359999\.993 s but its packets hold 1\.996 s: read as 1\.996 s$/, GOOD_SAMPLES],
    ['zero-granule', /^its last granule position says 0\.000 s but its packets hold 1\.996 s: read as 1\.996 s$/, GOOD_SAMPLES],
    ['lost-page', /^1 page is missing before byte \d+: the audio after the gap plays 0\.200 s early$/, GOOD_SAMPLES - sec(0.2)],
    [
      'start-offset',
      /^its granule positions count from 3600\.000 s, not 0 \(a stream cut from a longer one\?\): its audio is read from the start/,
      GOOD_SAMPLES,
    ],
    ['junk-after-end', /^54 bytes after the end of its stream \(byte \d+\) are ignored$/, GOOD_SAMPLES],
  ])('%s.ogg: mixed from its packets, exit 0, one warning line', async (name, warning, samples) => {
    const run = await mixOne(name);
    expect(run.code).toBe(0);
    const lines = run.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]!.startsWith(`mix: warning: ${name}.ogg: `)).toBe(true);
    expect(lines[0]!.slice(`mix: warning: ${name}.ogg: `.length)).toMatch(warning);
    expect(run.stdout).toMatch(new RegExp(`^${name}-mix\\.wav: wav, 1 track, 0:0\\d\\.\\d`));
    // The mix is as long as the audio really there, and holds it.
    const pcm = await readWav(join(dir, `${name}-mix.wav`));
    expect(pcm.length / 2).toBe(samples);
  });

  test('the good track the corpus is made from mixes without a word on stderr', async () => {
    const run = await mixOne('good');
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect((await readWav(join(dir, 'good-mix.wav'))).length / 2).toBe(GOOD_SAMPLES);
  });
});
