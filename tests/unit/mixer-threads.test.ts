// Decoding on threads (decode-pool.ts) must give the mix that decoding on the calling thread gives, sample
// for sample; fail with the same messages; and leave no thread running on any way out.
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { MIX_BLOCK_FRAMES, mixTracks, type MixInput, type MixOptions } from '../../src/audio/mixer.ts';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { oggPages, scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { DecodePool } from '../../src/audio/decode-pool.ts';
import { LocalGrids, type GridSource, type ScannedTrack } from '../../src/audio/track-grid.ts';
import { concatPcm, decodeOggOpusFile, FRAME, noise, sec, tone } from '../helpers/audio.ts';
import { readWav, writeTrack } from '../helpers/mix-fixtures.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

let dir: string;
let inputs: MixInput[];
const silence = (s: number) => new Int16Array(sec(s) * 2);

/** A mono track as opusenc writes one: every frame coded, none an exact-silence packet. */
async function writeMonoTrack(path: string, seconds: number): Promise<void> {
  const writer = await OggOpusWriter.create({ path, channels: 1, comments: {} });
  const encoder = new OpusEncoder(48_000, 1);
  const stereo = noise(seconds * 1000, 0.1, 7);
  const mono = new Int16Array(FRAME);
  for (let f = 0; (f + 1) * FRAME * 2 <= stereo.length; f++) {
    for (let i = 0; i < FRAME; i++) mono[i] = stereo[(f * FRAME + i) * 2]!;
    writer.writePacket(encoder.encode(Buffer.from(mono.buffer)), FRAME);
  }
  await writer.close();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-mixer-threads-'));
  const paths = ['a', 'b', 'c', 'd'].map((n) => join(dir, `${n}.ogg`));
  // Pauses (whole silent blocks and silence within blocks), different lengths, a loud overlap the limiter
  // must act on, and a mono track.
  await writeTrack(paths[0]!, concatPcm(tone(220, 1500, 0.6), silence(2.3), tone(330, 2000, 0.6)));
  await writeTrack(paths[1]!, concatPcm(silence(1.2), noise(3000, 0.5, 3), silence(3.1), noise(700, 0.4, 4)));
  await writeTrack(paths[2]!, concatPcm(silence(4), tone(440, 300, 0.9)));
  await writeMonoTrack(paths[3]!, 6);
  inputs = paths.map((path, i) => ({ path, gain: [1, 0.7, 1.3, 0.5][i]! }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every Worker that emits anything while `run` runs, and whether it has exited by the time `run` settles. */
function watchThreads(): { started: Set<Worker>; exited: Set<Worker> } {
  const started = new Set<Worker>();
  const exited = new Set<Worker>();
  vi.spyOn(Worker.prototype, 'emit').mockImplementation(function (this: Worker, event: string | symbol, ...args: unknown[]) {
    started.add(this);
    if (event === 'exit') exited.add(this);
    return EventEmitter.prototype.emit.call(this, event, ...args);
  });
  return { started, exited };
}
afterEach(() => {
  vi.restoreAllMocks();
});

const mix = (name: string, opts: Partial<MixOptions>) => mixTracks({ inputs, output: join(dir, name), ...opts });

describe('decoding threads', () => {
  test.each([2, 3, 8])('%i threads give the mix the calling thread gives, to the sample, with the same counts', async (threads) => {
    const serial = await mix(`serial-${threads}.wav`, { decodeThreads: 0 });
    const threaded = await mix(`threaded-${threads}.wav`, { decodeThreads: threads });
    expect(threaded.durationSamples).toBe(serial.durationSamples);
    expect(threaded.decode).toEqual(serial.decode);
    expect(threaded.limitedSamples).toBe(serial.limitedSamples);
    expect(serial.limitedSamples).toBeGreaterThan(0);
    expect(serial.decode.skippedPackets).toBeGreaterThan(0);
    const [a, b] = [await readWav(join(dir, `serial-${threads}.wav`)), await readWav(join(dir, `threaded-${threads}.wav`))];
    expect(a.length).toBe(serial.durationSamples * 2);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });

  test('normalised, in Ogg Opus: the same loudness and the same decoded samples', async () => {
    const serial = await mix('serial-n.ogg', { decodeThreads: 0, normalize: true });
    const threaded = await mix('threaded-n.ogg', { decodeThreads: 2, normalize: true });
    expect(threaded.loudness).toEqual(serial.loudness);
    const [a, b] = [await decodeOggOpusFile(join(dir, 'serial-n.ogg')), await decodeOggOpusFile(join(dir, 'threaded-n.ogg'))];
    expect(a.samples).toBe(serial.durationSamples);
    expect(Buffer.from(b.pcm.buffer).equals(Buffer.from(a.pcm.buffer))).toBe(true);
  });

  test('a page that goes bad after the scan fails the row with the message the calling thread gives', async () => {
    // The scan of the good file, then the file itself corrupted in a middle page: the read meets the bad page.
    const good = inputs[1]!.path;
    const bad = join(dir, 'bad.ogg');
    await copyFile(good, bad);
    const pages = [];
    for await (const ev of oggPages(good)) if (ev.kind === 'page') pages.push(ev.page);
    const middle = pages[Math.floor(pages.length / 2)]!;
    const bytes = await readFile(bad);
    bytes[middle.offset + middle.length - 1]! ^= 0xff;
    await writeFile(bad, bytes);
    const tracks: ScannedTrack[] = [
      { path: inputs[0]!.path, scan: await scanOggOpus(inputs[0]!.path) },
      { path: bad, scan: await scanOggOpus(good) },
    ];
    const fail = (i: number, err: unknown) => new Error(`${i}: ${(err as Error).name}: ${(err as Error).message}`);
    const readAll = async (source: GridSource) => {
      try {
        for (;;) {
          const row = await source.next();
          source.recycle(row);
          if (row.done.every(Boolean)) return 'ended';
        }
      } catch (err) {
        return (err as Error).message;
      } finally {
        await source.close();
      }
    };
    const local = await readAll(new LocalGrids(tracks, MIX_BLOCK_FRAMES, fail));
    expect(local).toMatch(/^1: MediaFormatError: corrupt page at byte \d+$/);
    const pool = new DecodePool(2);
    pool.start(tracks, MIX_BLOCK_FRAMES, fail);
    expect(await readAll(pool)).toBe(local);
  });

  test('an aborted mix leaves no output, no partial file and no thread running', async () => {
    const threads = watchThreads();
    const controller = new AbortController();
    const run = mix('aborted.ogg', { decodeThreads: 2, signal: controller.signal, onProgress: () => controller.abort(new Error('stop')) });
    await expect(run).rejects.toThrow('stop');
    expect(existsSync(join(dir, 'aborted.ogg'))).toBe(false);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
    expect(threads.started.size).toBe(3); // two decoding, one encoding
    expect([...threads.started].filter((w) => !threads.exited.has(w))).toEqual([]);
  });

  test('an input that cannot be opened: the usual message, and the threads started for it are gone', async () => {
    const threads = watchThreads();
    const run = mixTracks({ inputs: [...inputs, { path: join(dir, 'missing.ogg') }], output: join(dir, 'x.ogg'), decodeThreads: 2 });
    await expect(run).rejects.toThrow('missing.ogg: no such file');
    expect(threads.started.size).toBe(2);
    expect([...threads.started].filter((w) => !threads.exited.has(w))).toEqual([]);
  });
});
