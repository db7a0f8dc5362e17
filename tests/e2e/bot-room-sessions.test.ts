// The registry of live rooms and each room's lifecycle, through the real bot and the stand-in: one session per
// guild from the first moment of a start, a stop that is joined rather than repeated, and a room that hears no
// consent once it is stopping. Each test starts its own room.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import type { StopReport } from '../../src/bot/rooms.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let host = '';
let guest = '';
const reports: StopReport[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-sessions-'));
  env = await startBotInSim({
    dataDir: dir,
    log: silentLogger(),
    sim: {
      users: [
        { username: 'host', globalName: 'Host' },
        { username: 'guest', globalName: 'Guest' },
      ],
    },
  });
  host = env.sim.userByName('host').id;
  guest = env.sim.userByName('guest').id;
  env.bot.rooms.onStopped((report) => reports.push(report));
  await joinAndSeen(env, host);
  await joinAndSeen(env, guest);
}, 60_000);

afterEach(async () => {
  // Whatever a test left running is stopped, so the next one starts in an empty guild.
  if (env.bot.rooms.current(env.sim.guildId)) await env.bot.rooms.stop(env.sim.guildId, host);
  reports.length = 0;
});

afterAll(() => closeBotInSim(env, dir));

/** Starts a room and waits until the host is recorded. */
async function recordingRoom(): Promise<string> {
  const started = env.bot.rooms.start({ guildId: env.sim.guildId, channelId: env.sim.voiceChannelId, hostId: host, hostName: 'Host' });
  const room = await started;
  env.sim.reactToConsent(host);
  await until(() => (env.bot.rooms.current(env.sim.guildId)?.recording.includes('Host') ? true : undefined), 'the host to be recorded');
  return room.recordingId;
}

test('two starts at the same moment: one room; the other is told one is already starting', async () => {
  const first = env.sim.slash(host, 'record start');
  const second = env.sim.slash(guest, 'record start');
  const [a, b] = await until(() => {
    const answers = [answersTo(env.sim, first).at(-1), answersTo(env.sim, second).at(-1)];
    return answers.every((x) => x !== undefined) ? answers : undefined;
  }, 'both starts answered');
  const refusals = [a, b].filter((text) => /already starting or running/.test(text ?? ''));
  expect(refusals).toHaveLength(1);
  expect(await env.bot.store.listRecordings({ state: ['recording'] })).toHaveLength(1);
  expect(env.bot.rooms.current(env.sim.guildId)).toBeDefined();
});

test('a second stop joins the first: one stop, one link DM; afterwards the guild has no room and the recording is not live', async () => {
  const recordingId = await recordingRoom();
  const dmsBefore = env.sim.dmsTo(host).length;
  await Promise.all([env.bot.rooms.stop(env.sim.guildId, host), env.bot.rooms.stop(env.sim.guildId, guest)]);
  expect(reports.map((r) => r.recordingId)).toEqual([recordingId]);
  expect(
    env.sim
      .dmsTo(host)
      .slice(dmsBefore)
      .filter((m) => /\/r\//.test(m.content)),
  ).toHaveLength(1);
  expect(env.bot.rooms.current(env.sim.guildId)).toBeUndefined();
  expect(env.bot.rooms.stopping(env.sim.guildId)).toBeUndefined();
  expect(env.bot.rooms.isLive(recordingId)).toBe(false);
  await expect(env.bot.rooms.stop(env.sim.guildId, host)).rejects.toThrow(/Nothing is being recorded/);
});

test('once a room is stopping, a ✅ is not consent: nobody is added to a recording that is ending', async () => {
  const recordingId = await recordingRoom();
  // The stop takes effect at once (the room is stopping before the reaction below is even sent).
  const stopped = env.bot.rooms.stop(env.sim.guildId, host);
  expect(env.bot.rooms.current(env.sim.guildId)).toBeUndefined();
  expect(env.bot.rooms.stopping(env.sim.guildId)?.recordingId).toBe(recordingId);
  env.sim.reactToConsent(guest);
  await stopped;
  const recording = await env.bot.store.getRecording(recordingId);
  expect(recording?.state).toBe('ready');
  expect(recording?.speakers.map((s) => s.userId)).toEqual([host]);
  expect((await env.bot.store.consentEvents(recordingId)).map((e) => e.userId)).toEqual([host]);
});
