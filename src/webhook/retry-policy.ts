// When to try a webhook delivery again, pure: exponential backoff with jitter (1 s, 2 s, 4 s … up to 10 min),
// the receiver's Retry-After honoured, and a give-up once the event is a day old. What counts as worth
// retrying: no answer (refused, reset, timed out), 408, 429 and 5xx. Any other answer that is not 2xx means the
// receiver will refuse this event every time (a bad URL, a rejected signature), so it is given up at once.

export type RetryPolicy = {
  firstDelayMs: number;
  maxDelayMs: number;
  /** Give up on an event this long after it happened. */
  maxAgeMs: number;
  /** Each delay is scaled by a factor in [1 - jitter, 1 + jitter], so many bots do not retry in step. */
  jitter: number;
  /** One attempt's time limit. */
  timeoutMs: number;
};

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  firstDelayMs: 1000,
  maxDelayMs: 10 * 60_000,
  maxAgeMs: 24 * 3_600_000,
  jitter: 0.2,
  timeoutMs: 10_000,
};

/** What one attempt got: an HTTP answer (status, Retry-After header) or none (connection failed, timeout). */
export type AttemptResult = { status: number; retryAfter?: string | null } | { status: 'no-answer' };

export type NextStep = { kind: 'delivered' } | { kind: 'retry'; inMs: number } | { kind: 'give-up'; reason: 'refused' | 'too-old' };

/** Retry-After as delay-seconds or an HTTP-date (RFC 9110 §10.2.3), in ms from `now`; undefined if unreadable. */
export function retryAfterMs(value: string | null | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP-date names its day and month; Date.parse would read "-3" as a year.
  if (!/^[A-Za-z]{3}, /.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The backoff before retry number `attempt` (0 after the first failure), before the jitter. */
export function backoffMs(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** Math.min(attempt, 52));
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * After attempt number `attempt` (0-based) of an event that happened at `createdAt`, with `result`: delivered,
 * retry in how long, or give up. `random` in [0, 1) drives the jitter.
 */
export function nextStep(
  policy: RetryPolicy,
  args: { attempt: number; createdAt: number; now: number; result: AttemptResult; random: number },
): NextStep {
  const { result, now } = args;
  if (result.status !== 'no-answer') {
    if (result.status >= 200 && result.status < 300) return { kind: 'delivered' };
    if (!retryable(result.status)) return { kind: 'give-up', reason: 'refused' };
  }
  const jittered = Math.round(backoffMs(policy, args.attempt) * (1 - policy.jitter + 2 * policy.jitter * args.random));
  const asked = result.status === 429 || result.status === 503 ? retryAfterMs(result.retryAfter, now) : undefined;
  const inMs = Math.max(jittered, asked ?? 0);
  if (now + inMs - args.createdAt > policy.maxAgeMs) return { kind: 'give-up', reason: 'too-old' };
  return { kind: 'retry', inMs };
}
