// The whole bot through the scenario path (what `npm run demo -- --scenario` runs): the real discord.js,
// @discordjs/voice, store, track writer, mixer and download server against the local Discord stand-in.
// One 15-second room covers: opt-in, a speaker who never opts in, a late joiner, a withdrawal mid-room, the
// alignment of every word with the schedule, the host's link DM, a stranger's refused DM and link security.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runScenario, type ScenarioSession } from '../../scripts/demo/run-scenario.ts';
import { decodeOggOpusFile, locate, RATE, rms, toMono } from '../helpers/audio.ts';
import { writeDemoClip } from '../helpers/scenario-clips.ts';

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
const reference = new Map<string, Float32Array>();

async function decode(file: string): Promise<Float32Array> {
  const audio = await decodeOggOpusFile(file);
  return toMono(audio.pcm);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-scenario-'));
  for (const name of ['alice', 'bob', 'carol']) reference.set(name, await writeDemoClip(dir, name, CLIP_SECONDS));
  await writeFile(path.join(dir, 'scenario.json'), JSON.stringify(scenario));
  session = await runScenario({ scenarioFile: path.join(dir, 'scenario.json'), outDir: path.join(dir, 'out') });
}, 60_000);

afterAll(async () => {
  await session?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a recorded room, end to end', () => {
  test('the scenario ran to its end and the recording started right after /record start', () => {
    const { result } = session;
    expect(result.exitReason).toBe('completed');
    expect(result.errors).toEqual([]);
    expect(result.recordingStartedAt).toBeGreaterThan(0.5);
    expect(result.recordingStartedAt).toBeLessThan(1.0);
    expect(result.recordingStoppedAt).toBeGreaterThanOrEqual(14.3);
    expect(result.recordingStoppedAt).toBeLessThan(14.8);
  });

  test('tracks exist for those who opted in, and nothing at all for the speaker who never did', () => {
    const speakers = session.result.tracks.map((t) => t.speaker).sort();
    expect(speakers).toEqual(['alice', 'carol']);
    expect(session.result.tracks.every((t) => !t.path.includes('bob'))).toBe(true);
    expect(session.result.mix).not.toBeNull();
  });

  test('consent events are what the simulated people did, at the times they did it', () => {
    const events = session.result.consent.map((e) => [e.speaker, e.event]);
    expect(events).toEqual([
      ['alice', 'granted'],
      ['carol', 'granted'],
      ['carol', 'withdrawn'],
    ]);
    const at = (speaker: string, event: string) =>
      session.result.consent.find((e) => e.speaker === speaker && e.event === event)?.at ?? NaN;
    // A person reacts once the consent message is there: on a busy machine the bot may post it after 1.0 s.
    const posted = Date.parse(session.sim.consentMessage()?.message.timestamp ?? '');
    const seen = (scheduled: number) => Math.max(scheduled, (posted - session.epochAt(0)) / 1000);
    for (const [speaker, event, scheduled] of [
      ['alice', 'granted', 1.0],
      ['carol', 'granted', 3.5],
      ['carol', 'withdrawn', 9.5],
    ] as const) {
      expect(at(speaker, event)).toBeGreaterThanOrEqual(scheduled - 0.05);
      expect(at(speaker, event) - seen(scheduled)).toBeLessThan(0.5);
    }
  });

  test("every word lands within 20 ms of the schedule in its speaker's track", async () => {
    const zero = session.result.recordingStartedAt ?? NaN;
    const trackOf = (speaker: string) => session.result.tracks.find((t) => t.speaker === speaker)?.path ?? '';
    const alice = await decode(trackOf('alice'));
    const carol = await decode(trackOf('carol'));
    for (const [signal, ref, at] of [
      [alice, reference.get('alice'), 2.0],
      [alice, reference.get('alice'), 12.0],
      [carol, reference.get('carol'), 7.0],
    ] as const) {
      const found = locate(signal, ref ?? new Float32Array(0), at - zero);
      // Alone in their own track, each word is the waveform sent (≈ 0.997 measured), not merely like it.
      expect(found.correlation).toBeGreaterThan(0.9);
      expect(Math.abs(found.seconds - (at - zero)) * 1000).toBeLessThan(20);
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
      expect(locate(signal, bob, 4.5 - zero, 500).correlation).toBeLessThan(0.1);
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
    expect(locate(mix, carol, 7.0 - zero).correlation).toBeLessThan(0.1);
    const after = Math.round((10.0 - zero) * RATE);
    expect(rms(mix, after, after + CLIP_SECONDS * RATE)).toBeLessThan(1e-4);
    // The mix does carry the host, where she spoke.
    expect(locate(mix, reference.get('alice') ?? new Float32Array(0), 2.0 - zero).correlation).toBeGreaterThan(0.6);
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
    // Alice was heard throughout; Carol only up to her withdrawal (she talked again after it).
    expect(alice?.received).toBe(sent('alice').length);
    expect(carol?.received).toBeGreaterThan(0);
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
