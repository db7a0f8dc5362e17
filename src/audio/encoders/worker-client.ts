// The Encoder interface, implemented by posting PCM to worker.ts. Up to MAX_IN_FLIGHT blocks wait in the
// worker, so the mixer only waits when the encoder is the slower side, and memory stays bounded.
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { fromThreadError, type ThreadError } from '../thread-error.ts';
import { createEncoder } from './index.ts';
import { Wakeup } from '../wakeup.ts';
import type { Encoder, EncoderOptions, MixFormat } from './encoder.ts';

export type ToWorker = { type: 'write'; pcm: Float32Array } | { type: 'finish' } | { type: 'abort' };
export type FromWorker = { type: 'ready' } | { type: 'ack' } | ({ type: 'error' } & ThreadError);

const MAX_IN_FLIGHT = 4;

export async function createEncoderInWorker(format: MixFormat, options: EncoderOptions, opts: { thread: boolean }): Promise<Encoder> {
  if (!opts.thread) return createEncoder(format, options);
  const worker = new Worker(new URL('./worker.ts', import.meta.url), { workerData: { format, options } });
  let outstanding = 1; // the 'ready' message
  let failed: Error | null = null;
  let finished = false;
  const wakeup = new Wakeup();
  worker.on('message', (m: FromWorker) => {
    if (m.type === 'error') {
      failed ??= fromThreadError(m);
    } else outstanding--;
    wakeup.notify();
  });
  worker.on('error', (err) => {
    failed ??= err;
    wakeup.notify();
  });
  worker.on('exit', (code) => {
    if (!finished) failed ??= new Error(`encoder thread exited early (code ${code})`);
    wakeup.notify();
  });
  const waitFor = async (done: () => boolean) => {
    for (;;) {
      if (failed) throw failed;
      if (done()) return;
      await wakeup.wait();
    }
  };
  const send = (message: ToWorker, transfer: ArrayBuffer[] = []) => {
    if (failed) throw failed;
    outstanding++;
    worker.postMessage(message, transfer);
  };
  const stop = async () => {
    finished = true;
    await worker.terminate();
  };

  try {
    await waitFor(() => outstanding === 0);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    async write(pcm) {
      // Transfer, not copy, when the array owns its whole buffer (the limiter hands out fresh ones).
      const own = pcm.byteOffset === 0 && pcm.buffer instanceof ArrayBuffer && pcm.byteLength === pcm.buffer.byteLength ? pcm : pcm.slice();
      send({ type: 'write', pcm: own }, [own.buffer as ArrayBuffer]);
      await waitFor(() => outstanding < MAX_IN_FLIGHT);
    },
    async finish() {
      send({ type: 'finish' });
      try {
        await waitFor(() => outstanding === 0);
      } finally {
        await stop();
      }
    },
    async abort() {
      if (!failed) {
        send({ type: 'abort' });
        // A failure while aborting still ends in the removal below.
        await waitFor(() => outstanding === 0).catch((err: unknown) => {
          failed ??= err instanceof Error ? err : new Error(String(err));
        });
      }
      await stop();
      await rm(options.path, { force: true });
    },
  };
}
