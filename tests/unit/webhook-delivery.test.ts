// Webhook delivery against a real local HTTP receiver and the real store: the event and its signature as the
// receiver sees them, a receiver that is down and then comes up, one that answers 500, one that refuses, and an
// outbox that survives a restart. Backoff is shortened; every wait is on the receiver's requests or the outbox.
import { agreementOf, CONSENT_TEXTS, sha256Hex } from '../../src/recording/consent-choice.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { openStore, type Recording, type Store } from '../../src/storage/store.ts';
import type { WebhookEvent } from '../../src/webhook/event.ts';
import { verifyWebhook } from '../../src/webhook/signature.ts';
import { createWebhook, type Webhook } from '../../src/webhook/webhook.ts';
import { newRoom } from '../helpers/new-recording.ts';
import { freePort, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { until } from '../helpers/until.ts';

const SECRET = 'test-webhook-secret-0123456789';
const T0 = Date.UTC(2026, 0, 1, 12);
const log = silentLogger();

let dir: string;
let store: Store;
let recording: Recording;
const opened: { close(): Promise<void> }[] = [];
/** Every backoff the webhook waited, in ms. */
let waits: number[];

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-webhook-'));
  store = await openStore({ dataDir: dir, log });
  waits = [];
  const created = await store.createRecording(newRoom(T0));
  recording = await store.updateRecording(created.id, (r) => ({
    ...r,
    state: 'ready',
    stopReason: 'command',
    stoppedAt: T0 + 65_000,
    mix: { file: 'mix.ogg', format: 'ogg', durationMs: 64_500 },
    notes: [
      { at: 30_000.4, by: '500000000000000001', byName: 'Ada', text: 'Question from the chat' },
      { at: 1250, by: '400000000000000001', byName: 'Host', text: 'Intro done' },
    ],
    speakers: [
      {
        userId: '500000000000000001',
        name: 'Ada',
        trackFile: 'tracks/1-ada.ogg',
        consentedAt: T0,
        includeInMix: true,
        agreed: agreementOf(true, T0 + 1000),
      },
      {
        userId: '500000000000000002',
        name: 'Bo',
        trackFile: 'tracks/2-bo.ogg',
        consentedAt: T0,
        includeInMix: false,
        withdrawnAt: T0 + 9000,
      },
      { userId: '500000000000000001', name: 'Ada', trackFile: 'tracks/3-ada.ogg', consentedAt: T0 + 20_000, includeInMix: true },
    ],
  }));
});

afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function webhookTo(url: string, on: Store = store, logTo = log): Webhook {
  let n = 0;
  const webhook = createWebhook({
    url,
    secret: SECRET,
    store: on,
    log: logTo,
    now: () => T0 + 70_000,
    issueLink: async (r) => ({ url: `http://127.0.0.1:1/r/token-${r.id}-${++n}`, expiresAt: T0 + 86_470_000 }),
    policy: { firstDelayMs: 5, maxDelayMs: 40, jitter: 0 },
    wait: (ms, signal) => {
      waits.push(ms);
      return sleep(ms, undefined, { signal }).catch(() => undefined);
    },
  });
  opened.push(webhook);
  return webhook;
}

async function receiver(answers?: Parameters<typeof startWebhookReceiver>[0], port?: number): Promise<WebhookReceiver> {
  const started = await startWebhookReceiver(answers, port);
  opened.push(started);
  return started;
}

/** The request verified as a receiver would (at the webhook's clock), and its parsed body. */
function verified(request: { headers: Record<string, string | string[] | undefined>; body: string }): WebhookEvent {
  const verdict = verifyWebhook(SECRET, request.headers, request.body, { now: T0 + 70_000 });
  expect(verdict.ok).toBe(true);
  return JSON.parse(request.body) as WebhookEvent;
}

describe('webhook delivery', () => {
  test('recording.ready reaches the receiver signed, with the stored recording, its speakers, notes and a fresh link', async () => {
    const hook = await receiver([204]);
    const webhook = webhookTo(hook.url);
    await webhook.notify('recording.ready', recording);
    const request = await hook.request(0);
    expect(request.headers['content-type']).toBe('application/json');
    const event = verified(request);
    expect(event).toEqual({
      type: 'recording.ready',
      deliveryId: request.headers['roomrec-delivery'],
      at: new Date(T0 + 70_000).toISOString(),
      recording: {
        id: recording.id,
        guildId: recording.guildId,
        channelId: recording.channelId,
        hostId: recording.hostId,
        startedAt: new Date(T0).toISOString(),
        stoppedAt: new Date(T0 + 65_000).toISOString(),
        durationMs: 64_500,
        speakers: [{ id: '500000000000000001', name: 'Ada', reuse: true, consentSha256: sha256Hex(CONSENT_TEXTS.reuse) }],
        notes: [
          { atMs: 1250, by: { id: '400000000000000001', name: 'Host' }, text: 'Intro done' },
          { atMs: 30_000, by: { id: '500000000000000001', name: 'Ada' }, text: 'Question from the chat' },
        ],
        link: { url: `http://127.0.0.1:1/r/token-${recording.id}-1`, expiresAt: new Date(T0 + 86_470_000).toISOString() },
      },
    });
    await webhook.idle();
    expect(await store.pendingWebhooks()).toEqual([]);
    expect(hook.requests).toHaveLength(1);
  });

  test('recording.failed carries the error; recording.deleted has no link', async () => {
    const hook = await receiver();
    const webhook = webhookTo(hook.url);
    await webhook.notify('recording.failed', { ...recording, state: 'failed', error: 'mix failed: disk full' });
    await webhook.notify('recording.deleted', recording);
    const failed = verified(await hook.request(0));
    const deleted = verified(await hook.request(1));
    expect(failed).toMatchObject({ type: 'recording.failed', error: 'mix failed: disk full' });
    expect(failed.recording.link?.url).toMatch(/^http:/);
    expect(deleted.type).toBe('recording.deleted');
    expect(deleted.recording).not.toHaveProperty('link');
    expect(deleted).not.toHaveProperty('error');
    expect(failed.deliveryId).not.toBe(deleted.deliveryId);
  });

  test('a receiver that is down: retried with a doubling backoff, delivered once it comes up', async () => {
    const port = await freePort();
    const webhook = webhookTo(`http://127.0.0.1:${port}/hook`);
    await webhook.notify('recording.ready', recording);
    expect(await store.pendingWebhooks()).toHaveLength(1);
    await until(() => (waits.length >= 3 ? true : undefined), 'three failed attempts');
    const hook = await receiver([200], port);
    const event = verified(await hook.request(0));
    await webhook.idle();
    expect(event.recording.id).toBe(recording.id);
    expect(hook.requests).toHaveLength(1);
    expect(waits.slice(0, 3)).toEqual([5, 10, 20]);
    expect(Math.max(...waits)).toBe(waits.length > 3 ? 40 : 20);
    expect(await store.pendingWebhooks()).toEqual([]);
  });

  test('500 twice, then 200: three attempts of the same event, the same delivery id and body each time', async () => {
    const hook = await receiver([500, 500, 200]);
    const logged = capturingLogger();
    const webhook = webhookTo(hook.url, store, logged.log);
    await webhook.notify('recording.ready', recording);
    await hook.request(2);
    await webhook.idle();
    expect(hook.requests).toHaveLength(3);
    expect(new Set(hook.requests.map((r) => r.headers['roomrec-delivery'])).size).toBe(1);
    expect(new Set(hook.requests.map((r) => r.body)).size).toBe(1);
    for (const request of hook.requests) verified(request);
    expect(waits).toEqual([5, 10]);
    const told = logged.lines.filter((l) => l.deliveryId === hook.requests[0]?.headers['roomrec-delivery']);
    expect(told.map((l) => [l.msg, l.status, l.attempt ?? l.attempts, l.retryInMs])).toEqual([
      ['webhook not delivered; retrying', 500, 1, 5],
      ['webhook not delivered; retrying', 500, 2, 10],
      ['webhook delivered', 200, 3, undefined],
    ]);
    expect(
      told.every((l) => l.recordingId === recording.id && l.type === 'recording.ready' && l.webhook === `127.0.0.1:${hook.port}`),
    ).toBe(true);
    expect(JSON.stringify(logged.lines)).not.toContain(SECRET);
    expect(await store.pendingWebhooks()).toEqual([]);
  });

  test('a refusal (400) is given up at once and leaves the outbox', async () => {
    const hook = await receiver([400, 200]);
    const webhook = webhookTo(hook.url);
    await webhook.notify('recording.ready', recording);
    await hook.request(0);
    await webhook.idle();
    expect(hook.requests).toHaveLength(1);
    expect(await store.pendingWebhooks()).toEqual([]);
  });

  test('a restart carries on: the pending event is resumed from the store with its delivery id and bytes', async () => {
    const down = await receiver([503]);
    const first = webhookTo(down.url);
    await first.notify('recording.ready', recording);
    const attempted = await down.request(0);
    await first.close();
    await store.close();

    store = await openStore({ dataDir: dir, log });
    const [pending] = await store.pendingWebhooks();
    expect(pending?.id).toBe(attempted.headers['roomrec-delivery']);
    const up = await receiver([200]);
    const second = webhookTo(up.url);
    await second.resume();
    const resumed = await up.request(0);
    await second.idle();
    expect(resumed.headers['roomrec-delivery']).toBe(attempted.headers['roomrec-delivery']);
    expect(resumed.body).toBe(attempted.body);
    verified(resumed);
    expect(await store.pendingWebhooks()).toEqual([]);
  });

  test('an event raised just before close() still reaches the outbox (a shutdown stops rooms, then closes the store)', async () => {
    const hook = await receiver();
    const webhook = webhookTo(hook.url);
    const queued = webhook.notify('recording.ready', recording);
    await webhook.close();
    const pending = await store.pendingWebhooks();
    await queued;
    expect(pending.map((e) => e.recordingId)).toEqual([recording.id]);
    expect(hook.requests).toEqual([]);
  });

  test('close() ends an attempt the receiver never answers, and leaves the event for the next start', async () => {
    const hook = await receiver(['hang']);
    const webhook = webhookTo(hook.url);
    await webhook.notify('recording.ready', recording);
    await hook.request(0);
    await webhook.close();
    expect(await store.pendingWebhooks()).toHaveLength(1);
  });
});
