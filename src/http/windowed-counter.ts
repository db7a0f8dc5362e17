// Counts events per key (a client address, say) in fixed windows. Pure: the caller hands in the time, and
// every window that ends is handed to `onEnded` for the caller to log. It answers three things: whether a key
// is over its limit (and for how long), whether an event is the first of its key's window (the one worth a log
// line of its own), and, once the window is over, how many events there were in all. So a flood from one key
// costs at most two log lines per window, whatever its size.
//
// At most `maxKeys` keys are tracked, so a flood from many addresses cannot grow memory without bound: a new
// key past that many first drops the windows that are over, then the oldest one still open (reported as ended).

export type WindowTally = {
  key: string;
  /** When the window began (its first event). */
  since: number;
  /** Events counted. */
  count: number;
  /** Events turned away because the key was over its limit. */
  turnedAway: number;
  /** Events counted, by reason. */
  reasons: Record<string, number>;
};

export type WindowedCounterOptions = {
  /** Events a key may have per window before it is turned away; Infinity for a counter that only tallies. */
  limit: number;
  windowMs: number;
  maxKeys: number;
  onEnded: (tally: WindowTally) => void;
};

export type WindowedCounter = {
  /**
   * Seconds until `key` may try again when it is over its limit (the turn-away is tallied), else undefined.
   * Never creates a window: a key that has no counted events is never turned away.
   */
  turnAway(key: string, now: number): number | undefined;
  /** Counts one event for `key`; true when it is the first of the key's window. */
  count(key: string, reason: string, now: number): boolean;
  /** Ends every window that is over by `now` (every window, with Infinity), reporting each. */
  sweep(now: number): void;
};

export function createWindowedCounter(options: WindowedCounterOptions): WindowedCounter {
  const { limit, windowMs, maxKeys, onEnded } = options;
  // Insertion order is the order windows began, which is what eviction and sweeping want.
  const windows = new Map<string, WindowTally>();

  const isOver = (tally: WindowTally, now: number) => now >= tally.since + windowMs;

  function end(tally: WindowTally): void {
    windows.delete(tally.key);
    onEnded(tally);
  }

  /** The key's window still open at `now`, after ending one that is over. */
  function openWindow(key: string, now: number): WindowTally | undefined {
    const tally = windows.get(key);
    if (tally && isOver(tally, now)) {
      end(tally);
      return undefined;
    }
    return tally;
  }

  function sweep(now: number): void {
    for (const tally of windows.values()) if (isOver(tally, now)) end(tally);
  }

  return {
    turnAway(key, now) {
      const tally = openWindow(key, now);
      if (!tally || tally.count < limit) return undefined;
      tally.turnedAway += 1;
      return Math.max(1, Math.ceil((tally.since + windowMs - now) / 1000));
    },
    count(key, reason, now) {
      let tally = openWindow(key, now);
      const first = tally === undefined;
      if (!tally) {
        if (windows.size >= maxKeys) sweep(now);
        const oldest = windows.values().next();
        if (windows.size >= maxKeys && !oldest.done) end(oldest.value);
        tally = { key, since: now, count: 0, turnedAway: 0, reasons: {} };
        windows.set(key, tally);
      }
      tally.count += 1;
      tally.reasons[reason] = (tally.reasons[reason] ?? 0) + 1;
      return first;
    },
    sweep,
  };
}
