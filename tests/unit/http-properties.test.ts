// Property-based tests (fast-check) for the download server's pure parts: Range parsing and cutting, link
// verification, and the address a client is limited under. Each property holds for every input fast-check
// generates; a failure prints the seed and the smallest input it found.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { addressKey } from '../../src/http/client-address.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import { contentRange, decideRange, takeRange } from '../../src/http/range.ts';

const size = fc.integer({ min: 0, max: 2 ** 40 });
const offset = fc.integer({ min: 0, max: 2 ** 41 });
const blanks = fc.stringMatching(/^[ \t]{0,2}$/);

describe('Range parsing', () => {
  test('any header at all: never throws, and a part always lies inside the representation', () => {
    const header = fc.oneof(
      fc.string(),
      fc.stringMatching(/^bytes=[ \t]?\d{0,14}-\d{0,14}[ \t]?$/),
      fc.stringMatching(/^bytes=[\d ,-]{0,30}$/),
    );
    fc.assert(
      fc.property(header, size, (text, total) => {
        const decision = decideRange(text, total);
        expect(['full', 'partial', 'unsatisfiable']).toContain(decision.kind);
        if (decision.kind === 'partial') {
          expect(0 <= decision.start && decision.start <= decision.end && decision.end < total).toBe(true);
          expect(contentRange(decision, total)).toBe(`bytes ${decision.start}-${decision.end}/${total}`);
        }
      }),
    );
  });

  test('bytes=a-b is exactly bytes a to b, cut at the end; past the end it is 416; b < a is ignored', () => {
    fc.assert(
      fc.property(offset, offset, size, blanks, blanks, (first, last, total, before, after) => {
        const decision = decideRange(`bytes=${before}${first}-${last}${after}`, total);
        if (last < first) expect(decision).toEqual({ kind: 'full' });
        else if (first >= total) expect(decision).toEqual({ kind: 'unsatisfiable' });
        else expect(decision).toEqual({ kind: 'partial', start: first, end: Math.min(last, total - 1) });
      }),
    );
  });

  test('bytes=a- is from a to the end; bytes=-n is the last n bytes, all of them when n is larger', () => {
    fc.assert(
      fc.property(offset, size, (n, total) => {
        const open = decideRange(`bytes=${n}-`, total);
        expect(open).toEqual(n < total ? { kind: 'partial', start: n, end: total - 1 } : { kind: 'unsatisfiable' });
        const suffix = decideRange(`bytes=-${n}`, total);
        if (n === 0 || total === 0) expect(suffix).toEqual({ kind: 'unsatisfiable' });
        else expect(suffix).toEqual({ kind: 'partial', start: total - Math.min(n, total), end: total - 1 });
      }),
    );
  });

  test('more than one range, or another unit, gets the whole representation', () => {
    const spec = fc.tuple(fc.nat(10_000), fc.nat(10_000)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
    fc.assert(
      fc.property(fc.array(spec, { minLength: 2, maxLength: 5 }), spec, size, (specs, one, total) => {
        expect(decideRange(`bytes=${specs.join(',')}`, total)).toEqual({ kind: 'full' });
        expect(decideRange(`items=${one}`, total)).toEqual({ kind: 'full' });
      }),
    );
  });

  test('cutting a range out of a stream gives exactly those bytes, and reads no chunk past them', async () => {
    const chunks = fc
      .array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 12 })
      .map((list) => list.map((c) => Buffer.from(c)));
    const input = chunks.chain((list) => {
      const total = list.reduce((sum, c) => sum + c.length, 0);
      return fc
        .tuple(fc.constant(list), fc.nat(total - 1), fc.nat(total - 1))
        .map(([l, a, b]) => ({ list: l, start: Math.min(a, b), end: Math.max(a, b) }));
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ list, start, end }) => {
        let pulled = 0;
        async function* source() {
          for (const chunk of list) {
            pulled += 1;
            yield chunk;
          }
        }
        const out: Buffer[] = [];
        for await (const piece of takeRange(source(), start, end)) out.push(piece);
        expect(Buffer.concat(out).equals(Buffer.concat(list).subarray(start, end + 1))).toBe(true);
        // The chunk holding byte `end` is the last one read.
        let at = 0;
        const last = list.findIndex((c) => (at += c.length) > end);
        expect(pulled).toBe(last + 1);
      }),
    );
  });
});

describe('link verification', () => {
  const SECRET = 'property-test-secret-0123456789abcdefgh';
  const signer = createLinkSigner({ secret: SECRET });
  const recordingId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }).filter((id) => Buffer.byteLength(id, 'utf8') <= 200);
  const issuedAt = fc.integer({ min: 0, max: 2 ** 46 });

  test('a link opens its recording, with its id and expiry, until exactly its expiry', () => {
    const ttl = fc.integer({ min: 1, max: 10 ** 11 });
    fc.assert(
      fc.property(recordingId, issuedAt, ttl, fc.double({ min: 0, max: 1, noNaN: true }), (id, now, ttlMs, when) => {
        const link = createLinkSigner({ secret: SECRET, ttlMs }).issue(id, now);
        const before = now + Math.floor(when * (link.expiresAt - 1 - now));
        expect(signer.verify(link.token, before)).toEqual({
          ok: true,
          claims: { recordingId: id, linkId: link.linkId, expiresAt: link.expiresAt },
        });
        expect(signer.verify(link.token, link.expiresAt)).toEqual({ ok: false, reason: 'expired' });
      }),
    );
  });

  test('changing any bit of a token, cutting it short or adding to it makes it refused', () => {
    fc.assert(
      fc.property(
        recordingId,
        issuedAt,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
        (id, now, where, flip, extra) => {
          const { token } = signer.issue(id, now);
          const bytes = Buffer.from(token, 'base64url');
          const index = where % bytes.length;
          bytes[index] = (bytes[index] ?? 0) ^ flip;
          for (const changed of [bytes.toString('base64url'), token.slice(0, where % token.length), token + extra]) {
            expect(signer.verify(changed, now).ok).toBe(false);
          }
        },
      ),
    );
  });

  test('a token signed with any other secret is a bad signature', () => {
    const otherSecret = fc.string({ minLength: 32, maxLength: 64 }).filter((s) => s !== SECRET);
    fc.assert(
      fc.property(otherSecret, recordingId, issuedAt, (secret, id, now) => {
        const { token } = createLinkSigner({ secret }).issue(id, now);
        expect(signer.verify(token, now)).toEqual({ ok: false, reason: 'bad-signature' });
      }),
    );
  });

  test('any string at all is refused without throwing', () => {
    const anything = fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.base64String({ maxLength: 400 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,400}$/),
    );
    fc.assert(
      fc.property(anything, issuedAt, (token, now) => {
        expect(signer.verify(token, now).ok).toBe(false);
      }),
    );
  });
});

describe('the address a client is limited under', () => {
  /** The WHATWG URL parser's canonical spelling of an IPv6 address: another parser than ours. */
  const canonical = (address: string) => new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const hextet = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
  const half = fc.array(hextet, { minLength: 4, maxLength: 4 });

  test('an IPv6 address has the same key however it is spelled', () => {
    fc.assert(
      fc.property(fc.ipV6(), (address) => {
        expect(addressKey(address)).toBe(addressKey(canonical(address)));
      }),
    );
  });

  test('an IPv4 address mapped into IPv6 is its IPv4 address, in either spelling', () => {
    fc.assert(
      fc.property(fc.ipV4(), (v4) => {
        expect(addressKey(v4)).toBe(v4);
        expect(addressKey(`::ffff:${v4}`)).toBe(v4);
        expect(addressKey(canonical(`::ffff:${v4}`))).toBe(v4);
      }),
    );
  });

  test('addresses in one /64 share their key, and addresses in different /64s do not', () => {
    fc.assert(
      fc.property(half, half, half, half, (prefix, otherPrefix, host, otherHost) => {
        const key = addressKey(canonical([...prefix, ...host].join(':')));
        expect(addressKey(canonical([...prefix, ...otherHost].join(':')))).toBe(key);
        const samePrefix = otherPrefix.every((group, i) => parseInt(group, 16) === parseInt(prefix[i] ?? '', 16));
        expect(addressKey(canonical([...otherPrefix, ...host].join(':'))) === key).toBe(samePrefix);
      }),
    );
  });
});
