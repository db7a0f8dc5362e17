// When a webhook delivery is tried again, as a pure function: the doubling schedule and its cap, the jitter's
// bounds, Retry-After, which answers are retried and which are given up at once, and the one-day limit.
import { describe, expect, test } from 'vitest';
import { DEFAULT_RETRY_POLICY, backoffMs, nextStep, retryAfterMs, type AttemptResult } from '../../src/webhook/retry-policy.ts';

const policy = DEFAULT_RETRY_POLICY;
const T0 = Date.UTC(2026, 0, 1);
const step = (result: AttemptResult, attempt = 0, random = 0.5, now = T0) =>
  nextStep(policy, { attempt, createdAt: T0, now, result, random });

describe('webhook retry policy', () => {
  test('the backoff doubles from 1 s and stops at 10 min', () => {
    expect([0, 1, 2, 3, 4].map((n) => backoffMs(policy, n))).toEqual([1000, 2000, 4000, 8000, 16_000]);
    expect(backoffMs(policy, 9)).toBe(512_000);
    expect(backoffMs(policy, 10)).toBe(600_000);
    expect(backoffMs(policy, 5000)).toBe(600_000);
  });

  test('jitter keeps each delay within ±20% of the backoff', () => {
    expect(step({ status: 'no-answer' }, 2, 0)).toEqual({ kind: 'retry', inMs: 3200 });
    expect(step({ status: 'no-answer' }, 2, 0.5)).toEqual({ kind: 'retry', inMs: 4000 });
    expect(step({ status: 'no-answer' }, 2, 0.999_999)).toEqual({ kind: 'retry', inMs: 4800 });
  });

  test.each([200, 201, 204, 299])('%i is delivered', (status) => {
    expect(step({ status })).toEqual({ kind: 'delivered' });
  });

  test.each([{ status: 'no-answer' as const }, { status: 408 }, { status: 429 }, { status: 500 }, { status: 502 }, { status: 503 }])(
    '$status is retried',
    (result) => {
      expect(step(result).kind).toBe('retry');
    },
  );

  test.each([301, 302, 400, 401, 403, 404, 410, 422])('%i is given up at once', (status) => {
    expect(step({ status })).toEqual({ kind: 'give-up', reason: 'refused' });
  });

  test('Retry-After on 429 and 503 is waited for when it asks for longer than the backoff', () => {
    expect(step({ status: 429, retryAfter: '120' })).toEqual({ kind: 'retry', inMs: 120_000 });
    expect(step({ status: 503, retryAfter: new Date(T0 + 90_000).toUTCString() })).toEqual({ kind: 'retry', inMs: 90_000 });
    expect(step({ status: 429, retryAfter: '0' })).toEqual({ kind: 'retry', inMs: 1000 });
    expect(step({ status: 429, retryAfter: 'soon' })).toEqual({ kind: 'retry', inMs: 1000 });
    expect(step({ status: 500, retryAfter: '120' })).toEqual({ kind: 'retry', inMs: 1000 });
  });

  test('an event is given up once its next attempt would be more than a day after it happened', () => {
    const late = T0 + policy.maxAgeMs - 600_000;
    expect(step({ status: 503 }, 20, 0.5, late)).toEqual({ kind: 'retry', inMs: 600_000 });
    expect(step({ status: 503 }, 20, 0.5, late + 1)).toEqual({ kind: 'give-up', reason: 'too-old' });
  });

  test('Retry-After reads delay-seconds and HTTP dates', () => {
    expect(retryAfterMs('7', T0)).toBe(7000);
    expect(retryAfterMs(new Date(T0 - 5000).toUTCString(), T0)).toBe(0);
    expect(retryAfterMs(null, T0)).toBeUndefined();
    expect(retryAfterMs('-3', T0)).toBeUndefined();
  });
});
