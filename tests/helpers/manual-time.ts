import type { Timers } from '../../src/bot/coalescing-editor.ts';

/**
 * A clock and timers that move only when the test advances them: time-dependent logic tested without
 * waiting. `advance` runs due callbacks in time order and lets their promises settle between them.
 */
export function manualTime() {
  let now = 0;
  const queue: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const timers: Timers = {
    setTimeout(fn, ms) {
      const id = nextId++;
      queue.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(handle) {
      const index = queue.findIndex((t) => t.id === handle);
      if (index >= 0) queue.splice(index, 1);
    },
  };
  async function advance(ms: number) {
    const until = now + ms;
    for (;;) {
      queue.sort((a, b) => a.at - b.at);
      const due = queue[0];
      if (!due || due.at > until) break;
      queue.shift();
      now = due.at;
      due.fn();
      await new Promise((resolve) => setImmediate(resolve));
    }
    now = until;
  }
  return { timers, advance, now: () => now, pending: () => queue.length };
}
