// How a webhook request is signed, and how a receiver checks it (docs/webhook.md shows the same in a receiver):
//
//   Roomrec-Delivery:  <delivery id>      one per event, the same on every retry: receivers de-duplicate on it
//   Roomrec-Timestamp: <unix seconds>     when this attempt was signed
//   Roomrec-Signature: v1=<hex>           HMAC-SHA256(secret, "<timestamp>.<raw body>")   (RFC 2104)
//
// The timestamp is inside the MAC, so an old request cannot be replayed with a new time; a receiver refuses
// timestamps outside its tolerance, and a replay inside it carries a delivery id already seen.
import { createHmac, timingSafeEqual } from 'node:crypto';

const DELIVERY_HEADER = 'roomrec-delivery';
const TIMESTAMP_HEADER = 'roomrec-timestamp';
const SIGNATURE_HEADER = 'roomrec-signature';

const SCHEME = 'v1=';
const DEFAULT_TOLERANCE_S = 300;

function mac(secret: string, timestamp: string, body: string | Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

/** The headers for one attempt at delivering `body`, signed at `nowMs` (epoch ms). */
export function signWebhook(secret: string, deliveryId: string, body: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return {
    [DELIVERY_HEADER]: deliveryId,
    [TIMESTAMP_HEADER]: timestamp,
    [SIGNATURE_HEADER]: `${SCHEME}${mac(secret, timestamp, body).toString('hex')}`,
  };
}

type HeaderValue = string | readonly string[] | undefined;

export type WebhookVerdict =
  { ok: true; deliveryId: string; timestamp: number } | { ok: false; reason: 'malformed' | 'bad-signature' | 'stale' };

export type VerifyOptions = {
  /** How far the timestamp may be from `now`, either way (seconds). Default 300. */
  toleranceS?: number;
  /** Epoch ms. Default Date.now(). */
  now?: number;
};

const single = (value: HeaderValue): string | undefined => (typeof value === 'string' ? value : undefined);

/**
 * Checks a received request: `headers` as Node gives them (lower-case names), `body` the raw bytes as received
 * (parse the JSON only after this says ok). Compares in constant time; refuses timestamps outside the tolerance.
 */
export function verifyWebhook(
  secret: string,
  headers: Readonly<Record<string, HeaderValue>>,
  body: string | Buffer,
  options: VerifyOptions = {},
): WebhookVerdict {
  const deliveryId = single(headers[DELIVERY_HEADER]);
  const timestamp = single(headers[TIMESTAMP_HEADER]);
  const signature = single(headers[SIGNATURE_HEADER]);
  if (!deliveryId || !timestamp || !/^\d{1,15}$/.test(timestamp) || !signature?.startsWith(SCHEME))
    return { ok: false, reason: 'malformed' };
  const hex = signature.slice(SCHEME.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) return { ok: false, reason: 'malformed' };
  const expected = mac(secret, timestamp, body);
  if (!timingSafeEqual(Buffer.from(hex, 'hex'), expected)) return { ok: false, reason: 'bad-signature' };
  const nowS = (options.now ?? Date.now()) / 1000;
  if (Math.abs(nowS - Number(timestamp)) > (options.toleranceS ?? DEFAULT_TOLERANCE_S)) return { ok: false, reason: 'stale' };
  return { ok: true, deliveryId, timestamp: Number(timestamp) };
}
