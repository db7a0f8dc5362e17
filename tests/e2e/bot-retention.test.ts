// Retention of a finished room, driven by the bot's injected clock rather than by waiting 30 days: the real
// bot records and stops a room against the local Discord stand-in, then the clock moves on.
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Scheduler } from '../../src/jobs/retention-job.ts';
import { silentLogger } from '../../src/log.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { until } from '../helpers/until.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
let dir: string;
let env: BotInSim;
let offset = 0;
const scheduled: string[] = [];
// The cron never fires by itself here; the test runs the job the way the schedule would.
const manualScheduler: Scheduler = (expression) => {
  scheduled.push(expression);
  return { stop: () => undefined };
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-retention-'));
  env = await startBotInSim({
    dataDir: dir,
    log: silentLogger(),
    now: () => Date.now() + offset,
    retentionScheduler: manualScheduler,
    sim: { users: [{ username: 'host', globalName: 'Host' }] },
  });
}, 60_000);

afterAll(() => closeBotInSim(env, dir));

test('a finished room is kept for 30 days, then removed with its files, metadata and links', async () => {
  const { sim, bot } = env;
  const host = sim.userByName('host').id;
  expect(scheduled).toEqual(['0 * * * *']);
  await joinAndSeen(env, host);
  sim.slash(host, 'record start');
  const recording = await until(() => bot.store.activeRecordingForGuild(sim.guildId), 'the recording');
  await until(async () => (sim.consentMessage() ? true : undefined), 'the consent message');
  sim.reactToConsent(host);
  await until(async () => ((await bot.store.getRecording(recording.id))?.speakers.length ? true : undefined), 'consent');
  // Stored, then subscribed and the track opened: the consent message lists the host once all of it is done.
  await untilListed(sim, ['Host']);
  sim.slash(host, 'record stop');
  await until(async () => ((await bot.store.getRecording(recording.id))?.state === 'ready' ? true : undefined), 'ready');
  const dir = bot.store.layout.recordingDir(recording.id);
  expect(existsSync(dir)).toBe(true);

  offset = 29 * DAY_MS;
  const early = await bot.retention.runNow();
  expect(early.deleted).toEqual([]);
  expect(existsSync(dir)).toBe(true);

  offset = 30 * DAY_MS + 60_000;
  const due = await bot.retention.runNow();
  expect(due.deleted.map((d) => d.recordingId)).toEqual([recording.id]);
  expect(existsSync(dir)).toBe(false);
  expect(await bot.store.getRecording(recording.id)).toBeUndefined();
  expect(await bot.store.linksFor(recording.id)).toEqual([]);
  expect((await bot.store.listRecordings({ hostId: host })).map((r) => r.id)).not.toContain(recording.id);

  // The host is told it is gone rather than handed a link to nothing.
  sim.sendDm(host, `download ${recording.id}`);
  const answer = await until(async () => {
    const last = sim.dmsTo(host).at(-1)?.content;
    return last && !last.includes('http') ? last : undefined;
  }, 'the DM answer');
  expect(answer).toMatch(/don't have one of yours/);
});
