// The stop pipeline with the real store, track writer and mixer: stop → mixing → ready, the receipt, the
// withdrawn left out, a failing mix recorded as failed, a live mix whose thread failed or died replaced by the
// full mix, and a recording the bot died in finished from disk.
import { appendFile, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { mixTracks } from '../../src/audio/mixer.ts';
import { scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { silentLogger } from '../../src/log.ts';
import { ManualClock } from '../../src/recording/clock.ts';
import { heldJournalPath, readHeldJournal } from '../../src/recording/held-journal.ts';
import { finishInterrupted, type RoomDeps } from '../../src/recording/room-recorder.ts';
import { RoomLiveMix } from '../../src/recording/room-live-mix.ts';
import { withGrant, withWithdrawal } from '../../src/recording/room-speakers.ts';
import { SpeakerTrack } from '../../src/recording/speaker-track.ts';
import { AFTER_STOP_STEPS, type AfterStopStep } from '../../src/recording/after-stop/index.ts';
import { BackgroundWork } from '../../src/recording/background-work.ts';
import { resumeReadySteps, runStopPipeline, type StopPipelineDeps, type StopProgress } from '../../src/recording/stop-pipeline.ts';
import { deletionTime } from '../../src/storage/retention.ts';
import { openStore, type Recording, type Store } from '../../src/storage/store.ts';
import { catalogOf, offersOf, type Locate } from '../../src/http/catalog.ts';
import { downloadPage } from '../../src/http/page.ts';
import { formatUtc } from '../../src/text/format.ts';
import { correlation, decodeOggOpusFile, encodeOpusFrames, firstOnset, RATE, rms, sec, tone, toMono } from '../helpers/audio.ts';
import { parseId3Chapters } from '../helpers/id3.ts';
import { until } from '../helpers/until.ts';

const config: RoomDeps['config'] = {
  recording: { maxHours: 4, emptyRoomMinutes: 5, deleteWithdrawnTracks: false },
  mix: { format: 'ogg', levelling: false },
  retention: { days: 30, cron: '0 * * * *' },
};
const STARTED_AT = 1_700_000_000_000;

let dataDir: string;
let store: Store;
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-stop-'));
  store = await openStore({ dataDir, log: silentLogger() });
});
afterEach(async () => {
  await store.close();
  await rm(dataDir, { recursive: true, force: true });
});

type SaidTone = { userId: string; name: string; atMs: number; hz: number; toneMs?: number };

const newRecording = () =>
  store.createRecording({ guildId: '1', channelId: '2', textChannelId: '3', hostId: '10', hostName: 'Host', startedAt: STARTED_AT });

/** Stores `s`'s consent at time zero and opens their track, with their tone in it (not closed). */
async function consentedTrack(recordingId: string, s: SaidTone): Promise<{ file: string; track: SpeakerTrack }> {
  const recording = await store.updateRecording(recordingId, (r) => withGrant(r, { userId: s.userId, name: s.name, at: STARTED_AT }));
  await store.appendConsentEvent({ recordingId, userId: s.userId, name: s.name, event: 'granted', at: STARTED_AT });
  const file = store.layout.file(recordingId, recording.speakers.find((x) => x.userId === s.userId)?.trackFile ?? '');
  await mkdir(path.dirname(file), { recursive: true });
  const track = await SpeakerTrack.create({ path: file, recordingId, userId: s.userId, speakerName: s.name, startMs: 0 });
  encodeOpusFrames(tone(s.hz, s.toneMs ?? 500)).forEach((opus, i) => track.push({ opus, arrivalMs: s.atMs + i * 20 }));
  return { file, track };
}

/** A recording with speakers who each said a tone at `atMs` (recording time); tracks written and closed at endMs. */
async function recorded(speakers: (SaidTone & { withdrawnAtMs?: number })[], endMs: number) {
  const { id } = await newRecording();
  for (const s of speakers) {
    const { track } = await consentedTrack(id, s);
    await track.close(s.withdrawnAtMs ?? endMs);
    if (s.withdrawnAtMs !== undefined) {
      const at = STARTED_AT + s.withdrawnAtMs;
      await store.updateRecording(id, (r) => withWithdrawal(r, s.userId, at));
      await store.appendConsentEvent({ recordingId: id, userId: s.userId, name: s.name, event: 'withdrawn', at });
    }
  }
  return (await store.getRecording(id))!;
}

/**
 * A recording the bot died in while `speakers` talked: each track holds what was written of it when the process
 * was killed (every page flushed, no end of stream) and the first bytes of a page it was writing then.
 */
async function crashed(speakers: SaidTone[]) {
  const { id } = await newRecording();
  for (const s of speakers) {
    const { file, track } = await consentedTrack(id, s);
    track.tick(s.atMs + (s.toneMs ?? 500) + 1000);
    await track.flush();
    // What the killed process left: its file as it was then. The page closing the track begins after it.
    const left = `${file}.crash`;
    await copyFile(file, left);
    await track.close((s.atMs + (s.toneMs ?? 500)) * 2);
    const torn = (await readFile(file)).subarray((await stat(left)).size).subarray(0, 40);
    await rm(file);
    await copyFile(left, file);
    await rm(left);
    await appendFile(file, torn);
  }
  return (await store.getRecording(id))!;
}

const sine = (hz: number, ms: number, atS: number, length: number) => {
  const out = new Float32Array(length);
  for (let i = 0; i < sec(ms / 1000) && sec(atS) + i < length; i++) out[sec(atS) + i] = Math.sin((2 * Math.PI * hz * i) / RATE);
  return out;
};

describe('stop pipeline', () => {
  test('a consent the crash caught between its two writes (speaker stored, event not) is logged when the recording is finished', async () => {
    const died = await crashed([{ userId: '11', name: 'Ann', atMs: 500, hz: 440 }]);
    // Killed after the speaker was stored and before the 'granted' event was appended.
    const r = await store.updateRecording(died.id, (x) => withGrant(x, { userId: '12', name: 'Bob', at: STARTED_AT + 1_500 }));
    await finishInterrupted(r, { store, clock: new ManualClock(), log: silentLogger(), config });
    expect((await store.consentEvents(r.id)).map((e) => [e.userId, e.event, e.at - STARTED_AT])).toEqual([
      ['11', 'granted', 0],
      ['12', 'granted', 1_500],
    ]);
  });

  test('closes, mixes the speakers whose consent stood, writes the receipt and ends ready', async () => {
    const r = await recorded(
      [
        { userId: '11', name: 'Ann', atMs: 1000, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 2000, hz: 660, withdrawnAtMs: 2600 },
      ],
      4000,
    );
    await store.updateRecording(r.id, (x) => ({ ...x, notes: [{ at: 1000, by: '11', byName: 'Ann', text: 'Ann starts' }] }));
    const clock = new ManualClock();
    let closed = 0;
    const phases: StopProgress['phase'][] = [];
    const outcome = await runStopPipeline(
      {
        recordingId: r.id,
        reason: 'empty-room',
        stoppedAt: STARTED_AT + 4000,
        closeTracks: async () => {
          closed++;
          clock.advance(7);
        },
        onProgress: (p) => {
          if (phases.at(-1) !== p.phase) phases.push(p.phase);
        },
      },
      { store, clock, log: silentLogger(), config, mix: mixTracks },
    );
    expect(closed).toBe(1);
    expect(phases).toEqual(['closing-tracks', 'mixing', 'mix-chapters', 'reuse-tags', 'writing-receipt', 'done']);
    // The note is a chapter inside the mix.
    const tags = (await scanOggOpus(store.layout.mixFile(r.id, 'ogg'))).comments;
    expect([tags.CHAPTER001, tags.CHAPTER001NAME]).toEqual(['00:00:01.000', 'Ann starts (Ann)']);
    expect(outcome.timings.closeTracksMs).toBe(7);
    expect(outcome.recording).toMatchObject({ state: 'ready', stopReason: 'empty-room', stoppedAt: STARTED_AT + 4000 });
    expect(outcome.recording.mix).toMatchObject({ file: 'mix.ogg', format: 'ogg' });
    // Tracks end on the writer's 2.5 ms grid, which may round the end up by a millisecond.
    expect(Math.abs((outcome.recording.mix?.durationMs ?? 0) - 4000)).toBeLessThanOrEqual(2);
    expect(await store.getRecording(r.id)).toEqual(outcome.recording);

    const mix = toMono((await decodeOggOpusFile(store.layout.mixFile(r.id, 'ogg'))).pcm);
    expect(Math.abs((firstOnset(mix) ?? -1) / RATE - 1.0)).toBeLessThan(0.005);
    expect(correlation(mix, sine(440, 500, 1.0, mix.length), sec(1.02), sec(1.48))).toBeGreaterThan(0.9);
    // Bob withdrew: nothing of him in the mix, his track still on disk (DELETE_WITHDRAWN_TRACKS is off).
    expect(rms(mix, sec(1.6), sec(4))).toBeLessThan(1e-4);
    expect((await stat(store.layout.file(r.id, r.speakers[1]?.trackFile ?? ''))).size).toBeGreaterThan(0);

    const receipt = await readFile(store.layout.receiptFile(r.id), 'utf8');
    expect(receipt).toMatch(/granted\s+Ann \(11\)/);
    expect(receipt).toMatch(/withdrawn\s+Bob \(12\)/);
    expect(receipt).toContain('left out of the mix');
  });

  test('an MP3 mix gets the notes as ID3 chapters', async () => {
    const r = await recorded([{ userId: '11', name: 'Ann', atMs: 500, hz: 440 }], 3000);
    const notes = [
      { at: 1000, by: '11', byName: 'Ann', text: 'Ann starts' },
      { at: 2000, by: '11', byName: 'Ann', text: 'Wrap-up' },
    ];
    await store.updateRecording(r.id, (x) => ({ ...x, notes }));
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 3000, closeTracks: async () => {} },
      {
        store,
        clock: new ManualClock(),
        log: silentLogger(),
        config: { ...config, mix: { format: 'mp3', levelling: false } },
        mix: mixTracks,
      },
    );
    expect(outcome.recording.mix).toMatchObject({ file: 'mix.mp3', format: 'mp3' });
    const end = outcome.recording.mix?.durationMs ?? 0;
    const chapters = parseId3Chapters(await readFile(store.layout.mixFile(r.id, 'mp3'))).chapters;
    expect(chapters.map((c) => [c.startMs, c.endMs, c.title])).toEqual([
      [1000, 2000, 'Ann starts'],
      [2000, end, 'Wrap-up'],
    ]);
  });

  test.each([
    { live: ['Ann', 'Bob'], used: true },
    { live: ['Ann'], used: false },
  ])("a live mix is finished when it has the stop's speakers, else the tracks are mixed now ($live)", async ({ live, used }) => {
    const r = await recorded(
      [
        { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 1500, hz: 660 },
      ],
      3000,
    );
    const liveMix = new RoomLiveMix({ output: store.layout.mixFile(r.id, 'ogg'), format: 'ogg', now: () => 3000, log: silentLogger() });
    liveMix.setInputs(
      r.speakers.filter((s) => live.includes(s.name)).map((s) => ({ path: store.layout.file(r.id, s.trackFile), label: s.name })),
    );
    let fullMixes = 0;
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 3000, closeTracks: async () => {}, liveMix },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: (o) => (fullMixes++, mixTracks(o)) },
    );
    expect(outcome.recording.state).toBe('ready');
    expect(fullMixes).toBe(used ? 0 : 1);
    // Never advanced here, so all of it was left for the stop (3 s, on the tracks' 2.5 ms grid).
    expect(outcome.liveMix).toEqual(
      used ? { used: true, framesAtStop: expect.closeTo(sec(3), -3) } : { used: false, reason: expect.stringMatching(/other speakers/) },
    );
    // Either way the mix holds both speakers where they spoke, and no live partial file is left behind.
    const mix = toMono((await decodeOggOpusFile(store.layout.mixFile(r.id, 'ogg'))).pcm);
    expect(correlation(mix, sine(440, 500, 0.5, mix.length), sec(0.52), sec(0.98))).toBeGreaterThan(0.9);
    expect(correlation(mix, sine(660, 500, 1.5, mix.length), sec(1.52), sec(1.98))).toBeGreaterThan(0.9);
    expect((await readdir(store.layout.recordingDir(r.id))).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test.each([
    { how: 'fails', why: /no such file/ },
    { how: 'dies', why: /thread exited unexpectedly/ },
  ])('a live mix whose thread $how is reported failed, and the stop mixes the tracks in full', async ({ how, why }) => {
    const r = await recorded(
      [
        { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 1500, hz: 660 },
      ],
      3000,
    );
    // The threads this process starts, as they are sent work (the spy passes the call on): the live mix's is first.
    const sent = vi.spyOn(Worker.prototype, 'postMessage');
    const liveMix = new RoomLiveMix({ output: store.layout.mixFile(r.id, 'ogg'), format: 'ogg', now: () => 3000, log: silentLogger() });
    const inputs = r.speakers.map((s) => ({ path: store.layout.file(r.id, s.trackFile), label: s.name }));
    try {
      // The thread reads the tracks itself: a path it cannot open fails it there.
      liveMix.setInputs(how === 'fails' ? [...inputs, { path: path.join(dataDir, 'missing.ogg'), label: 'Cat' }] : inputs);
      await liveMix.idle();
      if (how === 'dies') {
        expect(liveMix.status().failed).toBeUndefined();
        await (sent.mock.contexts[0] as Worker).terminate();
      }
      liveMix.tick();
      await liveMix.idle();
    } finally {
      sent.mockRestore();
    }
    expect(liveMix.status().failed).toMatch(why);

    let fullMixes = 0;
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 3000, closeTracks: async () => {}, liveMix },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: (o) => (fullMixes++, mixTracks(o)) },
    );
    expect(outcome.recording.state).toBe('ready');
    expect(fullMixes).toBe(1);
    expect(outcome.liveMix).toEqual({ used: false, reason: expect.stringMatching(why) });
    const mix = toMono((await decodeOggOpusFile(store.layout.mixFile(r.id, 'ogg'))).pcm);
    expect(correlation(mix, sine(440, 500, 0.5, mix.length), sec(0.52), sec(0.98))).toBeGreaterThan(0.9);
    expect(correlation(mix, sine(660, 500, 1.5, mix.length), sec(1.52), sec(1.98))).toBeGreaterThan(0.9);
    expect((await readdir(store.layout.recordingDir(r.id))).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test('integrity figures are taken once the tracks are closed and stored; finishing from disk keeps them', async () => {
    const r = await recorded(
      [
        { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 900, hz: 660 },
      ],
      2000,
    );
    const figures = { received: 25, lost: 1, late: 0, duplicate: 2, undecryptable: 0, silenceFilledSeconds: 1.5 };
    let closed = false;
    const outcome = await runStopPipeline(
      {
        recordingId: r.id,
        reason: 'command',
        stoppedAt: STARTED_AT + 2000,
        closeTracks: async () => {
          closed = true;
        },
        // Asked for after closing: a track's last late or duplicate packets are only known then.
        speakerStats: () => new Map(closed ? [['11', figures]] : []),
      },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: mixTracks },
    );
    expect(outcome.recording.speakers.map((s) => s.stats)).toEqual([figures, undefined]);
    expect((await store.getRecording(r.id))?.speakers[0]?.stats).toEqual(figures);

    const failed = await store.updateRecording(r.id, (x) => ({ ...x, state: 'failed', error: 'x' }));
    const again = await finishInterrupted(failed, { store, clock: new ManualClock(), log: silentLogger(), config });
    expect(again.recording.speakers[0]?.stats).toEqual(figures);
  });

  test('the receipt says whether the room was end-to-end encrypted, with its voice privacy codes', async () => {
    const r = await recorded([{ userId: '11', name: 'Ann', atMs: 0, hz: 440 }], 1000);
    const codes = ['111112222233333444445555566666', '999998888877777666665555544444'];
    await store.updateRecording(r.id, (x) => ({
      ...x,
      e2ee: { protocol: 'dave', version: 1, privacyCode: codes[1]!, privacyCodes: codes, transitions: 1 },
    }));
    await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 1000, closeTracks: async () => undefined },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: mixTracks },
    );
    const receipt = await readFile(store.layout.receiptFile(r.id), 'utf8');
    expect(receipt).toContain('End-to-end encryption:\n  Yes, Discord DAVE v1, for the whole recording.');
    expect(receipt).toContain('    11111 22222 33333 44444 55555 66666\n    99999 88888 77777 66666 55555 44444');
  });

  test.each([
    ['is empty (its headers did not fit on a full disk)', (file: string) => writeFile(file, '')],
    ['is missing', (file: string) => rm(file)],
  ])('a track that %s is left out: the mix is made of what exists', async (_what, spoil) => {
    const r = await recorded(
      [
        { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 1500, hz: 660 },
      ],
      3000,
    );
    await spoil(store.layout.file(r.id, r.speakers[1]!.trackFile));
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 3000, closeTracks: async () => {} },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: mixTracks },
    );
    expect(outcome.recording.state).toBe('ready');
    const mix = toMono((await decodeOggOpusFile(store.layout.mixFile(r.id, 'ogg'))).pcm);
    expect(correlation(mix, sine(440, 500, 0.5, mix.length), sec(0.52), sec(0.98))).toBeGreaterThan(0.9);
    expect(rms(mix, sec(1.5), sec(2))).toBe(0);
  });

  test('with DELETE_WITHDRAWN_TRACKS the withdrawn track is gone', async () => {
    const r = await recorded([{ userId: '12', name: 'Bob', atMs: 0, hz: 660, withdrawnAtMs: 600 }], 1000);
    const deleting = { ...config, recording: { ...config.recording, deleteWithdrawnTracks: true } };
    // A journal of held packets a crash left beside it goes with it.
    await writeFile(heldJournalPath(store.layout.file(r.id, r.speakers[0]?.trackFile ?? '')), 'held');
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 1000, closeTracks: async () => undefined },
      { store, clock: new ManualClock(), log: silentLogger(), config: deleting, mix: mixTracks },
    );
    await expect(stat(store.layout.file(r.id, r.speakers[0]?.trackFile ?? ''))).rejects.toThrow(/ENOENT/);
    await expect(stat(heldJournalPath(store.layout.file(r.id, r.speakers[0]?.trackFile ?? '')))).rejects.toThrow(/ENOENT/);
    expect(outcome.recording.state).toBe('ready');
    expect(outcome.recording.mix).toBeUndefined();
  });

  test('a failing mix leaves the recording failed with the reason, and it can be finished again', async () => {
    const r = await recorded([{ userId: '11', name: 'Ann', atMs: 0, hz: 440 }], 1000);
    const failing: typeof mixTracks = async () => {
      throw new Error('disk full');
    };
    const outcome = await runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 1000, closeTracks: async () => undefined },
      { store, clock: new ManualClock(), log: silentLogger(), config, mix: failing },
    );
    expect(outcome.recording).toMatchObject({ state: 'failed', error: 'disk full' });
    const retried = await finishInterrupted(outcome.recording, { store, clock: new ManualClock(), log: silentLogger(), config });
    expect(retried.recording.state).toBe('ready');
    expect(retried.recording.error).toBeUndefined();
  });

  test.each([
    { heartbeat: 20_000, endsAt: 25_000, what: 'its last audio' },
    { heartbeat: 40_000, endsAt: 40_000, what: 'its last heartbeat' },
  ])(
    'a recording the bot died in is finished from disk at $what, not when the bot came back hours later: torn tail cut, tracks and mix that long',
    async ({ heartbeat, endsAt }) => {
      // Ann talks until 25 s, Bob only at 2 s; the bot's last heartbeat was at `heartbeat`.
      const died = await crashed([
        { userId: '11', name: 'Ann', atMs: 500, hz: 440, toneMs: 24_500 },
        { userId: '12', name: 'Bob', atMs: 2000, hz: 660, toneMs: 1000 },
      ]);
      const r = await store.updateRecording(died.id, (x) => ({ ...x, aliveAt: STARTED_AT + heartbeat }));
      const files = r.speakers.map((s) => store.layout.file(r.id, s.trackFile));
      expect((await decodeOggOpusFile(files[0]!)).truncated).toBe(true);
      const outcome = await finishInterrupted(r, {
        store,
        clock: new ManualClock(),
        log: silentLogger(),
        config,
        wallNow: () => STARTED_AT + 7 * 3_600_000,
      });
      const { stoppedAt = NaN } = outcome.recording;
      expect(outcome.recording).toMatchObject({ state: 'ready', stopReason: 'interrupted' });
      // Stored as its real end, to the track's pre-skip (6.5 ms: the decoded audio ends that much earlier).
      expect(Math.abs(stoppedAt - STARTED_AT - endsAt)).toBeLessThanOrEqual(7);
      const length = sec((stoppedAt - STARTED_AT) / 1000);
      for (const file of files) {
        const track = await decodeOggOpusFile(file);
        expect(track.truncated).toBe(false);
        expect(Math.abs(track.samples - length), file).toBeLessThanOrEqual(120);
      }
      const mixFile = store.layout.mixFile(r.id, 'ogg');
      const mixed = await decodeOggOpusFile(mixFile);
      expect(Math.abs(mixed.samples - length)).toBeLessThanOrEqual(120);
      expect(Math.abs((outcome.recording.mix?.durationMs ?? 0) - (stoppedAt - STARTED_AT))).toBeLessThanOrEqual(3);
      // Both of them where they spoke, Ann up to her last words.
      const mix = toMono(mixed.pcm);
      expect(Math.abs((firstOnset(mix) ?? -1) / RATE - 0.5)).toBeLessThan(0.005);
      expect(rms(mix, sec(24), sec(24.9))).toBeGreaterThan(0.05);
      expect(rms(mix, sec(25.1), mix.length)).toBeLessThan(1e-4);
      // Deleted RETENTION_DAYS after the real stop, which the receipt says.
      const receipt = await readFile(store.layout.receiptFile(r.id), 'utf8');
      expect(receipt).toContain(`Deleted on: ${formatUtc(deletionTime({ startedAt: STARTED_AT, stoppedAt }, config.retention.days))}`);
    },
  );

  test("a recording the bot died in during a speaker's first words (held while their stream's clock was learned) is finished from disk with them, as long as they spoke", async () => {
    const { id } = await newRecording();
    await store.updateRecording(id, (r) => withGrant(r, { userId: '11', name: 'Ann', at: STARTED_AT }));
    const file = store.layout.file(id, (await store.getRecording(id))!.speakers[0]!.trackFile);
    await mkdir(path.dirname(file), { recursive: true });
    const track = await SpeakerTrack.create({ path: file, recordingId: id, userId: '11', speakerName: 'Ann', startMs: 0 });
    // 1.5 s of her tone from 1 s, with RTP: all of it held when the process is killed at 2.5 s.
    const packets = encodeOpusFrames(tone(440, 1500)).map((opus, i) => ({
      opus,
      arrivalMs: 1000 + 20 * i,
      rtp: { sequence: i, timestamp: 960 * i, ssrc: 5 },
    }));
    for (const p of packets) track.push(p);
    await until(async () => ((await readHeldJournal(file))?.packets.length === packets.length ? true : undefined), 'the journal');
    const left = [`${file}.crash`, `${heldJournalPath(file)}.crash`];
    await copyFile(file, left[0]!);
    await copyFile(heldJournalPath(file), left[1]!);
    await track.close(2500);
    await rename(left[0]!, file);
    await rename(left[1]!, heldJournalPath(file));

    const outcome = await finishInterrupted((await store.getRecording(id))!, {
      store,
      clock: new ManualClock(),
      log: silentLogger(),
      config,
    });
    // Its last sign of life is the last packet held (nothing else of that process reached the disk).
    expect(Math.abs((outcome.recording.stoppedAt ?? NaN) - STARTED_AT - 2500)).toBeLessThanOrEqual(7);
    await expect(stat(heldJournalPath(file))).rejects.toThrow(/ENOENT/);
    for (const audio of [file, store.layout.mixFile(id, 'ogg')]) {
      const pcm = toMono((await decodeOggOpusFile(audio)).pcm);
      expect(Math.abs((firstOnset(pcm) ?? -1) / RATE - 1)).toBeLessThan(0.005);
      expect(correlation(pcm, sine(440, 1500, 1, pcm.length), sec(1.02), sec(2.48)), audio).toBeGreaterThan(0.9);
    }
  });

  test('a new product is one more step: it runs after the others, reports its own progress and timing, and an optional one that fails leaves the recording ready', async () => {
    const r = await recorded([{ userId: '11', name: 'Ann', atMs: 0, hz: 440 }], 1000);
    const clock = new ManualClock();
    const seen: { mix: unknown; state: string }[] = [];
    const chapters: AfterStopStep = {
      id: 'writing-chapters',
      doing: 'writing the chapters',
      timing: 'chaptersMs',
      runsOn: 'closed-tracks',
      required: false,
      async run(ctx) {
        // Later steps see what earlier ones made, on closed tracks.
        seen.push({ mix: ctx.products.mix, state: ctx.recording().state });
        ctx.progress(1, 2);
        clock.advance(5);
        throw new Error('no chapters today');
      },
    };
    const progress: StopProgress[] = [];
    const outcome = await runStopPipeline(
      {
        recordingId: r.id,
        reason: 'command',
        stoppedAt: STARTED_AT + 1000,
        closeTracks: async () => undefined,
        onProgress: (p) => progress.push(p),
      },
      { store, clock, log: silentLogger(), config, mix: mixTracks, steps: [...AFTER_STOP_STEPS, chapters] },
    );
    expect(seen).toEqual([{ mix: expect.objectContaining({ file: 'mix.ogg' }), state: 'mixing' }]);
    expect(progress).toContainEqual({ phase: 'writing-chapters', doing: 'writing the chapters', done: 1, total: 2, tracksClosed: true });
    expect(progress.find((p) => p.phase === 'closing-tracks')?.tracksClosed).toBe(false);
    expect(outcome.timings.chaptersMs).toBe(5);
    expect(outcome.recording.state).toBe('ready');
    expect(outcome.skipped).toEqual([{ step: 'writing-chapters', error: 'no chapters today' }]);

    // The same step, required: its failure is the recording's.
    const r2 = await recorded([{ userId: '11', name: 'Ann', atMs: 0, hz: 440 }], 1000);
    const failed = await runStopPipeline(
      { recordingId: r2.id, reason: 'command', stoppedAt: STARTED_AT + 1000, closeTracks: async () => undefined },
      { store, clock, log: silentLogger(), config, mix: mixTracks, steps: [...AFTER_STOP_STEPS, { ...chapters, required: true }] },
    );
    expect(failed.recording).toMatchObject({ state: 'failed', error: 'no chapters today' });
  });
});

describe('levelled mix after the stop', () => {
  const levelling: RoomDeps['config'] = { ...config, mix: { format: 'ogg', levelling: true } };
  const twoSpeakers = () =>
    recorded(
      [
        { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
        { userId: '12', name: 'Bob', atMs: 1500, hz: 660 },
      ],
      3000,
    );
  const stop = (r: Recording, deps: Partial<StopPipelineDeps> = {}) =>
    runStopPipeline(
      { recordingId: r.id, reason: 'command', stoppedAt: STARTED_AT + 3000, closeTracks: async () => {} },
      { store, clock: new ManualClock(), log: silentLogger(), config: levelling, mix: mixTracks, ...deps },
    );
  /** What the page offers, as the server decides it: every catalog file that exists. */
  async function offered(recording: Recording) {
    const locate: Locate = (rec, file) => store.layout.file(rec.id, file);
    const catalog = catalogOf(recording, locate);
    const present = new Set<string>();
    for (const asset of [catalog.mix, catalog.levelledMix, ...catalog.tracks]) {
      if (asset?.path && (await stat(asset.path).catch(() => undefined))) present.add(asset.key);
    }
    const page = downloadPage({
      recording,
      events: [],
      mix: catalog.mix && { asset: catalog.mix, size: 1 },
      levelledMix: catalog.levelledMix && present.has(catalog.levelledMix.key) ? { asset: catalog.levelledMix, size: 1 } : undefined,
      tracks: [],
      deletionAt: undefined,
      retentionDays: 30,
      linkExpiresAt: STARTED_AT,
      base: '',
      refreshSeconds: 5,
    });
    // Each mix as stored (the other formats of each are made on request).
    const mixes = offersOf(recording, catalog, present, locate).filter((o) => o.kind === 'mix' && o.format === 'ogg');
    return { mixes: mixes.map((o) => ({ key: o.key, levelled: o.levelled })), page };
  }

  test('the stop is ready with the plain mix while the levelled one is being made; then both are offered, the levelled one as the main player', async () => {
    const r = await twoSpeakers();
    await store.updateRecording(r.id, (x) => ({ ...x, notes: [{ at: 1000, by: '11', byName: 'Ann', text: 'Ann starts' }] }));
    // The levelled mix waits for the test, so what the host can have before it is made is seen.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const background = new BackgroundWork();
    const outcome = await stop(r, {
      background,
      mix: async (o) => {
        if (o.level) await held;
        return mixTracks(o);
      },
    });
    expect(outcome.recording).toMatchObject({ state: 'ready', levelledMix: { state: 'making' } });
    const before = await offered(outcome.recording);
    expect(before.mixes).toEqual([{ key: 'mix', levelled: false }]);
    expect(before.page).toContain('A levelled mix, every speaker at the same loudness, is being made');
    expect(before.page).toContain('<meta http-equiv="refresh"');

    release();
    await background.idle();
    const done = (await store.getRecording(r.id))!;
    expect(done.levelledMix).toMatchObject({ state: 'ready', file: 'mix-levelled.ogg', format: 'ogg' });
    const after = await offered(done);
    expect(after.mixes).toEqual([
      { key: 'mix', levelled: false },
      { key: 'mix-levelled', levelled: true },
    ]);
    expect(after.page).toMatch(
      /<audio id="mix"[^>]*src="mix-levelled"[\s\S]*<h3>Plain mix<\/h3>\n<audio controls preload="none" src="mix">/,
    );
    expect(after.page).not.toContain('<meta http-equiv="refresh"');
    // The notes are chapters in it too.
    const tags = (await scanOggOpus(store.layout.file(r.id, 'mix-levelled.ogg'))).comments;
    expect([tags.CHAPTER001, tags.CHAPTER001NAME]).toEqual(['00:00:01.000', 'Ann starts (Ann)']);
    // Both hold the whole recording, each speaker where they spoke.
    const plain = (await decodeOggOpusFile(store.layout.mixFile(r.id, 'ogg'))).samples;
    const levelled = toMono((await decodeOggOpusFile(store.layout.file(r.id, 'mix-levelled.ogg'))).pcm);
    expect(levelled.length).toBe(plain);
    expect(correlation(levelled, sine(440, 500, 0.5, levelled.length), sec(0.52), sec(0.98))).toBeGreaterThan(0.9);
    expect(correlation(levelled, sine(660, 500, 1.5, levelled.length), sec(1.52), sec(1.98))).toBeGreaterThan(0.9);
  });

  test('MIX_LEVELLING=off makes only the plain mix', async () => {
    const r = await twoSpeakers();
    const levels: unknown[] = [];
    const outcome = await stop(r, { config, mix: (o) => (levels.push(o.level), mixTracks(o)) });
    expect(outcome.recording.state).toBe('ready');
    expect(outcome.recording.levelledMix).toBeUndefined();
    expect(levels).toEqual([undefined]);
    expect((await offered(outcome.recording)).mixes).toEqual([{ key: 'mix', levelled: false }]);
    expect((await readdir(store.layout.recordingDir(r.id))).filter((f) => f.startsWith('mix'))).toEqual(['mix.ogg']);
  });

  test('a levelled mix that fails leaves the plain one serving and says so', async () => {
    const r = await twoSpeakers();
    const outcome = await stop(r, {
      mix: async (o) => {
        if (o.level) throw new Error('no levelling today');
        return mixTracks(o);
      },
    });
    expect(outcome.recording.state).toBe('ready');
    const stored = (await store.getRecording(r.id))!;
    expect(stored.levelledMix).toEqual({ state: 'failed', error: 'no levelling today' });
    const { mixes, page } = await offered(stored);
    expect(mixes).toEqual([{ key: 'mix', levelled: false }]);
    expect(page).toContain('The levelled mix could not be made; above is the plain mix.');
  });

  test('cut off by a shutdown it stays being made, and the next start makes it', async () => {
    const r = await twoSpeakers();
    const background = new BackgroundWork();
    let started!: () => void;
    const levellingStarted = new Promise<void>((resolve) => (started = resolve));
    const outcome = await stop(r, {
      background,
      mix: (o) => {
        if (o.level) started();
        return mixTracks(o);
      },
    });
    await levellingStarted;
    await background.close();
    const cut = (await store.getRecording(r.id))!;
    expect(cut.levelledMix).toEqual({ state: 'making' });
    expect(outcome.recording.state).toBe('ready');
    // Nothing half-written is left where the levelled mix goes.
    expect((await readdir(store.layout.recordingDir(r.id))).filter((f) => f.startsWith('mix-levelled'))).toEqual([]);

    const restarted = new BackgroundWork();
    await resumeReadySteps(cut, {
      store,
      clock: new ManualClock(),
      log: silentLogger(),
      config: levelling,
      mix: mixTracks,
      background: restarted,
    });
    await restarted.idle();
    expect((await store.getRecording(r.id))?.levelledMix).toMatchObject({ state: 'ready', file: 'mix-levelled.ogg' });
  });

  test('a recording finished from disk after a crash ends with both mixes', async () => {
    const died = await crashed([
      { userId: '11', name: 'Ann', atMs: 500, hz: 440 },
      { userId: '12', name: 'Bob', atMs: 900, hz: 660 },
    ]);
    const outcome = await finishInterrupted(died, { store, clock: new ManualClock(), log: silentLogger(), config: levelling });
    expect(outcome.recording.state).toBe('ready');
    const stored = (await store.getRecording(died.id))!;
    expect(stored.levelledMix).toMatchObject({ state: 'ready', file: 'mix-levelled.ogg' });
    expect((await offered(stored)).mixes.map((m) => m.key)).toEqual(['mix', 'mix-levelled']);
  });
});
