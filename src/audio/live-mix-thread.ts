// A LiveMix (live-mix.ts) on a worker thread of its own, so that reading the growing tracks, decoding,
// summing, limiting and encoding never run on the bot's main thread, where the voice socket is read. The
// messages are small (an input's path, a horizon); the thread reads the track files itself, and reports each
// block it mixed so `mixedFrames` stays current. The thread ends with finish() or abort(). If it fails or
// dies, every call from then on rejects with why, which the caller treats as the live mix failing.
//
//   main thread                               live mix thread (live-mix-worker.ts)
//   add {path} / advance {horizon} ─────────▶  LiveMix: tails, decoders, sum, limiter, encoder
//   finish / abort                 ◀─────────  mixed {frames} per block · done {stats, result} · failed {error}
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { LiveMix, livePartialPath, type LiveMixOptions, type LiveMixStats } from './live-mix.ts';
import type { MixInput, MixResult } from './mixer.ts';
import { fromThreadError, type ThreadError } from './thread-error.ts';
import { newStats } from './track-decoder.ts';

/** What a live mix's owner drives, the same here and on a thread. */
export type LiveMixHandle = Pick<
  LiveMix,
  'output' | 'format' | 'mixedFrames' | 'stats' | 'hasInput' | 'addInput' | 'advanceTo' | 'finish' | 'abort'
>;

export type ToLiveMixThread =
  | { id: number; type: 'add'; input: MixInput }
  | { id: number; type: 'advance'; horizon: number }
  | { id: number; type: 'finish' }
  | { id: number; type: 'abort' };

/** id 0 answers the thread's start (ready or failed). */
export type FromLiveMixThread =
  | { type: 'ready'; threadId: number; encoderThread: boolean }
  | { type: 'mixed'; frames: number }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'done'; id: number; stats: LiveMixStats; result?: MixResult }
  | { type: 'failed'; id: number; error: ThreadError; stats?: LiveMixStats };

interface Call {
  resolve: (result: MixResult | undefined) => void;
  reject: (err: Error) => void;
  onProgress?: (done: number, total: number) => void;
}

/** A live mix on its own thread (the default), or on this one in slices (`thread: false`). */
export async function openLiveMix(opts: LiveMixOptions, { thread }: { thread: boolean }): Promise<LiveMixHandle> {
  return thread ? LiveMixThread.create(opts) : LiveMix.create(opts);
}

export class LiveMixThread implements LiveMixHandle {
  readonly output: string;
  readonly format: LiveMixOptions['format'];
  #worker: Worker;
  #stats: LiveMixStats = { inputs: [], mixedFrames: 0, lateAudioFrames: 0, lateQuietFrames: 0, decode: newStats() };
  #inputs = new Set<string>();
  // Call 0 is the thread's start; it resolves with the thread's id.
  #calls = new Map<number, Call>();
  #nextId = 1;
  #threadId = 0;
  #encoderThread = false;
  /** Why the thread can do no more (it failed to start, or died); every later call rejects with it. */
  #dead: Error | null = null;
  /** Set once this side ends the thread (finish, abort), so its exit is expected. */
  #ending: Promise<void> | null = null;

  private constructor(opts: LiveMixOptions, started: Call) {
    this.output = opts.output;
    this.format = opts.format;
    this.#calls.set(0, started);
    // The encoder runs in this same thread unless asked otherwise: an encoder thread costs about 30 MB of RSS
    // (a V8 isolate; measured 28.6-33 MB each for 1 to 20 of them), once per room, while a live mix needs only
    // about 1 % of a core to keep up, so a second thread buys it nothing but memory. A full re-mix (mixer.ts)
    // still encodes on a thread of its own, where the parallelism pays.
    const workerData: LiveMixOptions = { ...opts, encoderThread: opts.encoderThread ?? false };
    this.#worker = new Worker(new URL('./live-mix-worker.ts', import.meta.url), { workerData });
    this.#worker.on('message', (m: FromLiveMixThread) => this.#onMessage(m));
    this.#worker.on('error', (err: Error) => this.#die(err));
    // Whatever was still asked of it can have no answer now.
    this.#worker.on('exit', (code) =>
      this.#die(new Error(this.#ending ? 'the live mix thread has ended' : `the live mix thread exited unexpectedly (code ${code})`)),
    );
  }

  static async create(opts: LiveMixOptions): Promise<LiveMixThread> {
    let mix: LiveMixThread | undefined;
    const started = new Promise<unknown>((resolve, reject) => (mix = new LiveMixThread(opts, { resolve, reject })));
    try {
      await started;
    } catch (err) {
      await mix!.#end();
      throw err;
    }
    return mix!;
  }

  /** The worker thread's id (worker_threads.threadId there): never the main thread's. */
  get threadId(): number {
    return this.#threadId;
  }

  /** Whether the encoder has yet another thread (false by default: it runs in the live mix's thread). */
  get encoderThread(): boolean {
    return this.#encoderThread;
  }

  get mixedFrames(): number {
    return this.#stats.mixedFrames;
  }

  stats(): LiveMixStats {
    return { ...this.#stats, inputs: [...this.#stats.inputs], decode: { ...this.#stats.decode } };
  }

  hasInput(path: string): boolean {
    return this.#inputs.has(path);
  }

  async addInput(input: MixInput): Promise<void> {
    await this.#call({ type: 'add', input });
    this.#inputs.add(input.path);
  }

  async advanceTo(horizon: number): Promise<void> {
    await this.#call({ type: 'advance', horizon });
  }

  async finish(opts: { onProgress?: (doneFrames: number, totalFrames: number) => void } = {}): Promise<MixResult> {
    try {
      const result = await this.#call({ type: 'finish' }, opts.onProgress);
      if (!result) throw new Error('the live mix thread finished without a result');
      return result;
    } finally {
      await this.#end();
    }
  }

  /** Stops the thread's work at its next block boundary, removes the partial output and ends the thread. */
  async abort(): Promise<void> {
    // A failed call already rejected to its own caller; here the thread only has to be over.
    if (!this.#dead && !this.#ending) await this.#call({ type: 'abort' }).catch(() => undefined);
    await this.#end();
    // The thread removes it when it aborts; not when it died.
    await rm(livePartialPath(this.output), { force: true });
  }

  #call(message: DistributiveOmit<ToLiveMixThread, 'id'>, onProgress?: Call['onProgress']): Promise<MixResult | undefined> {
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#ending) return Promise.reject(new Error('the live mix thread has ended'));
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#calls.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      this.#worker.postMessage({ ...message, id });
    });
  }

  #onMessage(m: FromLiveMixThread): void {
    switch (m.type) {
      case 'ready':
        this.#threadId = m.threadId;
        this.#encoderThread = m.encoderThread;
        this.#settle(0)?.resolve(undefined);
        return;
      case 'mixed':
        this.#stats.mixedFrames = m.frames;
        return;
      case 'progress':
        this.#calls.get(m.id)?.onProgress?.(m.done, m.total);
        return;
      case 'done':
        this.#stats = m.stats;
        this.#settle(m.id)?.resolve(m.result);
        return;
      case 'failed':
        if (m.stats) this.#stats = m.stats;
        this.#settle(m.id)?.reject(fromThreadError(m.error));
    }
  }

  #settle(id: number): Call | undefined {
    const call = this.#calls.get(id);
    this.#calls.delete(id);
    return call;
  }

  #die(err: Error): void {
    this.#dead ??= err;
    for (const call of this.#calls.values()) call.reject(this.#dead);
    this.#calls.clear();
  }

  #end(): Promise<void> {
    this.#ending ??= this.#worker.terminate().then(() => undefined);
    return this.#ending;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
