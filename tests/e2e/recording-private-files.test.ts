// Files a real recording leaves are private whatever the umask: a room recorded against the stand-in by the real
// recorder, store, track writer, live mix and mixer, under a umask that takes nothing off (what a careless
// service manager can hand a process), leaves every folder 0700 and every file 0600, while it records and after.
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GatewayIntentBits } from 'discord.js';
import { afterEach, expect, test } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { monotonicClock } from '../../src/recording/clock.ts';
import { RoomRecorder, type RoomDeps } from '../../src/recording/room-recorder.ts';
import { openStore } from '../../src/storage/store.ts';
import { connectVoice, loginClient, speechFromPcm, startDiscordSim, tonePcm } from '../../discord-sim/index.ts';
import { roomHeard, wireMark } from '../helpers/room-heard.ts';
import { until } from '../helpers/until.ts';

const config: RoomDeps['config'] = {
  recording: { maxHours: 4, emptyRoomMinutes: 5, deleteWithdrawnTracks: false },
  // Not Ogg, so the mix goes through the other file writer than the tracks do.
  mix: { format: 'wav', levelling: false },
  retention: { days: 30, cron: '0 * * * *' },
};

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

/** Every entry under `root` (itself included), by path relative to it, with its permission bits. */
async function modes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = { '.': ((await lstat(root)).mode & 0o777).toString(8) };
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    out[path.relative(root, full)] = ((await lstat(full)).mode & 0o777).toString(8);
  }
  return out;
}

/** What `modes` should say: folders 700, files 600. */
function privateModes(entries: Record<string, string>, folders: (name: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.keys(entries).map((name) => [name, folders(name) ? '700' : '600']));
}

test('under umask 000 a recording, its metadata and the log are 0700 folders and 0600 files, while recording and after', async () => {
  const sim = await startDiscordSim({ users: [{ username: 'alice' }] });
  cleanup.push(() => sim.close());
  const alice = sim.userByName('alice').id;
  sim.joinVoice(alice);
  const client = await loginClient(sim, { intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates] });
  cleanup.push(() => client.destroy());
  const parent = await mkdtemp(path.join(tmpdir(), 'roomrec-private-'));
  cleanup.push(() => rm(parent, { recursive: true, force: true }));

  const umask = process.umask(0);
  cleanup.push(async () => process.umask(umask));
  // Neither exists yet: the store creates the data folder, the logger the log's.
  const dataDir = path.join(parent, 'data');
  const logFile = path.join(parent, 'logs', 'roomrec.log');
  const log = createLogger({ level: 'info', name: 'roomrec', file: logFile });
  const store = await openStore({ dataDir, log });
  cleanup.push(() => store.close());
  const connection = connectVoice(client, sim);
  cleanup.push(async () => {
    if (connection.state.status !== 'destroyed') connection.destroy();
  });
  const room = await RoomRecorder.start({
    meta: { guildId: sim.guildId, channelId: sim.voiceChannelId, textChannelId: sim.textChannelId, hostId: alice, hostName: 'alice' },
    connection,
    deps: { store, clock: monotonicClock, log, config, liveMix: { advanceEveryMs: 100, marginMs: 200 } },
  });
  await room.grantConsent({ userId: alice, name: 'Alice' });
  const mark = await wireMark(sim, room);
  sim.speak(alice, speechFromPcm(tonePcm({ seconds: 1, frequency: 440, amplitude: 0.4 })), { at: sim.clock() + 200 });
  await sim.speakers.idle();
  await roomHeard(sim, room, [alice], mark);

  // While recording: the track and the live mix's partial output are being written.
  const recordingDir = path.relative(dataDir, store.layout.recordingDir(room.id));
  const tracksDir = path.relative(dataDir, store.layout.tracksDir(room.id));
  const isFolder = (name: string) => ['.', 'recordings', recordingDir, tracksDir].includes(name);
  const during = await until(async () => {
    const now = await modes(dataDir);
    return Object.keys(now).some((name) => name.includes('live-partial')) ? now : undefined;
  }, 'the live mix writing its partial output');
  expect(Object.keys(during)).toEqual(expect.arrayContaining(['roomrec.sqlite', path.join(recordingDir, 'meta.json')]));
  // The track, and its journal of held packets if placement still holds Alice's first words (held-journal.ts).
  const tracks = Object.keys(during).filter((name) => name.startsWith(`${tracksDir}/`));
  expect(tracks.filter((name) => !name.endsWith('.ogg.held'))).toHaveLength(1);
  expect(during).toEqual(privateModes(during, isFolder));

  const outcome = await room.stop('command');
  expect(outcome.recording.state).toBe('ready');
  const after = await modes(dataDir);
  expect(Object.keys(after)).toEqual(
    expect.arrayContaining([
      path.join(recordingDir, 'mix.wav'),
      path.join(recordingDir, 'receipt.txt'),
      path.join(recordingDir, 'meta.json'),
    ]),
  );
  expect(after).toEqual(privateModes(after, isFolder));
  expect(await modes(path.dirname(logFile))).toEqual({ '.': '700', 'roomrec.log': '600' });
});
