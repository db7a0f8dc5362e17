// Delivers recording events to WEBHOOK_URL (docs/webhook.md). Each event is put in the store's outbox before its
// first attempt and removed once the receiver took it (2xx) or it was given up, so a restart carries on with
// whatever was pending (resume). Nothing here is awaited by a stop: notify() resolves once the event is stored
// and the attempts run in the background, so a slow or dead receiver never holds up the host's DM.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { Recording, Store, WebhookOutboxEntry } from '../storage/store.ts';
import { webhookEvent, type WebhookEventType } from './event.ts';
import { DEFAULT_RETRY_POLICY, nextStep, type AttemptResult, type RetryPolicy } from './retry-policy.ts';
import { signWebhook } from './signature.ts';

export type WebhookDeps = {
  url: string;
  secret: string;
  store: Store;
  log: Logger;
  /** Epoch ms. */
  now: () => number;
  /** A fresh signed download link, recorded like the one the host is DM'd (library.ts issueLink). */
  issueLink: (recording: Recording) => Promise<{ url: string; expiresAt: number }>;
  policy?: Partial<RetryPolicy>;
  /** Waits between attempts; resolves early when `signal` aborts. Default: a real timer. */
  wait?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** [0, 1): the backoff's jitter. */
  random?: () => number;
};

export type Webhook = {
  /** Stores the event, then delivers it in the background. Resolves once it is stored; never rejects (logged). */
  notify(type: WebhookEventType, recording: Recording): Promise<void>;
  /** Starts delivering the events an earlier process left in the outbox. */
  resume(): Promise<void>;
  /** Resolves when no event is being stored or delivered (everything delivered, given up, or never started). */
  idle(): Promise<void>;
  /** Stops retrying and aborts attempts in flight; what is undelivered stays in the outbox for the next start. */
  close(): Promise<void>;
};

const realWait = (ms: number, signal: AbortSignal): Promise<void> =>
  // An abort is how close() ends the wait, not an error.
  sleep(ms, undefined, { signal }).then(
    () => undefined,
    () => undefined,
  );

export function createWebhook(deps: WebhookDeps): Webhook {
  const { store, now } = deps;
  const log = deps.log.child({ webhook: new URL(deps.url).host });
  const policy = { ...DEFAULT_RETRY_POLICY, ...deps.policy };
  const wait = deps.wait ?? realWait;
  const random = deps.random ?? Math.random;
  const closing = new AbortController();
  const inFlight = new Map<string, Promise<void>>();
  /** Events being stored: close() lets them reach the outbox before the store is closed after it. */
  const queueing = new Set<Promise<void>>();

  async function attempt(entry: WebhookOutboxEntry): Promise<AttemptResult> {
    try {
      const response = await fetch(deps.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'roomrec-webhook',
          ...signWebhook(deps.secret, entry.id, entry.body, now()),
        },
        body: entry.body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(policy.timeoutMs), closing.signal]),
      });
      // The answer's body means nothing to us; cancelling frees the connection.
      await response.body?.cancel();
      return { status: response.status, retryAfter: response.headers.get('retry-after') };
    } catch (error) {
      log.debug({ err: error, deliveryId: entry.id }, 'webhook attempt got no answer');
      return { status: 'no-answer' };
    }
  }

  async function deliver(entry: WebhookOutboxEntry): Promise<void> {
    const fields = { deliveryId: entry.id, type: entry.type, recordingId: entry.recordingId };
    for (let n = 0; !closing.signal.aborted; n++) {
      const result = await attempt(entry);
      if (closing.signal.aborted) return;
      const step = nextStep(policy, { attempt: n, createdAt: entry.createdAt, now: now(), result, random: random() });
      const status = result.status;
      if (step.kind === 'retry') {
        log.warn({ ...fields, attempt: n + 1, status, retryInMs: step.inMs }, 'webhook not delivered; retrying');
        await wait(step.inMs, closing.signal);
        continue;
      }
      if (step.kind === 'delivered') log.info({ ...fields, attempts: n + 1, status }, 'webhook delivered');
      else log.error({ ...fields, attempts: n + 1, status, reason: step.reason }, 'webhook given up');
      await store.removeWebhook(entry.id);
      return;
    }
  }

  function start(entry: WebhookOutboxEntry): void {
    if (inFlight.has(entry.id) || closing.signal.aborted) return;
    const run = deliver(entry)
      .catch((error: unknown) => log.error({ err: error, deliveryId: entry.id }, 'webhook delivery failed; retried at the next start'))
      .finally(() => inFlight.delete(entry.id));
    inFlight.set(entry.id, run);
  }

  /** Builds the event, with a fresh link unless it is a deletion, and stores it before the first attempt. */
  async function queue(type: WebhookEventType, recording: Recording): Promise<void> {
    try {
      const at = now();
      const id = randomUUID();
      const link = type === 'recording.deleted' ? undefined : await deps.issueLink(recording);
      const body = JSON.stringify(webhookEvent(recording, { type, deliveryId: id, at, ...(link ? { link } : {}) }));
      const entry = { id, recordingId: recording.id, type, createdAt: at, body };
      await store.putWebhook(entry);
      start(entry);
    } catch (error) {
      log.error({ err: error, type, recordingId: recording.id }, 'could not queue a webhook event');
    }
  }

  return {
    notify(type, recording) {
      if (closing.signal.aborted) {
        log.warn({ type, recordingId: recording.id }, 'webhook event after shutdown began; not sent');
        return Promise.resolve();
      }
      const queued = queue(type, recording).finally(() => queueing.delete(queued));
      queueing.add(queued);
      return queued;
    },

    async resume() {
      const pending = await store.pendingWebhooks();
      if (pending.length > 0) log.info({ pending: pending.length }, 'resuming webhook deliveries');
      for (const entry of pending) start(entry);
    },

    async idle() {
      // An event still being stored is about to be delivered: idle waits for it too.
      while (queueing.size > 0 || inFlight.size > 0) await Promise.all([...queueing, ...inFlight.values()]);
    },

    async close() {
      await Promise.all(queueing);
      closing.abort();
      await Promise.all(inFlight.values());
    },
  };
}
