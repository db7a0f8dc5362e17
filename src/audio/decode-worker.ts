// Decoding thread entry: decodes its share of a mix's tracks into rows of grid blocks, as far ahead of
// the summing thread as it is allowed. Protocol in decode-pool.ts.
import { parentPort } from 'node:worker_threads';
import { newStats, trackFromScan, type DecodeStats } from './track-decoder.ts';
import { toThreadError } from './thread-error.ts';
import { Wakeup } from './wakeup.ts';
import { channelsOf, fillRow, TrackGrid, TrackReadError } from './track-grid.ts';
import type { DecodeJob, FromDecodeWorker, ToDecodeWorker } from './decode-pool.ts';

const port = parentPort;
if (!port) throw new Error('decode-worker.ts must run in a worker thread');

// Buffers the summing thread has handed back, by length (mono and stereo tracks differ).
const free = new Map<number, Int16Array[]>();
const take = (length: number) => free.get(length)?.pop() ?? new Int16Array(length);
let credit = 0;
let stopping = false;
let decoding: Promise<void> = Promise.resolve();
const wakeup = new Wakeup();

port.on('message', (m: ToDecodeWorker) => {
  if (m.type === 'start') {
    credit = m.readAhead;
    decoding = decode(m);
  } else if (m.type === 'stop') {
    stopping = true;
    wakeup.notify();
    // Exits once the row being decoded is done and every file is closed.
    void decoding.finally(() => process.exit(0));
  } else {
    credit++;
    for (const buffer of m.buffers) {
      const pcm = new Int16Array(buffer);
      const list = free.get(pcm.length) ?? [];
      list.push(pcm);
      free.set(pcm.length, list);
    }
    wakeup.notify();
  }
});

const post = (message: FromDecodeWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

async function decode({ tracks, frames }: DecodeJob): Promise<void> {
  const stats = newStats();
  const grids = tracks.map((t) => new TrackGrid(trackFromScan(t.path, t.scan), stats));
  try {
    await decodeRows(
      grids,
      stats,
      tracks.map((t) => frames * channelsOf(t.scan)),
      frames,
    );
  } finally {
    await Promise.all(grids.map((g) => g.close()));
  }
}

async function decodeRows(grids: TrackGrid[], stats: DecodeStats, sizes: number[], frames: number): Promise<void> {
  let buffers = sizes.map(take);
  // Rows go on (all silence) after the last track ends: the summing thread decides where the mix ends.
  for (let t = 0; ; t += frames) {
    while (credit === 0 && !stopping) await wakeup.wait();
    if (stopping) return;
    credit--;
    let row;
    try {
      row = await fillRow(grids, buffers, t, frames);
    } catch (err) {
      if (!(err instanceof TrackReadError)) throw err;
      post({ type: 'error', track: err.index, error: toThreadError(err.cause) });
      return;
    }
    const sent = row.pcm.flatMap((pcm) => (pcm ? [pcm.buffer as ArrayBuffer] : []));
    post({ type: 'row', ...row, stats: { ...stats } }, sent);
    buffers = buffers.map((b, i) => (row.pcm[i] ? take(sizes[i]!) : b));
  }
}
