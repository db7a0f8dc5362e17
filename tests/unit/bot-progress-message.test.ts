// The stop flow's progress message: shown only when preparing a room takes longer than 2 s, kept current,
// and ended with the final line. Manual timers: no real waiting.
import { describe, expect, test } from 'vitest';
import { createProgressMessage, type PostMessage } from '../../src/bot/progress-message.ts';
import { manualTime } from '../helpers/manual-time.ts';

type Said = { kind: 'post' | 'edit'; text: string; at: number };

function setUp(options: { post?: (text: string, said: Said[]) => ReturnType<PostMessage> } = {}) {
  const time = manualTime();
  const said: Said[] = [];
  const errors: { what: string; error: unknown }[] = [];
  const edit = async (text: string) => {
    said.push({ kind: 'edit', text, at: time.now() });
  };
  const post: PostMessage = options.post
    ? (text) => options.post!(text, said)
    : async (text) => {
        said.push({ kind: 'post', text, at: time.now() });
        return edit;
      };
  const progress = createProgressMessage({
    post,
    initial: 'closing the tracks',
    afterMs: 2000,
    editIntervalMs: 1000,
    now: time.now,
    onError: (error, what) => errors.push({ what, error }),
    timers: time.timers,
  });
  return { time, said, errors, progress, edit };
}

describe('progress message of a stop', () => {
  test('a stop prepared in under 2 s posts nothing, not even later', async () => {
    const { time, said, progress } = setUp();
    progress.update('mixing 40%');
    await time.advance(1999);
    progress.settle();
    await time.advance(60_000);
    await progress.finish('ready');
    expect(said).toEqual([]);
    expect(time.pending()).toBe(0);
  });

  test('a stop that takes longer posts the latest line at 2 s, edits it at most once a second, and ends it', async () => {
    const { time, said, progress } = setUp();
    await time.advance(500);
    progress.update('mixing 10%');
    await time.advance(1500);
    expect(said).toEqual([{ kind: 'post', text: 'mixing 10%', at: 2000 }]);
    progress.update('mixing 50%');
    progress.update('mixing 90%');
    await time.advance(999);
    expect(said).toHaveLength(2); // the first edit goes at once, the next waits for the interval
    expect(said[1]).toEqual({ kind: 'edit', text: 'mixing 90%', at: 2000 });
    progress.update('writing the consent receipt');
    await time.advance(1);
    expect(said.at(-1)).toEqual({ kind: 'edit', text: 'writing the consent receipt', at: 3000 });
    progress.settle();
    await progress.finish('✅ ready');
    expect(said.at(-1)).toEqual({ kind: 'edit', text: '✅ ready', at: 3000 });
  });

  test('progress reported while the message is still being posted is not lost', async () => {
    let release: (() => void) | undefined;
    const { time, said, progress, edit } = setUp({
      post: async (text, log) => {
        await new Promise<void>((resolve) => (release = resolve));
        log.push({ kind: 'post', text, at: -1 });
        return edit;
      },
    });
    await time.advance(2000);
    progress.update('mixing 70%');
    release?.();
    await new Promise((resolve) => setImmediate(resolve)); // the post resolves
    await time.advance(0); // the pending edit goes out
    expect(said.map((s) => [s.kind, s.text])).toEqual([
      ['post', 'closing the tracks'],
      ['edit', 'mixing 70%'],
    ]);
  });

  test('a message that cannot be posted is reported and the stop still finishes', async () => {
    const { time, said, errors, progress } = setUp({
      post: async () => {
        throw new Error('Missing Permissions');
      },
    });
    await time.advance(2500);
    await progress.finish('✅ ready');
    expect(said).toEqual([]);
    expect(errors).toEqual([{ what: 'post', error: new Error('Missing Permissions') }]);
  });

  test('nowhere to post (no sendable chat): nothing happens', async () => {
    const { time, said, errors, progress } = setUp({ post: async () => undefined });
    await time.advance(5000);
    await progress.finish('✅ ready');
    expect(said).toEqual([]);
    expect(errors).toEqual([]);
  });
});
