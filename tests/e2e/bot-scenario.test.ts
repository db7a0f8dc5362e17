// The whole bot through the scenario path (what `npm run demo -- --scenario` runs): the real discord.js,
// @discordjs/voice, store, track writer, mixer and download server against the local Discord stand-in.
// One 15-second room covers: opt-in, a speaker who never opts in, a late joiner, a withdrawal mid-room, the
// alignment of every word with the schedule, the host's link DM, a stranger's refused DM and link security.
// The scenario's clock does not wait for the bot: on a busy machine the bot starts, takes a consent in and stops
// later than on a quiet one. So what the bot did is judged against what really happened, as the stand-in saw it
// (when a reaction was made, when the consent message listed someone), never against a fixed allowance.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ScenarioEvent } from '../../discord-sim/scenario.ts';
import { runScenario, type ScenarioSession } from '../../scripts/demo/run-scenario.ts';
import { decodeOggOpusFile, locate, RATE, rms, toMono } from '../helpers/audio.ts';
import { listedSpan } from '../helpers/consent-message.ts';
import { writeDemoClip } from '../helpers/scenario-clips.ts';
import { expectPlacedAsSent, sentAt, utterancesOf } from '../helpers/words-sent.ts';

const CLIP_SECONDS = 2;

const scenario = {
  name: 'consent-e2e',
  host: 'alice',
  speakers: [
    { id: 'alice', name: 'Alice', audio: 'alice.wav', joinAt: 0, consentAt: 1.0, speakAt: [2.0, 12.0] },
    // Never reacts; talks alone, so any trace of him in any file would stand out.
    { id: 'bob', name: 'Bob', audio: 'bob.wav', joinAt: 0, speakAt: [4.5] },
    // Joins late, opts in, talks, withdraws, talks again (must not be recorded after withdrawing).
    { id: 'carol', name: 'Carol', audio: 'carol.wav', joinAt: 3.0, consentAt: 3.5, withdrawAt: 9.5, speakAt: [7.0, 10.0] },
  ],
  commands: [
    { at: 0.5, user: 'alice', slash: 'record start' },
    { at: 14.3, user: 'alice', slash: 'record stop' },
    { at: 14.6, user: 'bob', dm: 'download' },
  ],
  network: { loss: 0, duplicate: 0, reorder: 0, jitterMs: 0, seed: 3 },
  endAt: 15.5,
};

let dir: string;
let session: ScenarioSession;
/** What the simulated people did, when they really did it. */
const events: ScenarioEvent[] = [];
const reference = new Map<string, Float32Array>();
/** Stored times are whole milliseconds, rounded. */
const ROUNDING = 0.001;

async function decode(file: string): Promise<Float32Array> {
  const audio = await decodeOggOpusFile(file);
  return toMono(audio.pcm);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-scenario-'));
  for (const name of ['alice', 'bob', 'carol']) reference.set(name, await writeDemoClip(dir, name, CLIP_SECONDS));
  await writeFile(path.join(dir, 'scenario.json'), JSON.stringify(scenario));
  session = await runScenario({
    scenarioFile: path.join(dir, 'scenario.json'),
    outDir: path.join(dir, 'out'),
    onEvent: (event) => events.push(event),
  });
}, 60_000);

afterAll(async () => {
  await session?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Scenario seconds of a stand-in clock time (the stand-in's clock is this process's performance.now()). */
const scenarioSeconds = (simMs: number) => (performance.timeOrigin + simMs - session.epochAt(0)) / 1000;

/** When the simulated person really did it (scenario seconds). */
function performed(kind: ScenarioEvent['action']['kind'], who: string): number {
  const event = events.find((e) => e.action.kind === kind && !e.error && ('speaker' in e.action ? e.action.speaker : '') === who);
  if (!event) throw new Error(`nobody performed ${kind} for ${who}`);
  return event.actualAt;
}

/** Scenario seconds in which the consent message listed `name` as being recorded (see listedSpan). */
function listed(name: string): { from: number; to: number } {
  const span = listedSpan(session.sim, name);
  if (span.from === undefined) throw new Error(`the consent message never listed ${name}`);
  return { from: scenarioSeconds(span.from), to: span.to === undefined ? Infinity : scenarioSeconds(span.to) };
}

/** When the stand-in really began sending a speaker's `utterance`th words (scenario seconds; late on a starved machine). */
function said(speaker: string, utterance: number): number {
  const frames = utterancesOf(session.sim, session.sim.userByName(speaker).id)[utterance];
  if (!frames) throw new Error(`the stand-in sent no words ${utterance} for ${speaker}`);
  return scenarioSeconds(sentAt(frames));
}

const WORDS = [
  { speaker: 'alice', name: 'Alice', at: 2.0, utterance: 0 },
  { speaker: 'carol', name: 'Carol', at: 7.0, utterance: 0 },
  { speaker: 'alice', name: 'Alice', at: 12.0, utterance: 1 },
] as const;

/**
 * The words said wholly while their speaker was listed: a consent the bot took in after a word began leaves the
 * start of that word out, as it must. On a quiet machine that is every word; at least two on any machine.
 */
function heardWords(): (typeof WORDS)[number][] {
  const heard = WORDS.filter((w) => listed(w.name).from <= w.at && said(w.speaker, w.utterance) + CLIP_SECONDS <= listed(w.name).to);
  expect(heard.length, `words said while listed: ${heard.map((w) => `${w.speaker} ${w.at}`).join(', ')}`).toBeGreaterThanOrEqual(2);
  return heard;
}

describe('a recorded room, end to end', () => {
  test('the scenario ran to its end; the recording started on /record start and stopped on /record stop', () => {
    const { result, sim } = session;
    expect(result.exitReason).toBe('completed');
    expect(result.errors).toEqual([]);
    // Started once the command was sent, and before the consent message it posts once it records.
    const message = sim.consentMessage()?.message;
    const post = sim.log
      .rest({ method: 'POST', route: '/channels/:channel/messages' })
      .find((e) => (e.response as { id?: string }).id === message?.id);
    expect(result.recordingStartedAt).toBeGreaterThan(performed('slash', 'alice') - ROUNDING);
    expect(result.recordingStartedAt).toBeLessThanOrEqual(scenarioSeconds(post?.at ?? NaN) + ROUNDING);
    // Stopped once the stop was sent, and before the bot left the voice channel, which the stop does next.
    const stopSent = events.filter((e) => e.action.kind === 'slash').at(-1)?.actualAt ?? NaN;
    const left = sim.log.entries.find(
      (e) =>
        e.kind === 'gateway-in' && e.op === 4 && (e.d as { channel_id?: unknown }).channel_id === null && scenarioSeconds(e.at) > stopSent,
    );
    expect(result.recordingStoppedAt).toBeGreaterThanOrEqual(stopSent - ROUNDING);
    expect(result.recordingStoppedAt).toBeLessThanOrEqual(scenarioSeconds(left?.at ?? NaN) + ROUNDING);
  });

  test('tracks exist for those who opted in, and nothing at all for the speaker who never did', () => {
    const speakers = session.result.tracks.map((t) => t.speaker).sort();
    expect(speakers).toEqual(['alice', 'carol']);
    expect(session.result.tracks.every((t) => !t.path.includes('bob'))).toBe(true);
    expect(session.result.mix).not.toBeNull();
  });

  test('consent events are what the simulated people did, at the times they did it', () => {
    expect(session.result.consent.map((e) => [e.speaker, e.event])).toEqual([
      ['alice', 'granted'],
      ['carol', 'granted'],
      ['carol', 'withdrawn'],
    ]);
    const at = (speaker: string, event: string) =>
      session.result.consent.find((e) => e.speaker === speaker && e.event === event)?.at ?? NaN;
    // Each is stored at a time between the reaction (or its removal) and the consent message's edit that shows it.
    for (const [speaker, name, event] of [
      ['alice', 'Alice', 'granted'],
      ['carol', 'Carol', 'granted'],
      ['carol', 'Carol', 'withdrawn'],
    ] as const) {
      const made = performed(event === 'granted' ? 'consent' : 'withdraw', speaker);
      const shown = event === 'granted' ? listed(name).from : listed(name).to;
      expect(at(speaker, event), `${speaker} ${event}`).toBeGreaterThanOrEqual(made - ROUNDING);
      expect(at(speaker, event), `${speaker} ${event}`).toBeLessThanOrEqual(shown + ROUNDING);
    }
  });

  test('every word said while its speaker was recorded lands within 20 ms of when it was said in their track', async () => {
    const zero = session.result.recordingStartedAt ?? NaN;
    const trackOf = (speaker: string) => session.result.tracks.find((t) => t.speaker === speaker)?.path ?? '';
    const tracks = new Map([
      ['alice', await decode(trackOf('alice'))],
      ['carol', await decode(trackOf('carol'))],
    ]);
    for (const word of heardWords()) {
      // Looked for around when the stand-in really sent it: on a starved machine that is later than scheduled.
      const sentS = said(word.speaker, word.utterance) - zero;
      const found = locate(tracks.get(word.speaker) ?? new Float32Array(0), reference.get(word.speaker) ?? new Float32Array(0), sentS);
      // Alone in their own track, each word is the waveform sent (≈ 0.997 measured), not merely like it.
      expect(found.correlation, `${word.speaker} ${word.at}`).toBeGreaterThan(0.9);
      expectPlacedAsSent(found.seconds, word.at - zero, sentS, `${word.speaker} ${word.at}`);
    }
  });

  test('the speaker who never opted in is absent from every file written (correlation with what he sent)', async () => {
    const zero = session.result.recordingStartedAt ?? NaN;
    const bob = reference.get('bob') ?? new Float32Array(0);
    const files = [...session.result.tracks.map((t) => t.path), session.result.mix ?? ''];
    for (const file of files) {
      const signal = await decode(file);
      const from = Math.round((4.5 - zero) * RATE);
      // Nobody else talked while Bob did: whatever is there would be him.
      expect(rms(signal, from, from + CLIP_SECONDS * RATE)).toBeLessThan(1e-4);
      // Looked for where he really said it, if the bot was in the call by then to be sent it at all.
      const bobSaid = session.sim.speakers.framesOf(session.sim.userByName('bob').id).some((f) => f.arrivals.length > 0)
        ? said('bob', 0)
        : 4.5;
      expect(locate(signal, bob, bobSaid - zero, 500).correlation).toBeLessThan(0.1);
    }
  });

  test("a withdrawal stops the speaker's track at once, and leaves them out of the mix", async () => {
    const zero = session.result.recordingStartedAt ?? NaN;
    const carolTrack = session.result.tracks.find((t) => t.speaker === 'carol')?.path ?? '';
    const track = await decode(carolTrack);
    const withdrawnAt = (session.result.consent.find((e) => e.event === 'withdrawn')?.at ?? NaN) - zero;
    expect(track.length / RATE).toBeLessThan(withdrawnAt + 0.1);
    const mix = await decode(session.result.mix ?? '');
    const carol = reference.get('carol') ?? new Float32Array(0);
    // Her words before the withdrawal are in her track but not in the mix; her words after are nowhere.
    expect(locate(mix, carol, said('carol', 0) - zero).correlation).toBeLessThan(0.1);
    const after = Math.round((10.0 - zero) * RATE);
    expect(rms(mix, after, after + CLIP_SECONDS * RATE)).toBeLessThan(1e-4);
    // The mix does carry the host, where she spoke.
    const hostWord = heardWords().find((w) => w.speaker === 'alice');
    expect(hostWord).toBeDefined();
    const hostSaid = said('alice', hostWord?.utterance ?? 0) - zero;
    expect(locate(mix, reference.get('alice') ?? new Float32Array(0), hostSaid).correlation).toBeGreaterThan(0.6);
  });

  test('the host is DMd a working link; a stranger asking by DM is refused without one', async () => {
    const { result } = session;
    expect(result.downloadUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/r\//);
    expect(result.dms.filter((d) => d.to === 'alice' && d.links.length > 0)).toHaveLength(1);
    const bobDms = result.dms.filter((d) => d.to === 'bob');
    expect(bobDms).toHaveLength(1);
    expect(bobDms[0]?.links).toEqual([]);
    expect(bobDms[0]?.text).toMatch(/only send a recording to the host/);
    expect(result.stop?.linkSent).toBe(true);

    const page = await fetch(result.downloadUrl ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Alice');
  });

  test("each track's integrity figures come from the recording, counted for that speaker; the DAVE state is there", async () => {
    const { result } = session;
    const sent = (speaker: string) => session.sim.speakers.framesOf(session.result.tracks.find((t) => t.speaker === speaker)?.userId ?? '');
    for (const track of result.tracks) {
      // No network faults here, and DAVE transitions (Carol joining) lose nothing.
      expect(track.stats, track.speaker).toMatchObject({ late: 0, duplicate: 0, lost: 0, undecryptable: 0 });
      expect(track.stats?.silenceFilledSeconds, track.speaker).toBeGreaterThan(0);
    }
    const alice = result.tracks.find((t) => t.speaker === 'alice')?.stats;
    const carol = result.tracks.find((t) => t.speaker === 'carol')?.stats;
    /** Frames the stand-in sent in [from, to) scenario seconds. */
    const sentIn = (speaker: string, from: number, to: number) =>
      sent(speaker).filter((f) => f.arrivals.some((at) => scenarioSeconds(at) >= from && scenarioSeconds(at) < to)).length;
    // Alice was heard throughout once listed; Carol from then until her withdrawal, not after it (she talked again).
    expect(alice?.received).toBeGreaterThanOrEqual(sentIn('alice', listed('Alice').from, Infinity));
    expect(alice?.received).toBeLessThanOrEqual(sent('alice').length);
    expect(carol?.received).toBeGreaterThanOrEqual(sentIn('carol', listed('Carol').from, performed('withdraw', 'carol')));
    expect(carol?.received).toBeLessThanOrEqual(sentIn('carol', 0, listed('Carol').to));
    expect(carol?.received).toBeLessThan(sent('carol').length);
    // The stand-in speaks DAVE (as Discord does): Carol joining changed the group while recording.
    expect(result.e2ee).toMatchObject({ protocol: 'dave', version: 1, privacyCode: expect.stringMatching(/^\d{30}$/) });
    expect(result.e2ee?.transitions).toBeGreaterThanOrEqual(1);
  });

  test('a forged or tampered link gets 403 and gives nothing away', async () => {
    const url = new URL(session.result.downloadUrl ?? '');
    const token = url.pathname.split('/')[2] ?? '';
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    for (const bad of [flipped, 'AQ' + 'x'.repeat(80), 'nothing']) {
      const response = await fetch(`${url.origin}/r/${bad}/`);
      expect(response.status).toBe(403);
      expect(await response.text()).not.toContain(session.result.recordingId ?? '');
    }
  });
});
