import { createHmac } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLinkSigner, signToken, verifyToken } from '../../src/http/link-signing.ts';

const SECRET = 'k3y-for-tests-0123456789abcdefghijklmnop';
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const HOUR = 3_600_000;

describe('link signing', () => {
  const signer = createLinkSigner({ secret: SECRET });

  test('a fresh link verifies and names its recording, link id and expiry (24 h by default)', () => {
    const link = signer.issue('abcdefghij', T0);
    expect(link.token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(link.expiresAt).toBe(T0 + 24 * HOUR);
    expect(signer.verify(link.token, T0 + 23 * HOUR)).toEqual({
      ok: true,
      claims: { recordingId: 'abcdefghij', linkId: link.linkId, expiresAt: T0 + 24 * HOUR },
    });
  });

  test('each link gets its own id', () => {
    const a = signer.issue('abcdefghij', T0);
    const b = signer.issue('abcdefghij', T0);
    expect(a.linkId).not.toBe(b.linkId);
    expect(a.token).not.toBe(b.token);
  });

  test('expires exactly at expiresAt, with the configured TTL', () => {
    const short = createLinkSigner({ secret: SECRET, ttlMs: HOUR });
    const { token } = short.issue('abcdefghij', T0);
    expect(short.verify(token, T0 + HOUR - 1).ok).toBe(true);
    expect(short.verify(token, T0 + HOUR)).toEqual({ ok: false, reason: 'expired' });
  });

  test('a token signed with another secret is a bad signature', () => {
    const other = createLinkSigner({ secret: `${SECRET}-other` });
    const { token } = other.issue('abcdefghij', T0);
    expect(signer.verify(token, T0)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('changing any byte (recording id, expiry, tag) breaks the signature', () => {
    const { token } = signer.issue('abcdefghij', T0);
    const bytes = Buffer.from(token, 'base64url');
    for (const index of [0, 3, 10, 20, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index] = (tampered[index] ?? 0) ^ 0x01;
      expect(signer.verify(tampered.toString('base64url'), T0).ok).toBe(false);
    }
    // Re-pointing a link at another recording (same length, so the layout still parses).
    const swapped = Buffer.concat([bytes.subarray(0, 16), Buffer.from('zzzzzzzzzz'), bytes.subarray(26)]);
    expect(signer.verify(swapped.toString('base64url'), T0)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('extending the expiry without the key is detected', () => {
    const key = Buffer.from(SECRET);
    const token = signToken(key, { recordingId: 'abcdefghij', linkId: 'AAAAAAAAAAAA', expiresAt: T0 });
    const bytes = Buffer.from(token, 'base64url');
    bytes.writeUIntBE(T0 + 1000 * HOUR, 1, 6);
    expect(verifyToken(key, bytes.toString('base64url'), T0 + HOUR)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test.each([
    ['empty', ''],
    ['not base64url', 'abc.def'],
    ['padding', `${signer.issue('abcdefghij', T0).token}=`],
    ['too short', 'AAAA'],
    ['huge', 'A'.repeat(5000)],
  ])('%s is malformed', (_label, token) => {
    expect(signer.verify(token, T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('non-canonical base64url spelling of a valid token is refused', () => {
    // A 10-character id makes a 58-byte token: its last character carries 4 unused bits.
    const { token } = signer.issue('abcdefghij', T0);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const variant = token.slice(0, -1) + alphabet[alphabet.indexOf(token.at(-1) ?? 'A') ^ 1];
    expect(Buffer.from(variant, 'base64url')).toEqual(Buffer.from(token, 'base64url'));
    expect(signer.verify(variant, T0)).toEqual({ ok: false, reason: 'malformed' });
  });

  test('a short secret is refused up front', () => {
    expect(() => createLinkSigner({ secret: 'short' })).toThrow(/too short/);
  });

  test('fixed randomness gives a deterministic token (the clock and the random source are injected)', () => {
    const fixed = createLinkSigner({ secret: SECRET, random: (n) => Buffer.alloc(n, 7) });
    expect(fixed.issue('abcdefghij', T0).token).toBe(fixed.issue('abcdefghij', T0).token);
  });
});

describe("a speaker's link (version 2)", () => {
  const signer = createLinkSigner({ secret: SECRET, random: (n) => Buffer.alloc(n, 7) });
  const SPEAKER = '123456789012345678';

  test('verifies with the speaker it is bound to; a host link has none, and its bytes are as before', () => {
    const link = signer.issue('abcdefghij', T0, SPEAKER);
    expect(signer.verify(link.token, T0)).toEqual({
      ok: true,
      claims: { recordingId: 'abcdefghij', linkId: link.linkId, expiresAt: T0 + 24 * HOUR, speakerId: SPEAKER },
    });
    const host = signer.issue('abcdefghij', T0);
    const verdict = signer.verify(host.token, T0);
    expect(verdict.ok && 'speakerId' in verdict.claims).toBe(false);
    // Version 1 unchanged: a link DM'd before speakers' links existed keeps working.
    const key = Buffer.from(SECRET);
    expect(host.token).toBe(signToken(key, { recordingId: 'abcdefghij', linkId: host.linkId, expiresAt: host.expiresAt }));
    expect(Buffer.from(host.token, 'base64url')[0]).toBe(1);
    expect(Buffer.from(link.token, 'base64url')[0]).toBe(2);
  });

  test("cannot be turned into the host's link or another speaker's without the key", () => {
    const bytes = Buffer.from(signer.issue('abcdefghij', T0, SPEAKER).token, 'base64url');
    const asHost = Buffer.from(bytes);
    asHost[0] = 1;
    expect(signer.verify(asHost.toString('base64url'), T0)).toEqual({ ok: false, reason: 'bad-signature' });
    // The speaker field dropped, leaving a well-formed version 1 payload with the old tag.
    const cut = Buffer.concat([Buffer.from([1]), bytes.subarray(1, 16), bytes.subarray(17 + SPEAKER.length)]);
    expect(signer.verify(cut.toString('base64url'), T0)).toEqual({ ok: false, reason: 'bad-signature' });
    const other = Buffer.from(bytes);
    other[17] = '9'.charCodeAt(0);
    expect(signer.verify(other.toString('base64url'), T0)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  test('a speaker field that overruns the payload is malformed, even when signed', () => {
    const key = Buffer.from(SECRET);
    const token = signToken(key, { recordingId: 'abcdefghij', linkId: 'BwcHBwcHBwcH', expiresAt: T0 + HOUR, speakerId: SPEAKER });
    const bytes = Buffer.from(token, 'base64url');
    const payload = Buffer.from(bytes.subarray(0, bytes.length - 32));
    payload[16] = 200;
    const tag = createHmac('sha256', key).update('roomrec-link\0').update(payload).digest();
    expect(verifyToken(key, Buffer.concat([payload, tag]).toString('base64url'), T0)).toEqual({ ok: false, reason: 'malformed' });
    expect(() => signer.issue('abcdefghij', T0, '')).toThrow(/speaker id/);
  });
});
