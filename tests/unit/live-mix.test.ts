// The mix made while the room runs, checked against the mix of the finished tracks by real decoding: same
// audio (correlation), same place (lag), for Ogg Opus and MP3; a late joiner; a withdrawal (the speaker absent
// from the whole mix); a live mix that fell behind; and how much is left to mix at stop, as a count of work.
// Rooms run it as they do in the bot, on a thread of its own; one test checks it never runs on this thread.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { LiveMix } from '../../src/audio/live-mix.ts';
import { LiveMixThread } from '../../src/audio/live-mix-thread.ts';
import { mixTracks, type MixFormat, type MixInput } from '../../src/audio/mixer.ts';
import { RoomLiveMix, type LiveMixOutcome } from '../../src/recording/room-live-mix.ts';
import { silentLogger } from '../../src/log.ts';
import { bestLag, correlation, encodeOpusFrames, noise, rms, sec, tone } from '../helpers/audio.ts';
import { playRoom, type RoomSpeaker } from '../helpers/live-room.ts';
import { decodeMono, HAVE_FFMPEG } from '../helpers/mix-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-live-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A spurt: a tone with a little noise on top, so every speaker's audio is distinct. */
function spurt(atMs: number, ms: number, hz: number, seed: number): { atMs: number; frames: Buffer[] } {
  const t = tone(hz, ms, 0.3);
  const n = noise(ms, 0.05, seed);
  const pcm = new Int16Array(t.length);
  for (let i = 0; i < t.length; i++) pcm[i] = t[i]! + n[i]!;
  return { atMs, frames: encodeOpusFrames(pcm) };
}

const END_MS = 40_000;
/** Ann talks now and then; Bob talks early and late with a 26 s pause between; Cat joins at 12 s. */
function speakers(): RoomSpeaker[] {
  return [
    { name: 'ann', joinMs: 0, spurts: [spurt(1000, 3000, 330, 1), spurt(15_000, 2000, 330, 2), spurt(31_000, 2000, 330, 3)] },
    { name: 'bob', joinMs: 0, spurts: [spurt(5000, 4000, 520, 4), spurt(35_000, 3000, 520, 5)] },
    { name: 'cat', joinMs: 12_000, spurts: [spurt(13_000, 2500, 780, 6), spurt(24_000, 3000, 780, 7), spurt(38_500, 1000, 780, 8)] },
  ];
}

const inputsOf = (files: Map<string, string>, names: string[]): MixInput[] => names.map((n) => ({ path: files.get(n)!, label: n }));

/** Plays the room with a RoomLiveMix ticked every simulated second, as the recorder ticks it. */
async function liveRoom(
  format: MixFormat,
  room: RoomSpeaker[],
  opts: { advanceEveryMs?: number; mixFrom?: number; endMs?: number; thread?: boolean } = {},
) {
  const endMs = opts.endMs ?? END_MS;
  let nowMs = 0;
  const output = path.join(dir, `live.${format}`);
  const live = new RoomLiveMix({
    output,
    format,
    now: () => nowMs,
    log: silentLogger(),
    ...(opts.advanceEveryMs ? { advanceEveryMs: opts.advanceEveryMs } : {}),
    ...(opts.thread === undefined ? {} : { thread: opts.thread }),
  });
  const included = new Map<string, MixInput>();
  const files = await playRoom(
    { dir: path.join(dir, 'tracks'), speakers: room, endMs },
    {
      onJoin: (s, file, at) => {
        nowMs = at;
        included.set(s.name, { path: file, label: s.name });
        if (at >= (opts.mixFrom ?? 0)) live.setInputs([...included.values()]);
      },
      onLeave: (s, _file, at) => {
        nowMs = at;
        included.delete(s.name);
        if (at >= (opts.mixFrom ?? 0)) live.setInputs([...included.values()]);
      },
      onSecond: async (at) => {
        nowMs = at;
        if (at === opts.mixFrom) live.setInputs([...included.values()]);
        live.tick();
        // The recorder does not wait for the mix; the test does, so each advance sees the files as of now.
        await live.idle();
      },
    },
  );
  nowMs = endMs;
  const outcome = await live.finish({ inputs: [...included.values()], output, format });
  return { files, outcome, output, included: [...included.keys()], restarts: live.status().restarts };
}

async function fullMix(files: Map<string, string>, names: string[], format: MixFormat) {
  const output = path.join(dir, `full.${format}`);
  await mixTracks({ inputs: inputsOf(files, names), output, format });
  return output;
}

function expectSameMix(live: Float32Array, full: Float32Array) {
  expect(Math.abs(live.length - full.length)).toBeLessThanOrEqual(sec(0.03));
  expect(rms(full)).toBeGreaterThan(0.05);
  // Same decoding, same block grid, same limiter and encoder: in practice the two are sample-identical.
  expect(correlation(live, full)).toBeGreaterThan(0.999);
  // Alignment: the best lag over a window with all three speakers' material is within 5 ms.
  const { lag, correlation: c } = bestLag(full, live, sec(0.01), sec(13), sec(16));
  expect(Math.abs(lag)).toBeLessThanOrEqual(sec(0.005));
  expect(c).toBeGreaterThan(0.99);
}

/** A thread's nice value, from /proc/self/task/<tid>/stat (field 19; the name before it may hold spaces). */
function niceOf(task: string): number {
  const stat = readFileSync(task === 'thread-self' ? '/proc/thread-self/stat' : `/proc/self/task/${task}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
}
const threadNices = () => readdirSync('/proc/self/task').map(niceOf);

function used(outcome: LiveMixOutcome) {
  if (!outcome.used) throw new Error(`live mix not used: ${outcome.reason}`);
  return outcome;
}

describe('live mix', () => {
  test('ogg: equals the mix of the finished tracks, late joiner included, and leaves only seconds for the stop', async () => {
    const { files, outcome, output, restarts } = await liveRoom('ogg', speakers());
    const done = used(outcome);
    expect(restarts).toBe(0);
    expect(done.stats.inputs).toEqual(['ann', 'bob', 'cat']);
    expect(done.stats.lateAudioFrames).toBe(0);
    // Work left at stop: at most one advance interval plus the margin plus a block, whatever the length.
    expect(done.framesAtStop).toBeLessThanOrEqual(sec(5 + 3 + 1));
    const full = await fullMix(files, ['ann', 'bob', 'cat'], 'ogg');
    // The tracks end at the stop (40 s, on the 2.5 ms grid past the pre-skip), the mix with them.
    expect(Math.abs(done.result.durationSamples - sec(END_MS / 1000))).toBeLessThanOrEqual(120);
    const [l, f] = [await decodeMono(output), await decodeMono(full)];
    expectSameMix(l, f);
    // The late joiner is there, where she spoke.
    expect(rms(l, sec(13.2), sec(15))).toBeGreaterThan(0.05);
  });

  test.runIf(HAVE_FFMPEG)('mp3: equals the mix of the finished tracks within 5 ms', async () => {
    const { files, outcome, output } = await liveRoom('mp3', speakers());
    const done = used(outcome);
    expect(done.framesAtStop).toBeLessThanOrEqual(sec(9));
    const full = await fullMix(files, ['ann', 'bob', 'cat'], 'mp3');
    expectSameMix(await decodeMono(output), await decodeMono(full));
  });

  test.each(['flac', 'wav'] as const)('%s: a live mix of unknown length gets a correct header', async (format) => {
    const { files, outcome, output } = await liveRoom(format, speakers());
    used(outcome);
    const full = await fullMix(files, ['ann', 'bob', 'cat'], format);
    expectSameMix(await decodeMono(output), await decodeMono(full));
  });

  test('runs on a thread of its own, never on this one, and makes the same mix as on this one', async () => {
    const created = vi.spyOn(LiveMix, 'create');
    try {
      const onThread = await liveRoom('ogg', speakers());
      used(onThread.outcome);
      expect(created).not.toHaveBeenCalled();
      const there = await decodeMono(onThread.output);
      // The same room again (its tracks come out the same), mixed on this thread.
      await rm(path.join(dir, 'tracks'), { recursive: true });
      const onThisOne = await liveRoom('ogg', speakers(), { thread: false });
      used(onThisOne.outcome);
      // The spy does see a live mix made on this thread.
      expect(created).toHaveBeenCalled();
      const here = await decodeMono(onThisOne.output);
      expect(rms(here)).toBeGreaterThan(0.05);
      expect(there.length).toBe(here.length);
      expect(there.every((v, i) => v === here[i])).toBe(true);
    } finally {
      created.mockRestore();
    }
    const mix = await LiveMixThread.create({ output: path.join(dir, 'x.ogg'), format: 'ogg' });
    expect(mix.threadId).not.toBe(threadId);
    // One thread per room, not two: the encoder runs in the live mix's thread (an encoder thread is ~30 MB).
    expect(mix.encoderThread).toBe(false);
    // Under load the voice socket's thread comes first: the live mix's threads run at a lower priority.
    if (process.platform === 'linux') {
      expect(threadNices()).toContain(Math.max(10, niceOf('thread-self')));
    }
    await mix.abort();
  });

  test('a withdrawal mid-room leaves the speaker out of the whole mix (the live mix starts again)', async () => {
    const room = speakers();
    room[1]!.leaveMs = 20_000; // Bob withdraws after his first spurt
    const { files, outcome, output, included, restarts } = await liveRoom('ogg', room);
    expect(included).toEqual(['ann', 'cat']);
    expect(restarts).toBe(1);
    const done = used(outcome);
    expect(done.stats.inputs).toEqual(['ann', 'cat']);
    const l = await decodeMono(output);
    const bobAlone = await decodeMono(files.get('bob')!);
    // Bob spoke 5-9 s: nothing of him in the mix.
    expect(Math.abs(correlation(l, bobAlone, sec(5), sec(9)))).toBeLessThan(0.05);
    expect(rms(l, sec(5.2), sec(8.8))).toBeLessThan(0.001);
    expectSameMix(l, await decodeMono(await fullMix(files, ['ann', 'cat'], 'ogg')));
  });

  test('the work left at stop does not grow with the room: 3 minutes leave as little as 40 s', async () => {
    const endMs = 180_000;
    // Two speakers taking turns every 7 s for three minutes.
    const room: RoomSpeaker[] = ['ann', 'bob'].map((name, i) => ({
      name,
      joinMs: 0,
      spurts: Array.from({ length: 12 }, (_, k) => spurt(1000 + (2 * k + i) * 7000, 3000, 330 + 190 * i, 10 * k + i)),
    }));
    const { outcome } = await liveRoom('ogg', room, { endMs });
    const done = used(outcome);
    expect(done.result.durationSamples).toBeGreaterThanOrEqual(sec(180));
    expect(done.stats.lateAudioFrames).toBe(0);
    expect(done.framesAtStop).toBeLessThanOrEqual(sec(5 + 3 + 1));
  });

  test('a live mix that started late (behind) still finishes to the exact mix', async () => {
    // Nothing is mixed until 30 s: the first advance catches up 27 s, the stop does the rest.
    const { files, outcome, output } = await liveRoom('ogg', speakers(), { mixFrom: 30_000 });
    const done = used(outcome);
    expect(done.framesAtStop).toBeLessThanOrEqual(sec(9));
    expectSameMix(await decodeMono(output), await decodeMono(await fullMix(files, ['ann', 'bob', 'cat'], 'ogg')));
  });

  test('a live mix never advanced finishes everything at stop, still exact', async () => {
    const files = await playRoom({ dir: path.join(dir, 'tracks'), speakers: speakers(), endMs: END_MS });
    const output = path.join(dir, 'late.ogg');
    const mix = await LiveMix.create({ output, format: 'ogg' });
    for (const input of inputsOf(files, ['ann', 'bob', 'cat'])) await mix.addInput(input);
    const result = await mix.finish();
    expect(Math.abs(result.durationSamples - sec(END_MS / 1000))).toBeLessThanOrEqual(120);
    expectSameMix(await decodeMono(output), await decodeMono(await fullMix(files, ['ann', 'bob', 'cat'], 'ogg')));
  });

  test('audio found in a range already mixed is counted as late', async () => {
    // A finished track added to a live mix that is already past its audio: that audio is late.
    const files = await playRoom({ dir: path.join(dir, 'tracks'), speakers: speakers(), endMs: END_MS });
    const mix = await LiveMix.create({ output: path.join(dir, 'x.ogg'), format: 'ogg' });
    await mix.addInput({ path: files.get('ann')!, label: 'ann' });
    await mix.advanceTo(sec(20));
    await mix.addInput({ path: files.get('bob')!, label: 'bob' });
    await mix.advanceTo(sec(30));
    expect(mix.stats().lateAudioFrames).toBeGreaterThanOrEqual(sec(3.9));
    await mix.abort();
  });
});
