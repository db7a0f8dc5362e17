// The recording layer end to end: the real discord.js client and @discordjs/voice receiver against the local
// Discord stand-in, the real store, track writer and mixer. Consent is granted through the room's API here
// (the reaction UI is the bot layer's); everything below that is real.
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { VoiceConnection } from '@discordjs/voice';
import { GatewayIntentBits, type Client } from 'discord.js';
import { afterEach, describe, expect, test } from 'vitest';
import type { Config } from '../../src/config.ts';
import { silentLogger } from '../../src/log.ts';
import { ManualClock, monotonicClock } from '../../src/recording/clock.ts';
import { finishInterrupted, RoomRecorder, type RoomDeps } from '../../src/recording/room-recorder.ts';
import { E2eeJoinError } from '../../src/recording/voice-e2ee.ts';
import type { VoiceChange } from '../../src/recording/room-voice.ts';
import { openStore, type Store } from '../../src/storage/store.ts';
import {
  connectVoice,
  loginClient,
  speechFromPcm,
  startDiscordSim,
  tonePcm,
  type DiscordSim,
  type DiscordSimOptions,
  type Speech,
} from '../../discord-sim/index.ts';
import { correlation, decodeOggOpusFile, firstOnset, RATE, rms, sec, toMono, toneAmplitude } from '../helpers/audio.ts';
import { roomHeard, wireMark } from '../helpers/room-heard.ts';
import { until } from '../helpers/until.ts';
import { expectPlacedAsSent, tapArrivals } from '../helpers/words-sent.ts';

const config: RoomDeps['config'] = {
  recording: { maxHours: 4, emptyRoomMinutes: 5, deleteWithdrawnTracks: false },
  mix: { format: 'ogg', levelling: false },
  retention: { days: 30, cron: '0 * * * *' },
} satisfies Pick<Config, 'recording' | 'mix' | 'retention'>;

interface Harness {
  sim: DiscordSim;
  client: Client;
  store: Store;
  dataDir: string;
  users: Record<'alice' | 'bob' | 'carol', string>;
  connect(): VoiceConnection;
  deps(overrides?: Partial<RoomDeps>): RoomDeps;
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function harness(options: Pick<DiscordSimOptions, 'dave'> = {}): Promise<Harness> {
  const sim = await startDiscordSim({ users: [{ username: 'alice' }, { username: 'bob' }, { username: 'carol' }], ...options });
  cleanup.push(() => sim.close());
  const client = await loginClient(sim, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] });
  cleanup.push(() => client.destroy());
  const dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-rec-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const store = await openStore({ dataDir, log: silentLogger() });
  cleanup.push(() => store.close());
  const users = {
    alice: sim.userByName('alice').id,
    bob: sim.userByName('bob').id,
    carol: sim.userByName('carol').id,
  };
  for (const id of Object.values(users)) sim.joinVoice(id);
  return {
    sim,
    client,
    store,
    dataDir,
    users,
    connect: () => {
      const connection = connectVoice(client, sim);
      cleanup.push(async () => {
        if (connection.state.status !== 'destroyed') connection.destroy();
      });
      return connection;
    },
    deps: (overrides = {}) => ({ store, clock: monotonicClock, log: silentLogger(), config, ...overrides }),
  };
}

const meta = (h: Harness) => ({
  guildId: h.sim.guildId,
  channelId: h.sim.voiceChannelId,
  textChannelId: h.sim.textChannelId,
  hostId: h.users.alice,
  hostName: 'alice',
});

function tone(seconds: number, frequency: number): Speech {
  return speechFromPcm(tonePcm({ seconds, frequency, amplitude: 0.4 }));
}

function toneMono(seconds: number, frequency: number): Float32Array {
  const n = sec(seconds);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sin((2 * Math.PI * frequency * i) / RATE);
  return out;
}

/** A reference signal placed at `atS` in a buffer as long as `length`. */
function placed(signal: Float32Array, atS: number, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(signal.subarray(0, Math.max(0, Math.min(signal.length, length - sec(atS)))), sec(atS));
  return out;
}

/** Sim-clock time of the room's time zero (both read performance.now). */
const zeroOf = (h: Harness, room: RoomRecorder) => h.sim.clock() - room.elapsedMs();

async function trackOf(h: Harness, room: RoomRecorder, userId: string) {
  const speaker = room.recording.speakers.find((s) => s.userId === userId);
  if (!speaker) throw new Error(`no speaker ${userId}`);
  const file = h.store.layout.file(room.id, speaker.trackFile);
  return { file, audio: await decodeOggOpusFile(file) };
}

describe('recording a room through the real voice receiver', () => {
  // The core of recording, with DAVE on (as on Discord) and off (the plain path).
  test.each([
    ['DAVE on', true],
    ['DAVE off', false],
  ])('two consenting speakers get aligned tracks; the one who never consents is nowhere (%s)', async (_name, dave) => {
    const h = await harness({ dave });
    const connection = h.connect();
    const bot = tapArrivals(connection);
    const room = await RoomRecorder.start({ meta: meta(h), connection, deps: h.deps() });
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    await room.grantConsent({ userId: h.users.bob, name: 'Bob' });
    const mark = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    h.sim.speak(h.users.carol, tone(3, 1000), { at: zero + 500 });
    const aliceWords = h.sim.speak(h.users.alice, tone(1, 440), { at: zero + 1000 });
    const bobWords = h.sim.speak(h.users.bob, tone(1, 660), { at: zero + 2500 });
    await h.sim.speakers.idle();
    // Carol's last packets went out with Bob's, on the same socket: in by the time his are.
    await roomHeard(h.sim, room, [h.users.alice, h.users.bob], mark);
    // Stopped once the last frame sent has ended on the room's clock: a frame that straddles the stop is kept
    // whole, so its track would run up to one frame past the others.
    const lastFrameEnd = Math.max(...h.sim.speakers.wire.map((w) => w.at)) + 20;
    await until(() => (room.elapsedMs() >= lastFrameEnd - zero ? true : undefined), 'the last frame sent to end on the room clock');
    const progress: string[] = [];
    const outcome = await room.stop('command', { onProgress: (p) => progress.push(p.phase) });

    expect(outcome.recording.state).toBe('ready');
    expect(outcome.liveMix).toMatchObject({ used: true });
    expect(progress).toEqual(expect.arrayContaining(['closing-tracks', 'mixing', 'writing-receipt', 'done']));
    const trackFiles = await readdir(h.store.layout.tracksDir(room.id));
    expect(trackFiles).toHaveLength(2);
    expect(trackFiles.some((f) => f.includes(h.users.carol))).toBe(false);
    const everything = await readdir(h.store.layout.recordingDir(room.id), { recursive: true });
    expect(everything.some((f) => String(f).includes(h.users.carol))).toBe(false);

    const alice = toMono((await trackOf(h, room, h.users.alice)).audio.pcm);
    const bob = toMono((await trackOf(h, room, h.users.bob)).audio.pcm);
    // First word within 20 ms of when it was said: scheduled, or as late as a starved stand-in sent it and the room got it.
    const aliceSaidS = (bot.heardAt(aliceWords.frames) - zero) / 1000;
    const bobSaidS = (bot.heardAt(bobWords.frames) - zero) / 1000;
    expectPlacedAsSent((firstOnset(alice) ?? -1) / RATE, 1.0, aliceSaidS, 'Alice');
    expectPlacedAsSent((firstOnset(bob) ?? -1) / RATE, 2.5, bobSaidS, 'Bob');
    // Every track runs to the same end.
    expect(Math.abs(alice.length - bob.length)).toBeLessThan(sec(0.01));

    const mixFile = h.store.layout.file(room.id, outcome.recording.mix?.file ?? 'missing');
    const mix = toMono((await decodeOggOpusFile(mixFile)).pcm);
    const carol = placed(toneMono(3, 1000), 0.5, mix.length);
    // Carol's tone sounds alone in 0.5–1.0 s and 3.5–3.5 s: every file is silent there, and nothing in any
    // file correlates with what she sent.
    for (const [name, signal] of [
      ['alice', alice],
      ['bob', bob],
      ['mix', mix],
    ] as const) {
      expect(rms(signal, sec(0.55), sec(0.95)), `${name} while only carol spoke`).toBeLessThan(1e-4);
      expect(Math.abs(correlation(signal, placed(toneMono(3, 1000), 0.5, signal.length), sec(0.5), sec(3.5))), name).toBeLessThan(0.05);
    }
    expect(correlation(mix, carol, sec(0.5), sec(3.5))).toBeLessThan(0.05);
    // Alice and Bob are in the mix where they spoke, as in their tracks (placed on the room's 2.5 ms grid).
    expect(correlation(mix, alice, sec(aliceSaidS + 0.05), sec(aliceSaidS + 0.95))).toBeGreaterThan(0.5);
    expect(correlation(mix, bob, sec(bobSaidS + 0.05), sec(bobSaidS + 0.95))).toBeGreaterThan(0.5);

    const receipt = await readFile(h.store.layout.receiptFile(room.id), 'utf8');
    expect(receipt).toContain('Alice');
    expect(receipt).toContain('Bob');
    expect(receipt).not.toContain(h.users.carol);

    const status = await room.status();
    expect(status.receive.malformed).toBe(0);
    // The UDP tap pairs (almost) every delivered frame with its RTP header.
    expect(status.receive.withRtp / status.receive.delivered).toBeGreaterThan(0.95);
    expect(outcome.timings.totalMs).toBeGreaterThan(0);
  });

  test('a withdrawal stops the track at once, leaves the speaker out of the mix, and a re-grant resumes the same file', async () => {
    const h = await harness();
    // The live mix advances every 500 ms here, so it has mixed Alice before she withdraws (and starts again).
    const deps = h.deps({ liveMix: { advanceEveryMs: 500, marginMs: 2000 } });
    const connection = h.connect();
    const bot = tapArrivals(connection);
    const room = await RoomRecorder.start({ meta: meta(h), connection, deps });
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    await room.grantConsent({ userId: h.users.bob, name: 'Bob' });
    const mark = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    const aliceTalks = h.sim.speak(h.users.alice, tone(3, 440), { at: zero + 500 });
    h.sim.speak(h.users.bob, tone(0.5, 660), { at: zero + 600 });
    // She withdraws 1.5 s into her words, once the room has everything the stand-in has sent it by then.
    const midWord = aliceTalks.frames[75];
    await until(() => (midWord?.arrivals.length ? true : undefined), "Alice's words up to 1.5 s on the wire");
    await roomHeard(h.sim, room, [h.users.alice, h.users.bob], mark);
    const withdrawnAtS = room.elapsedMs() / 1000;
    const withdrawal = room.withdrawConsent(h.users.alice);
    expect(room.recordingSpeakers().map((s) => s.userId)).toEqual([h.users.bob]);
    expect(await withdrawal).toBe(true);
    await h.sim.speakers.idle();

    const { audio } = await trackOf(h, room, h.users.alice);
    // Her track ends where she withdrew, with her tone right up to the last frame the room had taken in then. That
    // frame, not the withdrawal's time, is where her words stop: a stand-in whose timer fired late on a busy
    // machine had sent less by then than its schedule says (every frame up to 1.5 s into her words is in, though).
    expect(Math.abs(audio.samples / RATE - withdrawnAtS)).toBeLessThan(0.05);
    const heard = (await h.store.getRecording(room.id))?.speakers.find((s) => s.userId === h.users.alice)?.stats?.received ?? 0;
    expect(heard).toBeGreaterThanOrEqual(76);
    const heardUntilS = 0.5 + heard * 0.02;
    const alice = toMono(audio.pcm);
    expect(rms(alice, sec(heardUntilS - 0.3), sec(heardUntilS - 0.05))).toBeGreaterThan(0.05);

    // She opts in again: same file, the time she was out is silent, her new words land on time.
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    const regranted = await wireMark(h.sim, room);
    const back = zeroOf(h, room) + room.elapsedMs() + 500;
    const backWords = h.sim.speak(h.users.alice, tone(0.5, 440), { at: back });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice], regranted);
    await room.withdrawConsent(h.users.alice);
    // Each withdrawal restarts the live mix without her; the restart runs on the mix's own queue, after the
    // withdrawal has resolved (later still on a busy machine, where the live mix thread is slow to start).
    await room.liveMixIdle();
    expect((await room.status()).liveMix?.restarts).toBeGreaterThanOrEqual(2);
    const outcome = await room.stop('command');

    const again = await trackOf(h, room, h.users.alice);
    expect(room.recording.speakers.filter((s) => s.userId === h.users.alice)).toHaveLength(1);
    const resumed = toMono(again.audio.pcm);
    const backS = (back - zeroOf(h, room)) / 1000;
    expect(rms(resumed, sec(withdrawnAtS + 0.05), sec(backS - 0.05))).toBeLessThan(1e-4);
    // Her new words land where they were said: on time, or as late as a starved stand-in sent them and the room got them.
    const sentS = (bot.heardAt(backWords.frames) - zeroOf(h, room)) / 1000;
    expectPlacedAsSent((firstOnset(resumed, 0.01, sec(withdrawnAtS + 0.05)) ?? -1) / RATE, backS, sentS, 'her words after the re-grant');

    // Withdrawn at the end: not in the mix, which holds only Bob. Told apart by their tones, not by where each
    // should be: a stand-in starved of CPU sends (and the room places) Bob's half second later than scheduled.
    expect(outcome.liveMix).toMatchObject({ used: true });
    expect(outcome.recording.speakers.find((s) => s.userId === h.users.alice)?.includeInMix).toBe(false);
    const mix = toMono((await decodeOggOpusFile(h.store.layout.file(room.id, outcome.recording.mix?.file ?? 'x'))).pcm);
    const windows = Array.from({ length: Math.floor(mix.length / sec(0.05)) }, (_, i) => i * sec(0.05));
    const loudest = (hz: number) => Math.max(...windows.map((from) => toneAmplitude(mix, hz, from, from + sec(0.05))));
    expect(loudest(440), 'Alice anywhere in the mix').toBeLessThan(0.02);
    expect(loudest(660), 'Bob in the mix').toBeGreaterThan(0.1);
    const events = await h.store.consentEvents(room.id);
    expect(events.map((e) => `${e.name} ${e.event}`)).toEqual([
      'Alice granted',
      'Bob granted',
      'Alice withdrawn',
      'Alice granted',
      'Alice withdrawn',
    ]);
  });

  test('the voice receiver never holds a subscription for someone whose consent is not stored', async () => {
    const h = await harness();
    const connection = h.connect();
    const subscribed = () => [...connection.receiver.subscriptions.keys()];
    // Seen at each consent write: who the receiver was already listening to.
    const atConsentWrite: { userId: string; subscribed: string[] }[] = [];
    const store = {
      ...h.store,
      appendConsentEvent: (event: Parameters<Store['appendConsentEvent']>[0]) => {
        atConsentWrite.push({ userId: event.userId ?? '', subscribed: subscribed() });
        return h.store.appendConsentEvent(event);
      },
      updateRecording: (id: string, mutate: Parameters<Store['updateRecording']>[1]) => {
        atConsentWrite.push({ userId: '', subscribed: subscribed() });
        return h.store.updateRecording(id, mutate);
      },
    };
    const room = await RoomRecorder.start({ meta: meta(h), connection, deps: h.deps({ store }) });
    const everSubscribed = new Set<string>();
    const sampler = setInterval(() => subscribed().forEach((id) => everSubscribed.add(id)), 2);
    try {
      const zero = zeroOf(h, room);
      // Carol talks the whole time and never consents; Alice opts in while Carol is talking (0.4 s into it).
      const carolTalks = h.sim.speak(h.users.carol, tone(2, 1000), { at: zero + 200 });
      await until(() => (carolTalks.frames[20]?.arrivals.length ? true : undefined), "Carol's words on the wire");
      await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
      expect(subscribed()).toEqual([h.users.alice]);
      await h.sim.speakers.idle();
      await room.withdrawConsent(h.users.alice);
      expect(subscribed()).toEqual([]);
      // Bob withdraws while his consent is still being stored: he is never subscribed, and both are stored.
      const grant = room.grantConsent({ userId: h.users.bob, name: 'Bob' });
      const withdrawal = room.withdrawConsent(h.users.bob);
      await grant;
      expect(await withdrawal).toBe(true);
      expect(subscribed()).toEqual([]);
      expect(room.recording.speakers.find((s) => s.userId === h.users.bob)?.includeInMix).toBe(false);
    } finally {
      clearInterval(sampler);
    }
    await room.stop('command');
    expect(everSubscribed.has(h.users.carol)).toBe(false);
    expect(everSubscribed.has(h.users.bob)).toBe(false);
    // Alice's consent (the recording's speakers, then the consent event) was written before anyone listened to her.
    const beforeGrant = atConsentWrite.slice(0, 2);
    expect(beforeGrant.length).toBe(2);
    for (const write of beforeGrant) expect(write.subscribed).toEqual([]);
  });

  test('DELETE_WITHDRAWN_TRACKS removes a withdrawn speaker’s track', async () => {
    const h = await harness();
    const deps = h.deps({ config: { ...config, recording: { ...config.recording, deleteWithdrawnTracks: true } } });
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps });
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    h.sim.speak(h.users.alice, tone(0.5, 440));
    await h.sim.speakers.idle();
    await room.withdrawConsent(h.users.alice);
    const outcome = await room.stop('command');
    expect(existsSync(h.store.layout.tracksDir(room.id)) ? await readdir(h.store.layout.tracksDir(room.id)) : []).toEqual([]);
    expect(outcome.recording.state).toBe('ready');
    expect(outcome.recording.mix).toBeUndefined();
  });

  test('malformed and undecryptable packets are counted and never end a speaker’s recording', async () => {
    const h = await harness();
    const connection = h.connect();
    const bot = tapArrivals(connection);
    const room = await RoomRecorder.start({ meta: meta(h), connection, deps: h.deps() });
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    const mark = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    h.sim.speak(h.users.alice, tone(2, 440), { at: zero + 300, faults: { malformed: 0.05, undecryptable: 0.05, seed: 7 } });
    const lastWords = h.sim.speak(h.users.alice, tone(0.5, 440), { at: zero + 3000, faults: {} });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice], mark);
    const status = await room.status();
    const outcome = await room.stop('command');
    const damaged = h.sim.speakers.framesOf(h.users.alice).filter((f) => f.fate === 'malformed' || f.fate === 'undecryptable');
    expect(damaged.length).toBeGreaterThan(0);
    expect(status.receive.malformed).toBe(damaged.length);
    expect(status.receive.resubscribes).toBe(damaged.length);
    expect(outcome.recording.state).toBe('ready');

    const alice = toMono((await trackOf(h, room, h.users.alice)).audio.pcm);
    // Audio after every damaged packet is there: the last second of the first utterance, and the later one on time.
    expect(rms(alice, sec(1.4), sec(2.2))).toBeGreaterThan(0.05);
    expectPlacedAsSent(
      (firstOnset(alice, 0.01, sec(2.5)) ?? -1) / RATE,
      3.0,
      (bot.heardAt(lastWords.frames) - zero) / 1000,
      'the later words',
    );
  });

  test.each([
    ['session invalidated (rejoin through the gateway, new UDP socket, new DAVE group)', 4006, true],
    ['socket dropped (resume, same DAVE group)', 'drop' as const, true],
    ['session invalidated, DAVE off', 4006, false],
  ])('a forced voice disconnect — %s — is rejoined; the gap is silent and later audio aligned', async (_name, how, dave) => {
    const h = await harness({ dave });
    const connection = h.connect();
    const bot = tapArrivals(connection);
    const room = await RoomRecorder.start({ meta: meta(h), connection, deps: h.deps() });
    const changes: VoiceChange['status'][] = [];
    room.on('voice', (c) => changes.push(c.status));
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    const first = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    const firstWords = h.sim.speak(h.users.alice, tone(0.5, 440), { at: zero + 300 });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice], first);
    const before = (await room.status()).receive;
    const reconnected = new Promise<void>((resolve) =>
      room.on('voice', (c) => {
        if (c.status === 'reconnected') resolve();
      }),
    );
    h.sim.disconnectBotVoice(how);
    await reconnected;
    // After a rejoin the bot is a new member of the call's group: heard again once it is in, which is when its
    // voice privacy code is the group's (a resume stays in the group, and keeps the code).
    await h.sim.dave.settled();
    const group = h.sim.dave.group();
    if (group)
      await until(
        () => (room.e2ee()?.privacyCode === group.privacyCode() ? true : undefined),
        "the bot's voice privacy code to be the group's",
      );
    const later = await wireMark(h.sim, room);
    const laterS = Math.ceil(room.elapsedMs() / 1000) + 1;
    const laterWords = h.sim.speak(h.users.alice, tone(0.5, 440), { at: zero + laterS * 1000 });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice], later);
    const after = (await room.status()).receive;
    const outcome = await room.stop('command');

    expect(changes, 'voice changes').toContain('reconnected');
    expect(outcome.recording.state).toBe('ready');
    // Frames after the reconnect were still paired with their RTP headers (the tap followed the new socket).
    expect(after.withRtp - before.withRtp, `paired after the reconnect (${JSON.stringify({ before, after })})`).toBeGreaterThan(20);
    const alice = toMono((await trackOf(h, room, h.users.alice)).audio.pcm);
    const firstSaidS = (bot.heardAt(firstWords.frames) - zero) / 1000;
    expectPlacedAsSent((firstOnset(alice) ?? -1) / RATE, 0.3, firstSaidS, 'first words');
    expect(rms(alice, sec(firstSaidS + 0.6), sec(laterS - 0.05)), 'the gap').toBeLessThan(1e-4);
    const laterSaidS = (bot.heardAt(laterWords.frames) - zero) / 1000;
    expectPlacedAsSent((firstOnset(alice, 0.01, sec(firstSaidS + 0.6)) ?? -1) / RATE, laterS, laterSaidS, 'words after the reconnect');
    if (!dave) expect(outcome.recording.e2ee).toBeNull();
    // A rejoin makes a new DAVE session, so a new group epoch and privacy code; a resume keeps both.
    else expect(outcome.recording.e2ee?.privacyCodes.length, 'privacy codes seen').toBe(how === 4006 ? 2 : 1);
  });

  test('integrity figures per speaker: loss by RTP sequence (a pause is none), duplicates, silence; a withdrawn speaker’s kept', async () => {
    // A plain room, so that what the network does is all there is to count (DAVE refuses replayed frames itself).
    const h = await harness({ dave: false });
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps: h.deps() });
    expect(room.recording.e2ee).toBeNull();
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });
    await room.grantConsent({ userId: h.users.bob, name: 'Bob' });
    const mark = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    // Two utterances a second apart: the client numbers on across the pause, so only the lost frames are gaps.
    h.sim.speak(h.users.alice, tone(2, 440), { at: zero + 300, faults: { loss: 0.1, duplicate: 0.1, seed: 5 } });
    h.sim.speak(h.users.alice, tone(1, 440), { at: zero + 3300, faults: {} });
    h.sim.speak(h.users.bob, tone(1, 660), { at: zero + 500, faults: {} });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice, h.users.bob], mark);
    await room.withdrawConsent(h.users.bob);
    // Stopped once every frame she sent is written: a stop while her last frame is still arriving would leave
    // that frame out (a frame past the stop is not written), and the sum below is of the frames written.
    await until(async () => {
      const track = (await room.status()).speakers.find((s) => s.userId === h.users.alice)?.track;
      return track && track.written === track.received - track.dropped.duplicate ? true : undefined;
    }, 'every frame of hers written');
    const bobAtWithdrawal = (await h.store.getRecording(room.id))?.speakers.find((s) => s.userId === h.users.bob)?.stats;
    expect(bobAtWithdrawal).toMatchObject({ received: h.sim.speakers.framesOf(h.users.bob).length, lost: 0, duplicate: 0 });
    const outcome = await room.stop('command');

    const frames = h.sim.speakers.framesOf(h.users.alice);
    const arrived = frames.map((f) => f.arrivals.length > 0);
    // A loss shows as a gap only between two frames that arrived.
    const visibleLoss = frames.filter((f, i) => !arrived[i] && arrived.slice(0, i).includes(true) && arrived.slice(i + 1).includes(true));
    const arrivals = frames.reduce((n, f) => n + f.arrivals.length, 0);
    expect(visibleLoss.length).toBeGreaterThan(3);
    const alice = outcome.recording.speakers.find((s) => s.userId === h.users.alice)?.stats;
    expect(alice).toMatchObject({
      received: arrivals,
      lost: visibleLoss.length,
      duplicate: arrivals - arrived.filter(Boolean).length,
      late: 0,
      undecryptable: 0,
    });
    // Silence and the frames written make up the whole track.
    const { audio } = await trackOf(h, room, h.users.alice);
    const written = (alice?.received ?? 0) - (alice?.duplicate ?? 0);
    expect(Math.abs((alice?.silenceFilledSeconds ?? 0) + written * 0.02 - audio.samples / RATE)).toBeLessThan(0.02);
    // Bob's figures are his up to the withdrawal, unchanged by the stop.
    expect(outcome.recording.speakers.find((s) => s.userId === h.users.bob)?.stats).toEqual(bobAtWithdrawal);
    expect((await room.status()).speakers.find((s) => s.userId === h.users.alice)?.stats).toEqual(alice);
  });

  test('an end-to-end encrypted room: the voice privacy code is stored, and each group transition counted with its new code', async () => {
    const h = await harness();
    const group = h.sim.dave.group();
    if (!group) throw new Error('the stand-in should speak DAVE by default');
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps: h.deps() });
    const first = group.privacyCode();
    expect(first).toMatch(/^\d{30}$/);
    expect(room.recording.e2ee).toEqual({ protocol: 'dave', version: 1, privacyCode: first, privacyCodes: [first], transitions: 0 });
    await room.grantConsent({ userId: h.users.alice, name: 'Alice' });

    // Carol leaves: the group changes, and so does the code every client shows.
    h.sim.leaveVoice(h.users.carol);
    await group.settled();
    await until(
      () => (room.e2ee()?.privacyCode === group.privacyCode() ? true : undefined),
      "the bot's voice privacy code to be the group's new one",
      5000,
    );
    const second = group.privacyCode();
    expect(second).not.toBe(first);
    const e2ee = (await room.status()).e2ee;
    expect(e2ee).toMatchObject({ protocol: 'dave', version: 1, privacyCode: second, privacyCodes: [first, second] });
    expect(e2ee?.transitions).toBeGreaterThanOrEqual(1);

    const mark = await wireMark(h.sim, room);
    const zero = zeroOf(h, room);
    h.sim.speak(h.users.alice, tone(1, 440), { at: zero + room.elapsedMs() + 300 });
    await h.sim.speakers.idle();
    await roomHeard(h.sim, room, [h.users.alice], mark);
    const outcome = await room.stop('command');
    expect(outcome.recording.e2ee).toEqual(e2ee);
    const alice = outcome.recording.speakers[0]?.stats;
    expect(alice?.received).toBe(h.sim.speakers.framesOf(h.users.alice).length);
    expect(alice?.lost).toBe(0);
    const receipt = await readFile(h.store.layout.receiptFile(room.id), 'utf8');
    expect(receipt).toContain('Yes, Discord DAVE v1, for the whole recording.');
    expect(receipt).toContain(second.replace(/(\d{5})(?=\d)/g, '$1 '));
  });

  test('the bot cannot join the encryption group: start creates nothing; resume leaves the recording to finish', async () => {
    // The members in the call never commit the bot's addition, so it never gets the group's keys.
    const h = await harness({ dave: { simCommitDelayMs: 60_000, commitTimeoutMs: 60_000 } });
    const deps = h.deps({ readyTimeoutMs: 1500 });
    await expect(RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps })).rejects.toBeInstanceOf(E2eeJoinError);
    expect(await h.store.listRecordings()).toEqual([]);

    // A recording the bot was running before a restart: it stays 'recording', so it can be finished from disk.
    const stored = await h.store.createRecording({ ...meta(h), startedAt: Date.now() - 5000, e2ee: null });
    await expect(RoomRecorder.resume({ recording: stored, consenting: new Set(), connection: h.connect(), deps })).rejects.toBeInstanceOf(
      E2eeJoinError,
    );
    expect((await h.store.getRecording(stored.id))?.state).toBe('recording');
    const finished = await finishInterrupted(stored, deps);
    expect(finished.recording.state).toBe('ready');
  });

  test('a bot shut out of the encryption group after a rejoin stops the room with that reason instead of recording silence', async () => {
    const h = await harness();
    // The first join gets the usual time (on a loaded machine it can take seconds); only being kept out of the group
    // after the rejoin is timed short, and the room reads the limit when it judges that.
    const deps = h.deps({ tickMs: 50 });
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps });
    deps.readyTimeoutMs = 1500;
    room.setHumansInRoom(2);
    const stopped = new Promise<string>((resolve) => room.on('autoStop', resolve));
    // The members stop letting anyone in, then the bot's voice session is invalidated: it rejoins voice, but not the group.
    const group = h.sim.dave.group();
    if (!group) throw new Error('DAVE is on by default');
    group.faults.simsWithholdCommits = true;
    h.sim.disconnectBotVoice(4006);
    expect(await stopped).toBe('e2ee-lost');
    expect(room.e2ee()?.privacyCodes).toHaveLength(1);
    const outcome = await room.stop('e2ee-lost');
    expect(outcome.recording.stopReason).toBe('e2ee-lost');
  });

  test('a rejoin refused with 4017 (Discord now requires a DAVE version the bot lacks) stops the room for that reason, without a retry loop', async () => {
    const h = await harness();
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps: h.deps() });
    const stopped = new Promise<string>((resolve) => room.on('autoStop', resolve));
    h.sim.dave.requireVersion(2);
    h.sim.disconnectBotVoice(4006);
    expect(await stopped).toBe('e2ee-lost');
    expect(h.sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'dave-required')).toHaveLength(1);
    const outcome = await room.stop('e2ee-lost');
    expect(outcome.recording.state).toBe('ready');
  });

  test('auto-stop: an empty room after EMPTY_ROOM_MINUTES, and MAX_RECORDING_HOURS, on the injected clock', async () => {
    const h = await harness();
    const clock = new ManualClock(1_000_000);
    /**
     * The room's view of the clock, counting its reads. Nobody talks here, so what reads it is the room's tick,
     * which checks the auto-stop rules against the time it just read: two reads after the clock moved mean the
     * rules have been checked at the new time, whether or not they fired.
     */
    const watched = () => {
      let reads = 0;
      return {
        clock: { now: () => (reads++, clock.now()) },
        ticks: () => {
          const seen = reads;
          return until(() => (reads >= seen + 2 ? true : undefined), 'the room to tick on the moved clock');
        },
      };
    };
    const first = watched();
    const room = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps: h.deps({ clock: first.clock, tickMs: 10 }) });
    const reasons: string[] = [];
    room.on('autoStop', (r) => reasons.push(r));
    const ticks = first.ticks;

    room.setHumansInRoom(0);
    clock.advance(4 * 60_000);
    await ticks();
    room.setHumansInRoom(2); // someone came back: the empty-room timer starts over
    clock.advance(2 * 60_000);
    room.setHumansInRoom(0);
    clock.advance(4 * 60_000 + 59_000);
    await ticks();
    expect(reasons).toEqual([]);
    clock.advance(1_000);
    await ticks();
    expect(reasons).toEqual(['empty-room']);
    clock.advance(5 * 3_600_000);
    await ticks();
    expect(reasons).toEqual(['empty-room']); // once per room: the bot is already stopping it
    const outcome = await room.stop('empty-room');
    expect(outcome.recording).toMatchObject({ state: 'ready', stopReason: 'empty-room' });
    expect(outcome.recording.stoppedAt! - outcome.recording.startedAt).toBe(room.elapsedMs());

    const second = watched();
    const capped = await RoomRecorder.start({ meta: meta(h), connection: h.connect(), deps: h.deps({ clock: second.clock, tickMs: 10 }) });
    const capReasons: string[] = [];
    capped.on('autoStop', (r) => capReasons.push(r));
    capped.setHumansInRoom(3);
    clock.advance(config.recording.maxHours * 3_600_000 - 1);
    await second.ticks();
    expect(capReasons).toEqual([]);
    clock.advance(1);
    await second.ticks();
    expect(capReasons).toEqual(['max-duration']);
    await capped.stop('max-duration');
  });
});
