import { describe, expect, test } from 'vitest';
import { createCoalescingEditor } from '../../src/bot/coalescing-editor.ts';
import { manualTime } from '../helpers/manual-time.ts';

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

  test('a failed edit with nothing newer is tried again an interval later, until it goes out', async () => {
    const time = manualTime();
    let attempts = 0;
    const sent: string[] = [];
    const editor = createCoalescingEditor({
      apply: async (text) => {
        attempts += 1;
        if (attempts <= 2) throw new Error('request timed out');
        sent.push(text);
      },
      minIntervalMs: 100,
      now: time.now,
      onError: () => undefined,
      timers: time.timers,
    });
    editor.update('Being recorded: Hana, Ivan');
    await time.advance(0);
    expect(sent).toEqual([]);
    await time.advance(100);
    expect(attempts).toBe(2);
    await time.advance(100);
    expect(sent).toEqual(['Being recorded: Hana, Ivan']);
  });

  test('an edit that keeps failing is given up after its retries, and flush still ends', async () => {
    const time = manualTime();
    let attempts = 0;
    const errors: unknown[] = [];
    const editor = createCoalescingEditor({
      apply: async () => {
        attempts += 1;
        throw new Error('Unknown Message');
      },
      minIntervalMs: 100,
      now: time.now,
      onError: (error) => errors.push(error),
      timers: time.timers,
      retries: 2,
    });
    editor.update('gone');
    await time.advance(1000);
    expect(attempts).toBe(3);
    expect(errors).toHaveLength(3);
    editor.update('again');
    await editor.flush();
    expect(attempts).toBe(6);
  });
});
