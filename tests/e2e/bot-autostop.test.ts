// A room left empty stops by itself and the host is told why, with the link. EMPTY_ROOM_MINUTES is set to
// 3 seconds here so the test does not wait minutes.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-autostop-'));
  env = await startBotInSim({
    dataDir: dir,
    log: silentLogger(),
    env: { EMPTY_ROOM_MINUTES: '0.05' },
    sim: { users: [{ username: 'host', globalName: 'Host' }] },
  });
}, 60_000);

afterAll(() => closeBotInSim(env, dir));

test('an empty room stops by itself; the host gets the link and the reason', async () => {
  const { sim, bot } = env;
  const host = sim.userByName('host').id;
  await joinAndSeen(env, host);
  sim.slash(host, 'record start');
  await until(() => sim.consentMessage() ?? undefined, 'the consent message');
  sim.reactToConsent(host);
  await until(() => (bot.rooms.current(sim.guildId)?.recording.length ? true : undefined), 'the host to be recorded');
  const leftAt = performance.now();
  sim.leaveVoice(host);

  const dm = await until(() => sim.dmsTo(host).at(-1)?.content, 'the link DM', 30_000);
  const afterMs = performance.now() - leftAt;
  expect(dm).toMatch(/stopped by itself: nobody was in the room for 0\.05 minutes/);
  expect(dm).toMatch(/\/r\//);
  expect(afterMs).toBeGreaterThan(2_900);
  expect(bot.rooms.current(sim.guildId)).toBeUndefined();
  const [recording] = await bot.store.listRecordings();
  expect(recording?.stopReason).toBe('empty-room');
}, 30_000);
