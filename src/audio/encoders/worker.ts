// Encoder thread entry: runs one Encoder for the mixer, so libopus/LAME/libFLAC work on a core of their own,
// beside the threads that decode and sum. Protocol in worker-client.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { toThreadError } from '../thread-error.ts';
import { createEncoder } from './index.ts';
import type { EncoderOptions, MixFormat } from './encoder.ts';
import type { FromWorker, ToWorker } from './worker-client.ts';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const { format, options } = workerData as { format: MixFormat; options: EncoderOptions };

const post = (message: FromWorker) => port.postMessage(message);
const failure = (err: unknown): FromWorker => ({ type: 'error', ...toThreadError(err) });

// Messages are handled strictly in order: each waits for the previous one's file writes.
let queue: Promise<unknown> = createEncoder(format, options).then(
  (encoder) => {
    post({ type: 'ready' });
    return encoder;
  },
  (err: unknown) => {
    post(failure(err));
    throw err;
  },
);

port.on('message', (message: ToWorker) => {
  queue = queue.then(async (encoder) => {
    const e = encoder as Awaited<ReturnType<typeof createEncoder>>;
    try {
      if (message.type === 'write') await e.write(message.pcm);
      else if (message.type === 'finish') await e.finish();
      else await e.abort();
      post({ type: 'ack' });
    } catch (err) {
      post(failure(err));
    }
    return e;
  });
});
