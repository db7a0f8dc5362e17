// Live mix thread entry: one room's LiveMix, driven by live-mix-thread.ts (the protocol is there). LiveMix
// runs its calls one at a time in order, so each message is handed to it as it comes; an abort stops the
// work under way at its next block.
//
// The live mix is background work and may fall behind for a while; the voice socket may not. So this thread
// runs at a lower CPU priority: when the cores are busy (other rooms, other programs) the main thread gets
// the CPU first instead of sharing it equally with a thread per room.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { LiveMix, type LiveMixOptions } from './live-mix.ts';
import type { FromLiveMixThread, ToLiveMixThread } from './live-mix-thread.ts';
import type { MixResult } from './mixer.ts';
import { toThreadError } from './thread-error.ts';

/** Nice value of the live mix thread (0 is normal, 19 the lowest); an encoder thread of its own would inherit it. */
const BACKGROUND_NICE = 10;

// On Linux the nice value belongs to a thread, set through the thread's own id; elsewhere it would lower the
// whole process, so it is left alone there, as it is when the system refuses.
if (process.platform === 'linux') {
  try {
    const tid = Number(basename(readlinkSync('/proc/thread-self')));
    // Never raised: a bot started under `nice` keeps its threads at least that low.
    if (getPriority(tid) < BACKGROUND_NICE) setPriority(tid, BACKGROUND_NICE);
  } catch {
    // Normal priority it is: the mix is the same, only less polite to the main thread.
  }
}

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
