// Keeps one Discord message up to date without flooding the API: edits are serialised, at most one per
// `minIntervalMs`, and only the newest text is sent (intermediate states are skipped). Consent changes and
// mixing progress both arrive in bursts; Discord rate-limits message edits per channel. A failed edit is tried
// again (up to `retries` times, one interval apart) unless newer text replaces it: the last change may be the
// last one for a while, and a stale consent message misleads the room.
export type Timers = {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
};

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type CoalescingEditor = {
  update(text: string): void;
  /** Sends any pending text now and resolves when every edit so far has been attempted. */
  flush(): Promise<void>;
};

export function createCoalescingEditor(options: {
  apply: (text: string) => Promise<void>;
  minIntervalMs: number;
  now: () => number;
  onError: (error: unknown) => void;
  timers?: Timers;
  retries?: number;
}): CoalescingEditor {
  const { apply, minIntervalMs, now, onError } = options;
  const retries = options.retries ?? 3;
  let failures = 0;
  const timers = options.timers ?? realTimers;
  let pending: string | undefined;
  let lastSent: string | undefined;
  let lastAt = Number.NEGATIVE_INFINITY;
  let timer: unknown;
  let running: Promise<void> | undefined;

  function schedule(): void {
    if (timer !== undefined || running !== undefined || pending === undefined) return;
    const wait = Math.max(0, lastAt + minIntervalMs - now());
    timer = timers.setTimeout(() => {
      timer = undefined;
      void send();
    }, wait);
  }

  function send(): Promise<void> {
    if (running) return running;
    const text = pending;
    pending = undefined;
    if (text === undefined || text === lastSent) return Promise.resolve();
    lastAt = now();
    running = apply(text)
      .then(
        () => {
          lastSent = text;
          failures = 0;
        },
        (error: unknown) => {
          onError(error);
          failures += 1;
          if (pending === undefined && failures <= retries) pending = text;
          else failures = 0;
        },
      )
      .finally(() => {
        running = undefined;
        schedule();
      });
    return running;
  }

  return {
    update(text) {
      pending = text;
      schedule();
    },
    async flush() {
      if (timer !== undefined) {
        timers.clearTimeout(timer);
        timer = undefined;
      }
      while (running !== undefined || pending !== undefined) {
        if (timer !== undefined) {
          timers.clearTimeout(timer);
          timer = undefined;
        }
        await (running ?? send());
      }
    },
  };
}
