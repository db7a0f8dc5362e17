// Live mix thread entry: one room's LiveMix, driven by live-mix-thread.ts (the protocol is there). LiveMix
// runs its calls one at a time in order, so each message is handed to it as it comes; an abort stops the
// work under way at its next block.
//
// The thread runs at a lower CPU priority (background-priority.ts): the live mix may fall behind for a while,
// the voice socket may not.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { lowerThisThreadsPriority } from './background-priority.ts';
import { LiveMix, type LiveMixOptions } from './live-mix.ts';
import type { FromLiveMixThread, ToLiveMixThread } from './live-mix-thread.ts';
import type { MixResult } from './mixer.ts';
import { toThreadError } from './thread-error.ts';

lowerThisThreadsPriority();

const port = parentPort;
if (!port) throw new Error('live-mix-worker.ts must run in a worker thread');
const post = (message: FromLiveMixThread) => port.postMessage(message);

const started = LiveMix.create(workerData as LiveMixOptions, (frames) => post({ type: 'mixed', frames }));
started.then(
  (mix) => post({ type: 'ready', threadId, encoderThread: mix.encoderThread }),
  (err: unknown) => post({ type: 'failed', id: 0, error: toThreadError(err) }),
);

async function run(mix: LiveMix, m: ToLiveMixThread): Promise<MixResult | undefined> {
  switch (m.type) {
    case 'add':
      return void (await mix.addInput(m.input));
    case 'advance':
      return void (await mix.advanceTo(m.horizon));
    case 'finish':
      return mix.finish({ onProgress: (done, total) => post({ type: 'progress', id: m.id, done, total }) });
    case 'abort':
      return void (await mix.abort());
  }
}

// Messages come only after 'ready', so the mix exists.
port.on('message', (m: ToLiveMixThread) => {
  void started.then(async (mix) => {
    try {
      const result = await run(mix, m);
      post({ type: 'done', id: m.id, stats: mix.stats(), ...(result ? { result } : {}) });
    } catch (err) {
      post({ type: 'failed', id: m.id, error: toThreadError(err), stats: mix.stats() });
    }
  });
});
