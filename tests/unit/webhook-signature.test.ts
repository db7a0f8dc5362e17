// The webhook's signature as a receiver checks it: what signWebhook writes verifies, and any change to the body,
// the timestamp or the delivery id, a wrong secret or an old timestamp is refused.
import { describe, expect, test } from 'vitest';
import { signWebhook, verifyWebhook } from '../../src/webhook/signature.ts';

const SECRET = 'whsec-0123456789abcdef';
const NOW = Date.UTC(2026, 0, 1, 12);
const BODY = JSON.stringify({ type: 'recording.ready', deliveryId: 'd-1' });

describe('webhook signature', () => {
  test('a signed request verifies, with its delivery id and timestamp', () => {
    const headers = signWebhook(SECRET, 'd-1', BODY, NOW);
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW })).toEqual({ ok: true, deliveryId: 'd-1', timestamp: NOW / 1000 });
    expect(verifyWebhook(SECRET, headers, Buffer.from(BODY), { now: NOW }).ok).toBe(true);
  });

  test('the MAC covers timestamp and body: HMAC-SHA256(secret, "<timestamp>.<body>")', async () => {
    const { createHmac } = await import('node:crypto');
    const headers = signWebhook(SECRET, 'd-1', BODY, NOW);
    const expected = createHmac('sha256', SECRET)
      .update(`${NOW / 1000}.${BODY}`)
      .digest('hex');
    expect(headers['roomrec-signature']).toBe(`v1=${expected}`);
  });

  test.each([
    ['a changed body', (h: Record<string, string>) => ({ headers: h, body: BODY.replace('ready', 'failed') })],
    [
      'a changed timestamp',
      (h: Record<string, string>) => ({ headers: { ...h, 'roomrec-timestamp': String(NOW / 1000 + 1) }, body: BODY }),
    ],
    [
      'one flipped signature digit',
      (h: Record<string, string>) => ({ headers: { ...h, 'roomrec-signature': flipLast(h['roomrec-signature']!) }, body: BODY }),
    ],
  ])('%s is refused as a bad signature', (_what, tamper) => {
    const { headers, body } = tamper(signWebhook(SECRET, 'd-1', BODY, NOW));
    expect(verifyWebhook(SECRET, headers, body, { now: NOW })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('another secret does not verify', () => {
    const headers = signWebhook(SECRET, 'd-1', BODY, NOW);
    expect(verifyWebhook(`${SECRET}x`, headers, BODY, { now: NOW })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('a replay outside the tolerance is stale, inside it is accepted (the receiver de-duplicates on the delivery id)', () => {
    const headers = signWebhook(SECRET, 'd-1', BODY, NOW);
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW + 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW - 301_000 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW + 60_000, toleranceS: 30 })).toEqual({ ok: false, reason: 'stale' });
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW + 299_000 }).ok).toBe(true);
  });

  test.each([
    ['no headers', {}],
    ['no delivery id', { 'roomrec-timestamp': '1', 'roomrec-signature': `v1=${'0'.repeat(64)}` }],
    ['an unknown scheme', { 'roomrec-delivery': 'd', 'roomrec-timestamp': '1', 'roomrec-signature': `v2=${'0'.repeat(64)}` }],
    ['a short signature', { 'roomrec-delivery': 'd', 'roomrec-timestamp': '1', 'roomrec-signature': 'v1=abcd' }],
    ['a non-numeric timestamp', { 'roomrec-delivery': 'd', 'roomrec-timestamp': '1e9', 'roomrec-signature': `v1=${'0'.repeat(64)}` }],
    ['repeated headers', { 'roomrec-delivery': ['d', 'e'], 'roomrec-timestamp': '1', 'roomrec-signature': `v1=${'0'.repeat(64)}` }],
  ])('%s is malformed', (_what, headers) => {
    expect(verifyWebhook(SECRET, headers, BODY, { now: NOW })).toEqual({ ok: false, reason: 'malformed' });
  });
});

function flipLast(signature: string): string {
  return signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
}
