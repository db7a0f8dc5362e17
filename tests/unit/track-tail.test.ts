// TrackTail (the live mix's reader of a growing track) ends a track where the packets end, as the reader of the
// finished file does: a final granule position is believed only as end trimming within its own page.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTrack, newStats } from '../../src/audio/track-decoder.ts';
import { TrackTail } from '../../src/audio/track-tail.ts';
import { encodeOpusFrames, tone } from '../helpers/audio.ts';
import { editPage, granuleOf, pagesOf, writePagedTrack } from '../helpers/ogg-pages.ts';

let dir: string;
let good: Buffer[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-tail-'));
  await writePagedTrack(join(dir, 'good.ogg'), encodeOpusFrames(tone(440, 1000, 0.3)), 10);
  good = pagesOf(await readFile(join(dir, 'good.ogg')));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The whole track through TrackTail: its length once ended, and how far its blocks reach. */
async function tailOf(path: string): Promise<{ length: number | null; reached: number }> {
  const tail = await TrackTail.open(path, newStats());
  try {
    let next = 0;
    for (const b of await tail.readUntil(Infinity)) {
      expect(b.start).toBe(next);
      next += b.frames;
    }
    expect(tail.ended).toBe(true);
    return { length: tail.length, reached: next };
  } finally {
    await tail.close();
  }
}

describe('TrackTail at the end of a track', () => {
  const packets = 50 * 960 + 120; // 1 s of 20 ms packets, then the writer's 2.5 ms EOS filler
  test.each([
    ['a granule 2^62 past the start', 2n ** 62n, packets - 312],
    ['a granule 100 hours in', BigInt(100 * 3600 * 48_000), packets - 312],
    ['a granule that would cut the whole track', 0n, packets - 312],
    ['end trimming within the last page', BigInt(packets - 100), packets - 100 - 312],
  ])('%s: ends where the reader of the finished file ends it', async (_name, granule, length) => {
    const path = join(dir, `g${granule}.ogg`);
    const last = good.length - 1;
    await writeFile(path, Buffer.concat([...good.slice(0, last), editPage(good[last]!, { granule })]));
    expect(granuleOf(good[last]!)).toBe(BigInt(packets));
    expect((await openTrack(path)).totalSamples).toBe(length);
    expect(await tailOf(path)).toEqual({ length, reached: length });
  });
});
