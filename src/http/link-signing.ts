// Signed, expiring download tokens. Pure: the caller hands in the time and (optionally) the random link id, so
// nothing here reads a clock. A token is a bearer credential for exactly one recording until it expires; a
// speaker's token (version 2) is bound to one speaker of it as well, and opens only what is theirs.
//
// Token = base64url(payload || tag), no padding (RFC 4648 §5), so it sits in a URL path segment as is.
//
//    0        1                       7                          16                    n        n+32
//   +--------+-----------------------+--------------------------+---------------------+--------------+
//   | ver=1  | expiresAt             | linkId                   | recordingId         | tag          |
//   | u8     | u48 BE, ms since epoch| 9 random bytes           | UTF-8, 1..200 bytes | HMAC-SHA256  |
//   +--------+-----------------------+--------------------------+---------------------+--------------+
//
//    0        1              7          16        17                   17+s                 n        n+32
//   +--------+--------------+----------+---------+--------------------+---------------------+--------------+
//   | ver=2  | expiresAt    | linkId   | s       | speakerId          | recordingId         | tag          |
//   | u8     | u48 BE       | 9 bytes  | u8 1..32| UTF-8, s bytes     | UTF-8, 1..200 bytes | HMAC-SHA256  |
//   +--------+--------------+----------+---------+--------------------+---------------------+--------------+
//   tag = HMAC-SHA256(key, "roomrec-link\0" || payload)   (RFC 2104; full 32 bytes, no truncation)
//
// The domain prefix keeps a tag from ever being valid for something else signed with the same secret. The
// version byte is signed, so a speaker's token cannot be cut down to a host's one (version 1) or the reverse.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const VERSION = 1;
const SPEAKER_VERSION = 2;
const EXPIRES_BYTES = 6;
const LINK_ID_BYTES = 9;
const TAG_BYTES = 32;
const HEADER_BYTES = 1 + EXPIRES_BYTES + LINK_ID_BYTES;
const MAX_RECORDING_ID_BYTES = 200;
/** Discord user ids are 17 to 20 digits; room to spare, and a length byte. */
const MAX_SPEAKER_ID_BYTES = 32;
const MAX_TOKEN_CHARS = Math.ceil(((HEADER_BYTES + 1 + MAX_SPEAKER_ID_BYTES + MAX_RECORDING_ID_BYTES + TAG_BYTES) * 4) / 3);
const DOMAIN = Buffer.from('roomrec-link\0', 'ascii');
const MIN_SECRET_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const DEFAULT_LINK_TTL_MS = 24 * 60 * 60 * 1000;

/** `speakerId`: a speaker's link, to their own track of the recording only (absent: the host's link). */
export type LinkClaims = { recordingId: string; linkId: string; expiresAt: number; speakerId?: string };

export type VerifyResult = { ok: true; claims: LinkClaims } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

type IssuedLink = LinkClaims & { token: string; issuedAt: number };

export type LinkSigner = {
  /** With `speakerId`, a link that opens only that speaker's own track (version 2). */
  issue(recordingId: string, now: number, speakerId?: string): IssuedLink;
  verify(token: string, now: number): VerifyResult;
};

export type LinkSignerOptions = {
  /** LINK_SECRET; at least 32 bytes. */
  secret: string | Buffer;
  ttlMs?: number;
  /** Source of link ids; tests pass a fixed one. */
  random?: (bytes: number) => Buffer;
};

export function createLinkSigner(options: LinkSignerOptions): LinkSigner {
  const key = Buffer.isBuffer(options.secret) ? Buffer.from(options.secret) : Buffer.from(options.secret, 'utf8');
  if (key.length < MIN_SECRET_BYTES) {
    throw new Error(`link secret is too short: ${key.length} bytes, need at least ${MIN_SECRET_BYTES}`);
  }
  const ttlMs = options.ttlMs ?? DEFAULT_LINK_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new Error(`link TTL must be a positive number of ms, got ${ttlMs}`);
  const random = options.random ?? randomBytes;
  return {
    issue(recordingId, now, speakerId) {
      const linkId = random(LINK_ID_BYTES).toString('base64url');
      const claims = { recordingId, linkId, expiresAt: Math.floor(now + ttlMs), ...(speakerId === undefined ? {} : { speakerId }) };
      return { ...claims, issuedAt: now, token: signToken(key, claims) };
    },
    verify: (token, now) => verifyToken(key, token, now),
  };
}

export function signToken(key: Buffer, claims: LinkClaims): string {
  const id = Buffer.from(claims.recordingId, 'utf8');
  if (id.length === 0 || id.length > MAX_RECORDING_ID_BYTES) {
    throw new Error(`recording id must be 1..${MAX_RECORDING_ID_BYTES} bytes of UTF-8, got ${id.length}`);
  }
  const linkId = Buffer.from(claims.linkId, 'base64url');
  if (linkId.length !== LINK_ID_BYTES || linkId.toString('base64url') !== claims.linkId) {
    throw new Error(`link id must be ${LINK_ID_BYTES} bytes in base64url`);
  }
  if (!Number.isSafeInteger(claims.expiresAt) || claims.expiresAt < 0 || claims.expiresAt >= 2 ** 48) {
    throw new Error(`expiresAt out of range: ${claims.expiresAt}`);
  }
  const speaker = claims.speakerId === undefined ? undefined : Buffer.from(claims.speakerId, 'utf8');
  if (speaker !== undefined && (speaker.length === 0 || speaker.length > MAX_SPEAKER_ID_BYTES)) {
    throw new Error(`speaker id must be 1..${MAX_SPEAKER_ID_BYTES} bytes of UTF-8, got ${speaker.length}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(speaker === undefined ? VERSION : SPEAKER_VERSION, 0);
  header.writeUIntBE(claims.expiresAt, 1, EXPIRES_BYTES);
  linkId.copy(header, 1 + EXPIRES_BYTES);
  const payload = Buffer.concat(speaker === undefined ? [header, id] : [header, Buffer.from([speaker.length]), speaker, id]);
  return Buffer.concat([payload, tagOf(key, payload)]).toString('base64url');
}

export function verifyToken(key: Buffer, token: string, now: number): VerifyResult {
  if (token.length > MAX_TOKEN_CHARS || !BASE64URL.test(token)) return { ok: false, reason: 'malformed' };
  const bytes = Buffer.from(token, 'base64url');
  // Only the canonical spelling is accepted, so one link has exactly one token string.
  if (bytes.toString('base64url') !== token) return { ok: false, reason: 'malformed' };
  if (bytes.length < HEADER_BYTES + 1 + TAG_BYTES) return { ok: false, reason: 'malformed' };
  const payload = bytes.subarray(0, bytes.length - TAG_BYTES);
  const tag = bytes.subarray(bytes.length - TAG_BYTES);
  if (!timingSafeEqual(tag, tagOf(key, payload))) return { ok: false, reason: 'bad-signature' };
  const version = payload.readUInt8(0);
  if (version !== VERSION && version !== SPEAKER_VERSION) return { ok: false, reason: 'malformed' };
  const ids = version === VERSION ? { speaker: undefined, at: HEADER_BYTES } : speakerField(payload);
  if (!ids) return { ok: false, reason: 'malformed' };
  let recordingId: string;
  let speakerId: string | undefined;
  try {
    recordingId = utf8.decode(payload.subarray(ids.at));
    speakerId = ids.speaker === undefined ? undefined : utf8.decode(ids.speaker);
  } catch {
    // Only reachable with a token we signed ourselves from a bad id; treat as unusable rather than guess.
    return { ok: false, reason: 'malformed' };
  }
  const expiresAt = payload.readUIntBE(1, EXPIRES_BYTES);
  if (now >= expiresAt) return { ok: false, reason: 'expired' };
  const linkId = payload.subarray(1 + EXPIRES_BYTES, HEADER_BYTES).toString('base64url');
  return { ok: true, claims: { recordingId, linkId, expiresAt, ...(speakerId === undefined ? {} : { speakerId }) } };
}

/** A version 2 payload's speaker id and where the recording id starts after it; undefined when it does not fit. */
function speakerField(payload: Buffer): { speaker: Buffer; at: number } | undefined {
  const length = payload[HEADER_BYTES] ?? 0;
  const at = HEADER_BYTES + 1 + length;
  if (length === 0 || length > MAX_SPEAKER_ID_BYTES || at >= payload.length) return undefined;
  return { speaker: payload.subarray(HEADER_BYTES + 1, at), at };
}

function tagOf(key: Buffer, payload: Buffer): Buffer {
  return createHmac('sha256', key).update(DOMAIN).update(payload).digest();
}
