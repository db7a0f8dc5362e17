// Alignment on a bad network, end to end: the real bot records two speakers through the stand-in with 10 %
// loss, 2 % duplicates, 5 % reordering and up to 60 ms of jitter. Every utterance, each speaker's first
// included, must sit where it was said, in its track and in the mix. "Where it was said" is the
// scenario's schedule, which the stand-in's RTP timestamps carry; the recording's time zero is shared by every
// utterance, so each one is compared with the others after taking out their common offset (and that offset is
// checked separately, to the precision the scenario clock allows).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runScenario, type ScenarioSession } from '../../scripts/demo/run-scenario.ts';
import { decodeOggOpusFile, locate, toMono } from '../helpers/audio.ts';
import { writeDemoClip } from '../helpers/scenario-clips.ts';

const CLIP_SECONDS = 1;
const ALICE_AT = [2.0, 4.6, 7.2, 9.8, 12.4, 15.0];
const BOB_AT = [3.3, 5.9, 8.5, 11.1, 13.7, 16.3];

const scenario = {
  name: 'bad-network',
  host: 'alice',
  speakers: [
    { id: 'alice', name: 'Alice', audio: 'alice.wav', joinAt: 0, consentAt: 1.0, speakAt: ALICE_AT },
    { id: 'bob', name: 'Bob', audio: 'bob.wav', joinAt: 0, consentAt: 1.2, speakAt: BOB_AT },
  ],
  commands: [
    { at: 0.5, user: 'alice', slash: 'record start' },
    { at: 17.8, user: 'alice', slash: 'record stop' },
  ],
  network: { loss: 0.1, duplicate: 0.02, reorder: 0.05, jitterMs: 60, seed: 11 },
  endAt: 19,
};

let dir: string;
let session: ScenarioSession;
const reference = new Map<string, Float32Array>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-badnet-'));
  for (const name of ['alice', 'bob']) reference.set(name, await writeDemoClip(dir, name, CLIP_SECONDS));
  await writeFile(path.join(dir, 'scenario.json'), JSON.stringify(scenario));
  session = await runScenario({ scenarioFile: path.join(dir, 'scenario.json'), outDir: path.join(dir, 'out') });
}, 90_000);

afterAll(async () => {
  await session?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Where each utterance was found minus where it was said, in ms. */
function offsets(signal: Float32Array, utterances: { speaker: string; at: number }[], zero: number): number[] {
  return utterances.map(({ speaker, at }) => {
    const found = locate(signal, reference.get(speaker) ?? new Float32Array(0), at - zero);
    // A tenth of the frames are lost (silence in their place): still plainly that word.
    expect(found.correlation, `${speaker} at ${at} s`).toBeGreaterThan(0.6);
    return (found.seconds - (at - zero)) * 1000;
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

test('every utterance, the first of each speaker included, where it was said in its track and in the mix', async () => {
  const { result } = session;
  expect(result.exitReason).toBe('completed');
  const zero = result.recordingStartedAt ?? Number.NaN;
  const utterances = [...ALICE_AT.map((at) => ({ speaker: 'alice', at })), ...BOB_AT.map((at) => ({ speaker: 'bob', at }))];
  const trackOf = async (speaker: string) =>
    toMono((await decodeOggOpusFile(result.tracks.find((t) => t.speaker === speaker)?.path ?? '')).pcm);
  const inTracks = [
    ...offsets(await trackOf('alice'), utterances.slice(0, ALICE_AT.length), zero),
    ...offsets(await trackOf('bob'), utterances.slice(ALICE_AT.length), zero),
  ];
  const mix = toMono((await decodeOggOpusFile(result.mix ?? '')).pcm);
  const inMix = offsets(mix, utterances, zero);

  const common = median(inTracks);
  const spread = (values: number[]) => Math.max(...values.map((v) => Math.abs(v - common)));
  console.log(
    `bad network (10 % loss, 2 % dup, 5 % reorder, 60 ms jitter): utterance offsets from the schedule in the tracks ` +
      `${inTracks.map((v) => v.toFixed(1)).join(' ')} ms (common ${common.toFixed(1)} ms); worst from the common offset: ` +
      `tracks ${spread(inTracks).toFixed(1)} ms, mix ${spread(inMix).toFixed(1)} ms`,
  );
  // Placement itself is held to 5 ms on such a stream in tests/unit/placement-jitter.test.ts (seeded, exact).
  // Here a speaker's first words can only be placed by the least-delayed of their own first packets, and a busy
  // machine delays the stand-in's sending and the bot's receiving alike: measured 5 ms on a quiet machine, up
  // to 15 ms while the whole suite and two other test runs shared its two cores. The bound is what holds there.
  expect(spread(inTracks)).toBeLessThanOrEqual(20);
  expect(spread(inMix)).toBeLessThanOrEqual(20);
  // The common offset is the recording's time zero as the scenario clock saw it (as in bot-scenario).
  expect(Math.abs(common)).toBeLessThan(20);
  // The faults were really there: each speaker lost frames and the duplicates were recognised.
  for (const track of result.tracks) {
    expect(track.stats?.lost, track.speaker).toBeGreaterThan(0);
    expect(track.stats?.duplicate, track.speaker).toBeGreaterThan(0);
  }
});
