// A track cut to the mix's grid: for each 1 s block of the timeline, the track's samples in it as one
// int16 buffer, or nothing when the whole block is silence. The mixer sums such rows, one buffer per track,
// whether they were decoded on its own thread (LocalGrids) or on decoding threads (decode-pool.ts): the
// same code cuts them in both places, so the mix is the same sample for sample.
import { newStats, trackFromScan, type DecodeStats, type DecodedTrack, type TrackBlock } from './track-decoder.ts';
import type { OggOpusScan } from './ogg-opus-stream.ts';

/** One block of the timeline, every track. */
export interface GridRow {
  /** Per track: its samples in the block, zeros where it is silent or has ended; null when all of it is silence. */
  pcm: (Int16Array | null)[];
  /** Per track: the end of the last decoded block so far, its length once `done`. */
  ends: number[];
  /** Per track: no more blocks. */
  done: boolean[];
}

/** Where rows come from; the mixer reads them in order, hands each back when it has summed it, and closes. */
export interface GridSource {
  next(): Promise<GridRow>;
  /** The row is summed: its buffers may be filled again. */
  recycle(row: GridRow): void;
  stats(): DecodeStats;
  close(): Promise<void>;
}

/** A track the mixer has scanned: what a decoding thread needs to read it again without a second scan. */
export interface ScannedTrack {
  path: string;
  scan: OggOpusScan;
}

export const channelsOf = (scan: OggOpusScan): 1 | 2 => (scan.head.channels === 1 ? 1 : 2);

/** Reads one track's blocks in step with the grid. */
export class TrackGrid {
  readonly channels: 1 | 2;
  done = false;
  end = 0;
  #blocks: AsyncIterator<TrackBlock>;
  #block: TrackBlock | null = null;

  constructor(track: DecodedTrack, stats: DecodeStats) {
    this.channels = track.channels;
    this.#blocks = track.blocks({ stats })[Symbol.asyncIterator]();
  }

  /**
   * Writes the track's samples in [t0, t0 + frames) into `out` (frame 0 = t0), zeros where it has none.
   * Returns false, leaving `out` as it was, when the whole range is silence.
   */
  async fill(out: Int16Array, t0: number, frames: number): Promise<boolean> {
    const t1 = t0 + frames;
    const ch = this.channels;
    let written = 0; // frames of `out` set so far, once `audio`
    let audio = false;
    const zeroTo = (frame: number) => {
      if (frame > written) out.fill(0, written * ch, frame * ch);
      written = frame;
    };
    for (;;) {
      if (!this.#block) {
        if (this.done) break;
        const next = await this.#blocks.next();
        if (next.done) {
          this.done = true;
          break;
        }
        this.#block = next.value;
        this.end = next.value.start + next.value.frames;
      }
      const b = this.#block;
      if (b.start >= t1) break;
      const from = Math.max(b.start, t0);
      const to = Math.min(b.start + b.frames, t1);
      if (b.pcm && to > from) {
        audio = true;
        zeroTo(from - t0);
        out.set(b.pcm.subarray((from - b.start) * ch, (to - b.start) * ch), (from - t0) * ch);
        written = to - t0;
      }
      if (b.start + b.frames > t1) break;
      this.#block = null;
    }
    if (audio) zeroTo(frames);
    return audio;
  }

  /** Closes the file, whether or not the track was read to its end. */
  async close(): Promise<void> {
    this.done = true;
    await this.#blocks.return?.();
  }
}

/** A track's blocks could not be read; `index` is the track's place in the row. */
export class TrackReadError extends Error {
  override name = 'TrackReadError';
  readonly index: number;

  constructor(index: number, cause: unknown) {
    super(`track ${index} cannot be read`, { cause });
    this.index = index;
  }
}

/** Fills a row from `grids` into `buffers` (one per grid, reused while its block is silence). */
export async function fillRow(grids: TrackGrid[], buffers: Int16Array[], t0: number, frames: number): Promise<GridRow> {
  const row: GridRow = { pcm: [], ends: [], done: [] };
  for (const [i, grid] of grids.entries()) {
    let audio: boolean;
    try {
      audio = await grid.fill(buffers[i]!, t0, frames);
    } catch (err) {
      throw new TrackReadError(i, err);
    }
    row.pcm.push(audio ? buffers[i]! : null);
    row.ends.push(grid.end);
    row.done.push(grid.done);
  }
  return row;
}

/** Rows decoded on the calling thread: for short mixes, where starting threads would cost more than it saves. */
export class LocalGrids implements GridSource {
  #grids: TrackGrid[];
  #buffers: Int16Array[];
  #stats = newStats();
  #t = 0;
  #frames: number;
  #fail: (index: number, err: unknown) => Error;

  constructor(tracks: ScannedTrack[], frames: number, fail: (index: number, err: unknown) => Error) {
    this.#grids = tracks.map((t) => new TrackGrid(trackFromScan(t.path, t.scan), this.#stats));
    this.#buffers = tracks.map((t) => new Int16Array(frames * channelsOf(t.scan)));
    this.#frames = frames;
    this.#fail = fail;
  }

  async next(): Promise<GridRow> {
    try {
      return await fillRow(this.#grids, this.#buffers, this.#t, this.#frames);
    } catch (err) {
      throw err instanceof TrackReadError ? this.#fail(err.index, err.cause) : err;
    } finally {
      this.#t += this.#frames;
    }
  }

  recycle(): void {}

  stats(): DecodeStats {
    return this.#stats;
  }

  async close(): Promise<void> {
    await Promise.all(this.#grids.map((g) => g.close()));
  }
}
