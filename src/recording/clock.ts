/**
 * One injected monotonic clock per recording: everything that places audio in time asks it, nothing calls
 * Date.now() inside logic, and tests drive time with a ManualClock instead of waiting.
 */
export interface Clock {
  /** Milliseconds, monotonic (never jumps back with wall-clock adjustments). */
  now(): number;
}

export const monotonicClock: Clock = { now: () => performance.now() };

/** A clock reading milliseconds since `zeroMs` on `base`: the recording's time zero. */
export function recordingClock(base: Clock = monotonicClock, zeroMs: number = base.now()): Clock {
  return { now: () => base.now() - zeroMs };
}

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  #ms: number;
  constructor(startMs = 0) {
    this.#ms = startMs;
  }
  now(): number {
    return this.#ms;
  }
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('a monotonic clock cannot go back');
    this.#ms += ms;
  }
  set(ms: number): void {
    if (ms < this.#ms) throw new RangeError('a monotonic clock cannot go back');
    this.#ms = ms;
  }
}
