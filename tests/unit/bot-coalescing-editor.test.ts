import { describe, expect, test } from 'vitest';
import { createCoalescingEditor, type Timers } from '../../src/bot/coalescing-editor.ts';

/** Timers that fire only when the test advances time. */
function manualTime() {
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
  return { timers, advance, now: () => now };
}

const rethrow = (error: unknown) => {
  throw error;
};

describe('coalescing editor', () => {
  test('sends the newest text only, at most once per interval', async () => {
    const time = manualTime();
    const sent: string[] = [];
    const editor = createCoalescingEditor({
      apply: async (text) => {
        sent.push(text);
      },
      minIntervalMs: 1000,
      now: time.now,
      onError: rethrow,
      timers: time.timers,
    });
    editor.update('a');
    await time.advance(0);
    expect(sent).toEqual(['a']);
    editor.update('b');
    editor.update('c');
    await time.advance(500);
    expect(sent).toEqual(['a']);
    await time.advance(500);
    expect(sent).toEqual(['a', 'c']);
    editor.update('c');
    await time.advance(2000);
    expect(sent).toEqual(['a', 'c']);
  });

  test('flush sends what is pending at once and waits for it', async () => {
    const time = manualTime();
    const sent: string[] = [];
    const editor = createCoalescingEditor({
      apply: async (text) => {
        await new Promise((resolve) => setImmediate(resolve));
        sent.push(text);
      },
      minIntervalMs: 60_000,
      now: time.now,
      onError: rethrow,
      timers: time.timers,
    });
    editor.update('first');
    await time.advance(0);
    editor.update('final');
    await editor.flush();
    expect(sent).toEqual(['first', 'final']);
  });

  test('a failed edit is reported and later edits still go out', async () => {
    const time = manualTime();
    const errors: unknown[] = [];
    const sent: string[] = [];
    const editor = createCoalescingEditor({
      apply: async (text) => {
        if (text === 'bad') throw new Error('rate limited');
        sent.push(text);
      },
      minIntervalMs: 10,
      now: time.now,
      onError: (error) => errors.push(error),
      timers: time.timers,
    });
    editor.update('bad');
    await time.advance(0);
    editor.update('good');
    await time.advance(10);
    expect(errors).toHaveLength(1);
    expect(sent).toEqual(['good']);
  });
});
