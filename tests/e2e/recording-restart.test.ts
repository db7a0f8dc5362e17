// A bot that dies mid-room and comes back: the room runs in a child process that is killed with SIGKILL, without
// any chance to close its tracks or its store (a crash); a fresh client then resumes the recording from the
// store. (A worker thread terminated while SQLite had a write in flight aborted the whole test process: the
// native addon cannot throw into a thread being torn down, so the crash is a real process's.) The time the bot was away must be silence and later words on time.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import tls from 'node:tls';
import { GatewayIntentBits } from 'discord.js';
import { afterEach, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { monotonicClock } from '../../src/recording/clock.ts';
import { finishInterrupted, RoomRecorder, type RoomDeps } from '../../src/recording/room-recorder.ts';
import { openStore } from '../../src/storage/store.ts';
import { connectVoice, loginClient, speechFromPcm, startDiscordSim, tonePcm } from '../../discord-sim/index.ts';
import { decodeOggOpusFile, firstOnset, RATE, rms, sec, toMono } from '../helpers/audio.ts';
import { roomHeard, wireMark } from '../helpers/room-heard.ts';
import { recordingOnDisk, untilOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';

const root = path.resolve(import.meta.dirname, '../..');
const config: RoomDeps['config'] = {
  recording: { maxHours: 4, emptyRoomMinutes: 5, deleteWithdrawnTracks: false },
  mix: { format: 'ogg', levelling: false },
  retention: { days: 30, cron: '0 * * * *' },
};

// The first bot process: joins, starts the room, records Alice, reports the recording, then is killed.
const FIRST_BOT = `
const parentPort = { postMessage: (m) => process.send(m) };
process.once('message', (workerData) => (async () => {
  const tls = require('node:tls');
  tls.setDefaultCACertificates(workerData.cas);
  const { createRequire } = require('node:module');
  const req = createRequire(workerData.root + '/package.json');
  const url = (p) => require('node:url').pathToFileURL(workerData.root + '/' + p).href;
  const { Client, Events, GatewayIntentBits } = req('discord.js');
  const { joinVoiceChannel } = req('@discordjs/voice');
  const { openStore } = await import(url('src/storage/store.ts'));
  const { silentLogger } = await import(url('src/log.ts'));
  const { monotonicClock } = await import(url('src/recording/clock.ts'));
  const { RoomRecorder } = await import(url('src/recording/room-recorder.ts'));
  const client = new Client({ rest: { api: workerData.restUrl }, intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] });
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(workerData.token);
  await ready;
  const guild = client.guilds.cache.get(workerData.guildId);
  const connection = joinVoiceChannel({ channelId: workerData.channelId, guildId: workerData.guildId,
    adapterCreator: guild.voiceAdapterCreator, selfDeaf: false });
  const store = await openStore({ dataDir: workerData.dataDir, log: silentLogger() });
  const room = await RoomRecorder.start({
    meta: { guildId: workerData.guildId, channelId: workerData.channelId, textChannelId: workerData.textChannelId,
            hostId: workerData.alice, hostName: 'alice' },
    connection, deps: { store, clock: monotonicClock, log: silentLogger(), config: workerData.config, statsCheckpointMs: 300 } });
  await room.grantConsent({ userId: workerData.alice, name: 'Alice' });
  parentPort.postMessage({ id: room.id, startedAt: room.startedAt });
})().catch((error) => parentPort.postMessage({ error: String(error && error.stack || error) })));
`;

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/**
 * A room recorded by a first bot process that records Alice (consent given), once her words at 0.5 s are in its
 * pages on disk (written at least once a second); the test kills it.
 */
async function firstBot(prefix: string) {
  const sim = await startDiscordSim({ users: [{ username: 'alice' }] });
  cleanup.push(() => sim.close());
  const alice = sim.userByName('alice').id;
  sim.joinVoice(alice);
  const dataDir = await mkdtemp(path.join(tmpdir(), prefix));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const scriptDir = await mkdtemp(path.join(tmpdir(), 'roomrec-restart-bot-'));
  cleanup.push(() => rm(scriptDir, { recursive: true, force: true }));
  const script = path.join(scriptDir, 'first-bot.cjs');
  await writeFile(script, FIRST_BOT);
  const bot = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  bot.send({
    root,
    cas: tls.getCACertificates('default'),
    restUrl: sim.clientOptions.rest.api,
    token: sim.token,
    guildId: sim.guildId,
    channelId: sim.voiceChannelId,
    textChannelId: sim.textChannelId,
    alice,
    dataDir,
    config,
  });
  const exited = once(bot, 'exit');
  /** The crash: SIGKILL, nothing closed. */
  const kill = async (): Promise<void> => {
    bot.kill('SIGKILL');
    await exited;
  };
  cleanup.push(kill);
  const first = await new Promise<{ id: string; startedAt: number }>((resolve, reject) => {
    bot.once('message', (m: { id: string; startedAt: number } | { error: string }) =>
      'error' in m ? reject(new Error(m.error)) : resolve(m),
    );
    bot.once('exit', (code) => reject(new Error(`the first bot exited (${code}) before reporting its recording`)));
  });
  /** sim-clock ms of recording time `ms`, from the wall-clock anchor both bots share */
  const simAt = (ms: number) => sim.clock() - (Date.now() - first.startedAt) + ms;
  sim.speak(alice, tone(1), { at: simAt(500) });
  await sim.speakers.idle();
  const onDisk = await recordingOnDisk(dataDir);
  await untilOnDisk(await onDisk.trackOf(alice), 1.5, "the first bot's pages of her words");
  return { sim, alice, dataDir, kill, first, simAt, onDisk };
}

const tone = (s: number) => speechFromPcm(tonePcm({ seconds: s, frequency: 440, amplitude: 0.4 }));

test('after a crash the recording resumes on the same time base: downtime silent, later words on time', async () => {
  const { sim, alice, dataDir, kill, first, simAt, onDisk } = await firstBot('roomrec-restart-');
  // Kill it mid-room once its stats checkpoint (every 300 ms here) counts every frame of her words too: it is
  // in its folder, meta.json mirroring the store.
  const sentBefore = sim.speakers.framesOf(alice).length;
  await until(async () => {
    const received = (await onDisk.meta())?.speakers.find((s) => s.userId === alice)?.stats?.received ?? 0;
    return received >= sentBefore ? true : undefined;
  }, 'her frames counted in the stored stats');
  await kill();
  const downFromMs = Date.now() - first.startedAt;

  // The second bot process.
  const store = await openStore({ dataDir, log: silentLogger() });
  cleanup.push(() => store.close());
  const stored = await store.getRecording(first.id);
  expect(stored?.state).toBe('recording');
  const client = await loginClient(sim, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] });
  cleanup.push(() => client.destroy());
  if (!stored) throw new Error('setup');
  const connection = connectVoice(client, sim);
  const room = await RoomRecorder.resume({
    recording: stored,
    consenting: new Set([alice]),
    connection,
    deps: { store, clock: monotonicClock, log: silentLogger(), config },
  });
  expect(room.recordingSpeakers().map((s) => s.userId)).toEqual([alice]);
  const mark = await wireMark(sim, room);
  const laterS = Math.ceil(room.elapsedMs() / 1000) + 1;
  sim.speak(alice, tone(0.5), { at: simAt(laterS * 1000) });
  await sim.speakers.idle();
  await roomHeard(sim, room, [alice], mark);
  const outcome = await room.stop('command');

  expect(outcome.recording.state).toBe('ready');
  expect(await readdir(store.layout.tracksDir(first.id))).toHaveLength(1);
  const file = store.layout.file(first.id, outcome.recording.speakers[0]?.trackFile ?? '');
  const track = toMono((await decodeOggOpusFile(file)).pcm);
  expect(Math.abs((firstOnset(track) ?? -1) / RATE - 0.5)).toBeLessThan(0.02);
  expect(rms(track, sec(0.6), sec(1.4))).toBeGreaterThan(0.05);
  // From the end of her first words, through the crash and the downtime, to her next words: silence.
  expect(downFromMs / 1000).toBeLessThan(laterS);
  expect(rms(track, sec(1.6), sec(laterS - 0.05))).toBeLessThan(1e-4);
  expect(Math.abs((firstOnset(track, 0.01, sec(1.6)) ?? -1) / RATE - laterS)).toBeLessThan(0.02);
  const mix = toMono((await decodeOggOpusFile(store.layout.file(first.id, outcome.recording.mix?.file ?? 'x'))).pcm);
  expect(Math.abs((firstOnset(mix, 0.01, sec(1.6)) ?? -1) / RATE - laterS)).toBeLessThan(0.02);
  // Her integrity figures count on across the crash: what the first bot stored, plus what the second one heard.
  expect(outcome.recording.speakers[0]?.stats).toMatchObject({ received: sim.speakers.framesOf(alice).length, lost: 0 });
  if (sim.dave.enabled) {
    // The second bot joined the encryption group anew: its privacy code is added to the first one's.
    const e2ee = outcome.recording.e2ee;
    expect(e2ee?.privacyCodes.length).toBeGreaterThanOrEqual(2);
    expect(e2ee?.privacyCode).toBe(e2ee?.privacyCodes.at(-1));
  }
});

test('a room the bot died in and did not rejoin is finished at its last sign of life, however late the restart', async () => {
  const { dataDir, kill, first, onDisk } = await firstBot('roomrec-finish-late-');
  // The room runs on, quiet, for a while: the first bot's heartbeat (every 300 ms here) says it was alive then.
  const heardUntil = await until(async () => {
    const aliveAt = (await onDisk.meta())?.aliveAt ?? 0;
    return aliveAt - first.startedAt >= 3000 ? aliveAt : undefined;
  }, 'a heartbeat 3 s into the room');
  await kill();
  const killedAt = Date.now();

  // The next process comes back seven hours later and cannot rejoin: it finishes the recording from disk.
  const store = await openStore({ dataDir, log: silentLogger() });
  cleanup.push(() => store.close());
  const stored = await store.getRecording(first.id);
  if (!stored) throw new Error('setup');
  // A heartbeat being written at the kill may be lost (SIGKILL between meta.json and the database): the store
  // has the previous one, at most one heartbeat (300 ms) older than what was seen on disk.
  const storedAlive = stored.aliveAt ?? NaN;
  expect(storedAlive).toBeGreaterThanOrEqual(heardUntil - 1000);
  const outcome = await finishInterrupted(stored, {
    store,
    clock: monotonicClock,
    log: silentLogger(),
    config,
    wallNow: () => killedAt + 7 * 3_600_000,
  });

  expect(outcome.recording.state).toBe('ready');
  const stoppedAt = outcome.recording.stoppedAt ?? NaN;
  expect(stoppedAt).toBeGreaterThanOrEqual(storedAlive);
  expect(stoppedAt).toBeLessThanOrEqual(killedAt);
  // Track and mix last as long as the room did, with her words where she said them.
  const length = ((stoppedAt - first.startedAt) / 1000) * RATE;
  const track = await decodeOggOpusFile(store.layout.file(first.id, outcome.recording.speakers[0]?.trackFile ?? ''));
  expect(Math.abs(track.samples - length)).toBeLessThanOrEqual(120);
  const mixed = await decodeOggOpusFile(store.layout.file(first.id, outcome.recording.mix?.file ?? 'x'));
  expect(Math.abs(mixed.samples - length)).toBeLessThanOrEqual(120);
  const mix = toMono(mixed.pcm);
  expect(Math.abs((firstOnset(mix) ?? -1) / RATE - 0.5)).toBeLessThan(0.02);
  expect(rms(mix, sec(1.6), mix.length)).toBeLessThan(1e-4);
});
