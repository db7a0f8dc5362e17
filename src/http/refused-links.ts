// The per-address limit on refused links, and their log. A link is 256 bits of HMAC, so guessing one is hopeless;
// what a client that sends link after bad link costs is work and log lines. So after `limit` refusals from one
// address in a window it is told to wait (429 with Retry-After) without its links being looked at, and the log
// gets its first refusal in full and then one line per window with the count, not one line per request.
import type { Logger } from '../log.ts';
import { createWindowedCounter } from './windowed-counter.ts';

export type RefusedLinkLimit = { limit: number; windowMs: number };

export const DEFAULT_REFUSED_LINK_LIMIT: RefusedLinkLimit = { limit: 20, windowMs: 10 * 60_000 };

/** Addresses with refusals remembered at once; past that the oldest window is closed early (and logged). */
const MAX_TRACKED_ADDRESSES = 10_000;

export type RefusedLinks = {
  /** Seconds `client` must wait before its links are looked at again, or undefined when it need not. */
  retryAfter(client: string, now: number): number | undefined;
  refused(client: string, reason: string, now: number): void;
  /** Logs the windows that are over by `now` (every window, with Infinity). */
  sweep(now: number): void;
};

export function createRefusedLinks(limits: RefusedLinkLimit, log: Logger): RefusedLinks {
  const counter = createWindowedCounter({
    ...limits,
    maxKeys: MAX_TRACKED_ADDRESSES,
    onEnded: ({ key, since, count, turnedAway, reasons }) => {
      // A lone refusal was logged in full when it happened.
      if (count > 1 || turnedAway > 0) {
        log.info({ client: key, since: new Date(since).toISOString(), refused: count, turnedAway, reasons }, 'download links refused');
      }
    },
  });
  return {
    retryAfter: (client, now) => counter.turnAway(client, now),
    refused(client, reason, now) {
      if (counter.count(client, reason, now)) log.info({ client, reason }, 'download link refused');
    },
    sweep: (now) => counter.sweep(now),
  };
}
