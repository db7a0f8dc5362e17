// Decoding on worker threads, so a full re-mix uses every core: each thread (decode-worker.ts) decodes a
// share of the tracks and posts rows of 1 s int16 blocks, moved (not copied) across; this thread sums them.
// Each thread runs at most `readAhead` rows ahead of the sum and gets its buffers back with each row summed,
// so memory stays bounded and nothing is allocated per block once the pipeline is primed.
import { Worker } from 'node:worker_threads';
import { newStats, type DecodeStats } from './track-decoder.ts';
import { fromThreadError, type ThreadError } from './thread-error.ts';
import { Wakeup } from './wakeup.ts';
import { channelsOf, type GridRow, type GridSource, type ScannedTrack } from './track-grid.ts';

/** What a thread decodes, sent once it has started (it starts while the calling thread scans the files). */
export interface DecodeJob {
  tracks: ScannedTrack[];
  frames: number;
  readAhead: number;
}
/** A row summed: its buffers go back, and the thread may decode one more. */
export type ToDecodeWorker =
  | ({ type: 'start' } & DecodeJob)
  | { type: 'recycle'; buffers: ArrayBuffer[] }
  /** Close the files and exit. (Never Worker.terminate: stopped inside a libopus call, the addon aborts the process.) */
  | { type: 'stop' };
export type FromDecodeWorker =
  | ({ type: 'row'; stats: DecodeStats } & GridRow)
  /** Reading `track` (the thread's own index) failed in this row; nothing follows. */
  | { type: 'error'; track: number; error: ThreadError };

// Rows each thread may hold ahead of the sum: enough to ride out a busy moment, bounded in bytes.
const READ_AHEAD_BYTES = 16 << 20;
const MAX_READ_AHEAD = 8;
const MIN_READ_AHEAD = 2;

/** One decoding thread and the rows it has sent that are not read yet. */
class DecodeThread {
  /** The mix's index of each of this thread's tracks, ascending. */
  indices: number[] = [];
  stats = newStats();
  #worker: Worker;
  #rows: FromDecodeWorker[] = [];
  #failed: Error | null = null;
  #exited: Promise<void>;
  #running = true;
  #wakeup = new Wakeup();

  constructor() {
    this.#worker = new Worker(new URL('./decode-worker.ts', import.meta.url));
    this.#worker.on('message', (m: FromDecodeWorker) => {
      this.#rows.push(m);
      this.#wakeup.notify();
    });
    this.#worker.on('error', (err) => {
      this.#failed ??= err;
      this.#wakeup.notify();
    });
    this.#exited = new Promise((resolve) =>
      this.#worker.once('exit', (code) => {
        if (this.#running) this.#failed ??= new Error(`decoding thread exited early (code ${code})`);
        this.#running = false;
        this.#wakeup.notify();
        resolve();
      }),
    );
  }

  start(tracks: ScannedTrack[], indices: number[], frames: number): void {
    this.indices = indices;
    const rowBytes = indices.reduce((sum, i) => sum + frames * channelsOf(tracks[i]!.scan) * 2, 0);
    const readAhead = Math.max(MIN_READ_AHEAD, Math.min(MAX_READ_AHEAD, Math.floor(READ_AHEAD_BYTES / rowBytes)));
    const message: ToDecodeWorker = { type: 'start', tracks: indices.map((i) => tracks[i]!), frames, readAhead };
    this.#worker.postMessage(message);
  }

  async next(): Promise<FromDecodeWorker> {
    for (;;) {
      const row = this.#rows.shift();
      if (row) return row;
      if (this.#failed) throw this.#failed;
      await this.#wakeup.wait();
    }
  }

  recycle(buffers: ArrayBuffer[]): void {
    const message: ToDecodeWorker = { type: 'recycle', buffers };
    this.#worker.postMessage(message, buffers);
  }

  async close(): Promise<void> {
    if (this.#running) {
      this.#running = false;
      const message: ToDecodeWorker = { type: 'stop' };
      this.#worker.postMessage(message);
    }
    await this.#exited;
  }
}

/**
 * Splits the tracks over `threads` threads by file size (a stand-in for decoding work), largest first onto
 * the least loaded thread.
 */
function share(tracks: ScannedTrack[], threads: number): number[][] {
  const load = Array.from({ length: threads }, () => ({ bytes: 0, indices: [] as number[] }));
  const bySize = tracks.map((_, i) => i).sort((a, b) => tracks[b]!.scan.fileSize - tracks[a]!.scan.fileSize);
  for (const i of bySize) {
    const least = load.reduce((a, b) => (b.bytes < a.bytes ? b : a));
    least.bytes += tracks[i]!.scan.fileSize;
    least.indices.push(i);
  }
  // Ascending, so the first failing track in a row is the one the calling thread would have met first.
  return load.filter((l) => l.indices.length > 0).map((l) => l.indices.sort((a, b) => a - b));
}

/**
 * Decoding threads for one pass over the tracks. They start loading at once; `start` hands them the tracks
 * once the calling thread has scanned them.
 */
export class DecodePool implements GridSource {
  #threads: DecodeThread[];
  #fail: (index: number, err: unknown) => Error = (_, err) => (err instanceof Error ? err : new Error(String(err)));

  constructor(threads: number) {
    this.#threads = Array.from({ length: threads }, () => new DecodeThread());
  }

  /** `fail` turns a track's read error (its index in `tracks`) into the error the mix reports. */
  start(tracks: ScannedTrack[], frames: number, fail: (index: number, err: unknown) => Error): void {
    this.#fail = fail;
    const shares = share(tracks, this.#threads.length);
    // More threads than tracks: the idle ones go.
    for (const idle of this.#threads.splice(shares.length)) void idle.close();
    for (const [n, thread] of this.#threads.entries()) thread.start(tracks, shares[n]!, frames);
  }

  async next(): Promise<GridRow> {
    const parts = await Promise.all(this.#threads.map((t) => t.next()));
    let failure: { index: number; error: ThreadError } | null = null;
    const row: GridRow = { pcm: [], ends: [], done: [] };
    for (const [n, part] of parts.entries()) {
      const thread = this.#threads[n]!;
      if (part.type === 'error') {
        const index = thread.indices[part.track]!;
        if (!failure || index < failure.index) failure = { index, error: part.error };
        continue;
      }
      thread.stats = part.stats;
      for (const [k, index] of thread.indices.entries()) {
        row.pcm[index] = part.pcm[k] ?? null;
        row.ends[index] = part.ends[k]!;
        row.done[index] = part.done[k]!;
      }
    }
    if (failure) throw this.#fail(failure.index, fromThreadError(failure.error));
    return row;
  }

  recycle(row: GridRow): void {
    for (const thread of this.#threads) {
      const buffers: ArrayBuffer[] = [];
      for (const index of thread.indices) {
        const pcm = row.pcm[index];
        if (pcm) buffers.push(pcm.buffer as ArrayBuffer);
      }
      thread.recycle(buffers);
    }
  }

  stats(): DecodeStats {
    const total = newStats();
    for (const { stats } of this.#threads) {
      total.decodedPackets += stats.decodedPackets;
      total.skippedPackets += stats.skippedPackets;
      total.undecodablePackets += stats.undecodablePackets;
    }
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.close()));
  }
}
