// How long the download server waits for a client, and how many it serves at once, so that slow or stalled
// connections (slowloris, a phone that vanished mid-download) cannot pile up until it runs out of sockets or
// file descriptors. Node's own limits do the work; this module picks them and logs what they turn away.
import type { Server, ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.ts';
import { createWindowedCounter, type WindowTally } from './windowed-counter.ts';

export type ConnectionLimits = {
  /** The request's headers must all have arrived this long after it began (slowloris); else 408 and close. */
  headersTimeoutMs: number;
  /** The whole request must have arrived this long after it began. */
  requestTimeoutMs: number;
  /** An idle kept-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** A connection on which nothing moves, either way, for this long is closed: a stalled download holds no file. */
  idleTimeoutMs: number;
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: number;
};

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  maxConnections: 200,
};

/** A refused connection is logged once, then counted: one summary line a minute at most, however many. */
const DROP_WINDOW_MS = 60_000;

export function serverOptions(limits: ConnectionLimits): ServerOptions {
  return {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks the two request timeouts on this interval (30 s by default, which would stretch them).
    connectionsCheckingInterval: Math.max(10, Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4),
  };
}

/** Applies the limits that are not server options; returns the sweep for the caller's log-flush timer. */
export function limitConnections(server: Server, limits: ConnectionLimits, log: Logger, now: () => number): (at: number) => void {
  server.maxConnections = limits.maxConnections;
  const drops = createWindowedCounter({
    limit: Infinity,
    windowMs: DROP_WINDOW_MS,
    maxKeys: 1,
    onEnded: (tally: WindowTally) => {
      if (tally.count > 1) log.warn({ refused: tally.count, since: new Date(tally.since).toISOString() }, 'connections refused at the cap');
    },
  });
  server.on('drop', () => {
    if (drops.count('cap', 'max-connections', now())) {
      log.warn({ maxConnections: limits.maxConnections }, 'connection refused: the download server has as many open as it allows');
    }
  });
  server.setTimeout(limits.idleTimeoutMs, (socket: Socket) => {
    log.debug({ idleMs: limits.idleTimeoutMs }, 'idle connection closed');
    socket.destroy();
  });
  return (at) => drops.sweep(at);
}
