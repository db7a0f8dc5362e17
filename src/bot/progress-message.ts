// The progress message of a stop. A short stop shows nothing (the DM follows at once); a long one posts a
// message once preparing has taken longer than `afterMs`, keeps it up to date without flooding the API, and
// ends it with a final line. Timers and clock are injected so the timing is tested without waiting.
import { createCoalescingEditor, realTimers, type CoalescingEditor, type Timers } from './coalescing-editor.ts';

/** Posts the message; resolves with a function that edits it, or undefined when it cannot be posted there. */
export type PostMessage = (text: string) => Promise<((text: string) => Promise<void>) | undefined>;

export type ProgressMessage = {
  /** The newest progress line: shown if the message is (or gets) posted. */
  update(text: string): void;
  /** Preparing is over: a message not posted by now never will be. */
  settle(): void;
  /** Settles, and if the message was posted, edits it to `text` and waits for every edit. */
  finish(text: string): Promise<void>;
};

export function createProgressMessage(options: {
  post: PostMessage;
  initial: string;
  afterMs: number;
  editIntervalMs: number;
  now: () => number;
  onError: (error: unknown, what: 'post' | 'edit') => void;
  timers?: Timers;
}): ProgressMessage {
  const timers = options.timers ?? realTimers;
  let latest = options.initial;
  let editor: CoalescingEditor | undefined;
  let posting: Promise<void> | undefined;

  function show(): void {
    timer = undefined;
    const posted = latest;
    posting = options.post(posted).then(
      (edit) => {
        if (!edit) return;
        editor = createCoalescingEditor({
          apply: edit,
          minIntervalMs: options.editIntervalMs,
          now: options.now,
          onError: (error) => options.onError(error, 'edit'),
          timers,
        });
        // Progress that arrived while the message was being posted.
        if (latest !== posted) editor.update(latest);
      },
      (error: unknown) => options.onError(error, 'post'),
    );
  }

  let timer: unknown = timers.setTimeout(show, options.afterMs);

  function settle(): void {
    if (timer === undefined) return;
    timers.clearTimeout(timer);
    timer = undefined;
  }

  return {
    update(text) {
      latest = text;
      editor?.update(text);
    },
    settle,
    async finish(text) {
      settle();
      await posting;
      if (!editor) return;
      editor.update(text);
      await editor.flush();
    },
  };
}
