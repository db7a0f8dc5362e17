// The webhook with the whole bot against the stand-in and a real local receiver: a stop sends recording.ready,
// signed, with a link that downloads the mix from the bot's own server; `/recordings delete` and retention send
// recording.deleted; a receiver that never answers holds up neither the host's DM nor the bot's shutdown.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import type { WebhookEvent } from '../../src/webhook/event.ts';
import { verifyWebhook } from '../../src/webhook/signature.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { until } from '../helpers/until.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

const SECRET = 'e2e-webhook-secret-0123456789abcdef';
let dir: string;
let env: BotInSim;
let receiver: WebhookReceiver;
let hana = '';
/** The receiver's answer from now on. */
let answer: 200 | 'hang' = 200;
/** The bot's wall clock runs this far ahead of the real one (to make recordings old enough for retention). */
let ahead = 0;
const botNow = () => Date.now() + ahead;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-webhook-'));
  receiver = await startWebhookReceiver(() => answer);
  env = await startBotInSim({
    dataDir: dir,
    sim: { users: [{ username: 'hana', globalName: 'Hana' }] },
    log: silentLogger(),
    now: botNow,
    env: { WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: SECRET },
    startBot: { webhookPolicy: { firstDelayMs: 10, maxDelayMs: 50 } },
  });
  hana = env.sim.userByName('hana').id;
  await joinAndSeen(env, hana);
}, 60_000);

afterAll(async () => {
  await closeBotInSim(env, dir);
  await receiver?.close();
});

async function slash(text: string): Promise<string> {
  const record = env.sim.slash(hana, text);
  return until(() => answersTo(env.sim, record).at(-1), `an answer to /${text}`);
}

/** Records Hana for a moment (with a note, when given) and stops; resolves with the recording's id. */
async function recordAndStop(note?: string): Promise<string> {
  expect(await slash('record start')).toMatch(/Recording <#\d+>/);
  env.sim.reactToConsent(hana);
  await until(() => (env.bot.rooms.current(env.sim.guildId)?.recording.length ? true : undefined), 'Hana to be recorded');
  const id = (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
  if (note) await slash(`note ${note}`);
  await slash('record stop');
  return id;
}

/** The first request about `id` of that type, verified as a receiver does it. */
async function eventFor(id: string, type: WebhookEvent['type']): Promise<WebhookEvent> {
  const request = await until(
    () => receiver.requests.find((r) => r.body.includes(`"type":"${type}"`) && r.body.includes(`"id":"${id}"`)),
    `${type} for ${id}`,
  );
  expect(verifyWebhook(SECRET, request.headers, request.body, { now: botNow() })).toMatchObject({
    ok: true,
    deliveryId: request.headers['roomrec-delivery'],
  });
  return JSON.parse(request.body) as WebhookEvent;
}

describe('the webhook, with the whole bot', () => {
  test('a stop sends recording.ready with a link that downloads the mix; /recordings delete sends recording.deleted', async () => {
    const id = await recordAndStop('Intro done');
    const ready = await eventFor(id, 'recording.ready');
    const stored = await env.bot.store.getRecording(id);
    expect(stored?.state).toBe('ready');
    expect(ready.recording).toMatchObject({
      id,
      guildId: env.sim.guildId,
      channelId: env.sim.voiceChannelId,
      hostId: hana,
      speakers: [{ id: hana, name: 'Hana' }],
      durationMs: stored?.mix?.durationMs,
    });
    expect(ready.recording.notes).toEqual([
      { atMs: Math.round(stored?.notes?.[0]?.at ?? -1), by: { id: hana, name: 'Hana' }, text: 'Intro done' },
    ]);
    const url = ready.recording.link?.url ?? '';
    // Recorded like the DM's own: the store knows both links handed out.
    const links = await env.bot.store.linksFor(id);
    expect(links).toHaveLength(2);
    expect(links.map((l) => new Date(l.expiresAt).toISOString())).toContain(ready.recording.link?.expiresAt);
    const mix = await fetch(`${url}/mix`);
    expect(mix.status).toBe(200);
    expect(
      Buffer.from(await mix.arrayBuffer())
        .subarray(0, 4)
        .toString('ascii'),
    ).toBe('OggS');
    await until(async () => ((await env.bot.store.pendingWebhooks()).length === 0 ? true : undefined), 'the outbox to empty');

    expect(await slash(`recordings delete ${id}`)).toMatch(/Deleted recording/);
    const deleted = await eventFor(id, 'recording.deleted');
    expect(deleted.recording).toMatchObject({ id, hostId: hana, speakers: [{ id: hana, name: 'Hana' }] });
    expect(deleted.recording).not.toHaveProperty('link');
    expect(deleted.deliveryId).not.toBe(ready.deliveryId);
  });

  test('retention deleting a recording sends recording.deleted', async () => {
    const id = await recordAndStop();
    await eventFor(id, 'recording.ready');
    ahead = 31 * 24 * 3_600_000;
    const report = await env.bot.retention.runNow();
    expect(report.deleted.map((d) => d.recordingId)).toEqual([id]);
    const deleted = await eventFor(id, 'recording.deleted');
    expect(Date.parse(deleted.at)).toBeGreaterThan(Date.now() + 30 * 24 * 3_600_000);
    ahead = 0;
  });

  test('a receiver that never answers holds up neither the link DM nor the next stop', async () => {
    answer = 'hang';
    const before = env.sim.dmsTo(hana).length;
    const id = await recordAndStop();
    await eventFor(id, 'recording.ready');
    expect(await until(() => env.sim.dmsTo(hana)[before]?.content, 'the link DM')).toContain(id);
    await until(() => (env.bot.rooms.stopping(env.sim.guildId) ? undefined : true), 'the stop to be over');
    const next = await recordAndStop();
    await eventFor(next, 'recording.ready');
    expect(await until(() => env.sim.dmsTo(hana)[before + 1]?.content, 'the second link DM')).toContain(next);
    expect((await env.bot.store.pendingWebhooks()).map((e) => e.recordingId).sort()).toEqual([id, next].sort());
  });
});
