// The mix made while the room runs, so that a stop only has the last seconds left to do.
//
// The same summation as mixTracks (same 1 s block grid, same decoding, same limiter and encoder), run over
// tracks that are still growing (track-tail.ts) and advanced in steps up to a horizon the caller vouches
// for: nothing will ever be placed on any track before it. Beyond a track's current end of file, up to the
// horizon, the track is silence. When the file later grows over that range (the recorder fills a pause
// with exact-silence packets once the next packet arrives) those blocks are skipped as already mixed.
//
//   timeline  0 ............................ mixed | horizon ...... now (recording time)
//   track A   [pages on disk ........................ ]                       (EOF: silent up to horizon)
//   track B   [pages on disk ...................................... ][torn]    (read up to the horizon)
//
// Audio (not silence) showing up for a range already mixed would make the live mix differ from a mix of the
// finished tracks: it is counted in `lateAudioFrames`, and a caller that wants the exact mix redoes it. The
// only non-silent output expected there is the decode of the exact-silence packet that primes the decoder
// before a spurt (track-decoder.ts), a few LSB at most: output this quiet is counted apart and not a reason.
//
// In the bot it runs on a worker thread of its own (live-mix-thread.ts), away from the voice UDP socket
// on the main thread: decoding one 1 s block of 50 speakers takes a quarter of a second, and on the main
// thread the socket's receive buffer would fill and drop packets meanwhile. It still works in slices,
// yielding after any track once SLICE_MS have passed since the last yield (WorkSlices): run in-thread (tests,
// `thread: false`) that keeps a packet's wait to about one track's decode, and on its thread it lets an abort
// (a withdrawal, the room gone) stop a long catch-up at the next block. Yielding changes nothing in the
// result: the horizon was fixed before the advance, and a track that grows meanwhile only grows past it.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  accumulate,
  describeInputError,
  labelOf,
  LimitedEncoder,
  MIX_BLOCK_FRAMES,
  type MixFormat,
  type MixInput,
  type MixResult,
} from './mixer.ts';
import { newStats, type DecodeStats, type TrackBlock } from './track-decoder.ts';
import { TrackTail } from './track-tail.ts';

export interface LiveMixOptions {
  /** Where the finished mix goes; the live output is `output.live-partial-<pid>` until finish(). */
  output: string;
  format: MixFormat;
  /** Tags written at the start (the speakers are not known yet, so there is no SPEAKERS tag). */
  tags?: Record<string, string>;
  /** Encode on a worker thread (default true; live-mix-thread.ts, already off the main thread, defaults to false). */
  encoderThread?: boolean;
}

/** Told after every block mixed (live-mix-thread.ts passes it on, so a caller's status stays current). */
export type OnMixed = (mixedFrames: number) => void;

export interface LiveMixStats {
  /** Labels of the inputs, in the order they were added. */
  inputs: string[];
  /** Mix frames produced so far (48 kHz). */
  mixedFrames: number;
  /** Frames of real audio found in ranges already mixed as silence: the live mix is not exact when > 0. */
  lateAudioFrames: number;
  /** Frames of near-silent decoder output (priming) found there; not mixed, inaudible. */
  lateQuietFrames: number;
  decode: DecodeStats;
}

/** Where the live mix writes until finish() moves it to `output` (the same in a worker: one pid). */
export function livePartialPath(output: string): string {
  return `${output}.live-partial-${process.pid}`;
}

/** Decoded output at or below this (int16) in an already-mixed range is decoder priming, not audio: -72 dBFS. */
const QUIET_LSB = 8;
const SILENCE_AHEAD_FRAMES = 960;
/** Work between two yields to the event loop (a track's part of a block is one unit, about 2-10 ms). */
const SLICE_MS = 4;

/** Yields to the event loop once a slice's worth of work has run since the last yield. */
class WorkSlices {
  #since = performance.now();

  async next(): Promise<void> {
    if (performance.now() - this.#since < SLICE_MS) return;
    await yieldToEventLoop();
    this.#since = performance.now();
  }
}

class TailCursor {
  readonly input: MixInput;
  readonly tail: TrackTail;
  readonly scale: number;
  #queue: TrackBlock[] = [];
  #divergedCounted = false;
  /** End of the last block seen. */
  end = 0;

  constructor(input: MixInput, tail: TrackTail) {
    this.input = input;
    this.tail = tail;
    this.scale = ((input.gain ?? 1) * tail.headGain) / 32768;
  }

  /**
   * Decodes what is on disk up to `t1`. Returns false when the block up to t1 cannot be mixed yet.
   *
   * `horizon` (null once the track is closed) is where the caller vouches that nothing more will be placed
   * before. A file that ends before t1 then goes on with the recorder's silence fill, whose first frame is
   * 20 ms (largest first) whenever the pause reaches 20 ms: that frame is decoded now, since it is the one
   * silence frame with output (the last word's overlap tail); the rest of the fill decodes to zeros. If the
   * file ends less than 20 ms before the horizon the fill's first frame is not known yet: not ready.
   */
  async fill(t1: number, horizon: number | null, stats: LiveMixStats): Promise<boolean> {
    let blocks: TrackBlock[];
    let ready = true;
    try {
      blocks = await this.tail.readUntil(t1);
      if (horizon !== null && !this.tail.ended && this.tail.reached < t1) {
        if (this.tail.reached + SILENCE_AHEAD_FRAMES <= horizon) blocks.push(...this.tail.decodeSilenceAhead());
        else ready = false;
      }
    } catch (err) {
      throw describeInputError(this.input.path, err);
    }
    if (this.tail.diverged && !this.#divergedCounted) {
      // Audio where silence was promised: everything from here on may be off; make the mix unusable.
      this.#divergedCounted = true;
      stats.lateAudioFrames += Math.max(1, t1 - this.end);
    }
    for (const b of blocks) {
      this.#queue.push(b);
      this.end = Math.max(this.end, b.start + b.frames);
    }
    return ready;
  }

  /** Adds the track's samples in [t0, t0 + frames) into `mix`; anything before t0 is late (already mixed). */
  addInto(mix: Float32Array, t0: number, frames: number, stats: LiveMixStats): void {
    const t1 = t0 + frames;
    const ch = this.tail.channels;
    while (this.#queue.length > 0) {
      let b = this.#queue[0]!;
      if (b.start < t0) {
        const lateTo = Math.min(b.start + b.frames, t0);
        if (b.pcm) this.#countLate(b.pcm.subarray(0, (lateTo - b.start) * ch), lateTo - b.start, stats);
        if (lateTo === b.start + b.frames) {
          this.#queue.shift();
          continue;
        }
        b = trimFront(b, lateTo - b.start, ch);
      }
      if (b.start >= t1) {
        this.#queue[0] = b;
        return;
      }
      const to = Math.min(b.start + b.frames, t1);
      if (b.pcm) accumulate(mix, b.start - t0, b.pcm, ch, 0, to - b.start, this.scale);
      if (to < b.start + b.frames) {
        this.#queue[0] = trimFront(b, to - b.start, ch);
        return;
      }
      this.#queue.shift();
    }
  }

  #countLate(pcm: Int16Array, frames: number, stats: LiveMixStats): void {
    let peak = 0;
    for (let i = 0; i < pcm.length; i++) {
      const v = Math.abs(pcm[i]!);
      if (v > peak) peak = v;
    }
    if (peak <= QUIET_LSB) stats.lateQuietFrames += frames;
    else stats.lateAudioFrames += frames;
  }
}

function trimFront(b: TrackBlock, frames: number, channels: number): TrackBlock {
  return { start: b.start + frames, frames: b.frames - frames, pcm: b.pcm ? b.pcm.subarray(frames * channels) : null };
}

export class LiveMix {
  readonly output: string;
  readonly format: MixFormat;
  #sink: LimitedEncoder;
  #cursors: TailCursor[] = [];
  #stats: LiveMixStats = { inputs: [], mixedFrames: 0, lateAudioFrames: 0, lateQuietFrames: 0, decode: newStats() };
  #mix = new Float32Array(MIX_BLOCK_FRAMES * 2);
  // Operations run one at a time, in call order; the first failure fails the live mix for good.
  #queue: Promise<unknown> = Promise.resolve();
  #slices = new WorkSlices();
  #state: 'open' | 'finished' | 'aborted' | 'failed' = 'open';
  #error: Error | null = null;
  #discarded = false;
  #onMixed: OnMixed | undefined;

  private constructor(opts: LiveMixOptions, sink: LimitedEncoder, onMixed: OnMixed | undefined) {
    this.output = opts.output;
    this.format = opts.format;
    this.#sink = sink;
    this.#onMixed = onMixed;
  }

  static async create(opts: LiveMixOptions, onMixed?: OnMixed): Promise<LiveMix> {
    const sink = await LimitedEncoder.open({
      format: opts.format,
      output: opts.output,
      partial: livePartialPath(opts.output),
      totalFrames: 0,
      tags: { ENCODER: 'roomrec', ...opts.tags },
      thread: opts.encoderThread ?? true,
    });
    return new LiveMix(opts, sink, onMixed);
  }

  /** Whether its encoder has a worker thread of its own. */
  get encoderThread(): boolean {
    return this.#sink.encoderThread;
  }

  stats(): LiveMixStats {
    return { ...this.#stats, inputs: [...this.#stats.inputs], decode: { ...this.#stats.decode } };
  }

  /** Whether the track at `path` is an input. */
  hasInput(path: string): boolean {
    return this.#cursors.some((c) => c.input.path === path);
  }

  /** Mix frames produced so far. */
  get mixedFrames(): number {
    return this.#stats.mixedFrames;
  }

  /** The error that failed the live mix, if one did. */
  get error(): Error | null {
    return this.#error;
  }

  /**
   * A new input, silent before its own start. Its track must already exist with its headers on disk, and
   * hold nothing but silence before the current mix position (a new speaker's track does): anything else
   * shows up as late audio.
   */
  addInput(input: MixInput): Promise<void> {
    return this.#run(async () => {
      const tail = await TrackTail.open(input.path, this.#stats.decode).catch((err: unknown) => {
        throw describeInputError(input.path, err);
      });
      this.#cursors.push(new TailCursor(input, tail));
      this.#stats.inputs.push(labelOf(input));
    });
  }

  /**
   * Mixes every whole block that ends at or before `horizon` (frames on the recording timeline). The caller
   * guarantees nothing will be placed on any track before the horizon. Works in slices (see the top), so
   * neither an advance nor a long catch-up holds up anything else.
   */
  advanceTo(horizon: number): Promise<void> {
    return this.#run(async () => {
      while (this.#stats.mixedFrames + MIX_BLOCK_FRAMES <= horizon && this.#state === 'open') {
        if (!(await this.#mixBlock(MIX_BLOCK_FRAMES, horizon))) return;
      }
    });
  }

  /**
   * Completes the mix once every input's track is closed (its end-of-stream page on disk): mixes what is
   * left, finishes the encoder and moves the file to `output`. Fails if an input never ends.
   */
  finish(opts: { onProgress?: (doneFrames: number, totalFrames: number) => void } = {}): Promise<MixResult> {
    return this.#run(async () => {
      for (const c of this.#cursors) {
        await this.#slices.next();
        await c.fill(Infinity, null, this.#stats);
        if (!c.tail.ended) throw new Error(`${labelOf(c.input)}: the track has no end on disk yet, so the live mix cannot finish`);
      }
      const length = Math.max(0, ...this.#cursors.map((c) => Math.max(c.tail.length ?? 0, c.end)));
      if (this.#stats.mixedFrames > length) {
        throw new Error(`the live mix went ${this.#stats.mixedFrames - length} frames past the end of every track`);
      }
      const total = length;
      while (this.#stats.mixedFrames < length) {
        await this.#mixBlock(Math.min(MIX_BLOCK_FRAMES, length - this.#stats.mixedFrames), null);
        opts.onProgress?.(this.#stats.mixedFrames, total);
      }
      await this.#sink.finish();
      this.#state = 'finished';
      await this.#closeTails();
      return {
        output: this.output,
        format: this.format,
        durationSamples: this.#stats.mixedFrames,
        peak: this.#sink.limiter.peak,
        limitedSamples: this.#sink.limiter.limitedFrames,
        inputs: this.#cursors.length,
        truncatedInputs: [],
        decode: { ...this.#stats.decode },
      };
    });
  }

  /** Stops at the next block boundary and removes the partial output. Safe to call in any state. */
  async abort(): Promise<void> {
    if (this.#state === 'open') this.#state = 'aborted';
    // A failed operation already rejected to its own caller; here it only has to be over.
    await Promise.allSettled([this.#queue]);
    await this.#discard();
  }

  /**
   * Mixes the next `frames` if every track can supply them. `horizon`: the tracks are still growing and
   * silent past their end up to there; null once they are closed.
   */
  async #mixBlock(frames: number, horizon: number | null): Promise<boolean> {
    const t0 = this.#stats.mixedFrames;
    for (const c of this.#cursors) {
      await this.#slices.next();
      if (!(await c.fill(t0 + frames, horizon, this.#stats))) return false;
    }
    const mix = frames === MIX_BLOCK_FRAMES ? this.#mix : this.#mix.subarray(0, frames * 2);
    mix.fill(0);
    for (const c of this.#cursors) {
      await this.#slices.next();
      c.addInto(mix, t0, frames, this.#stats);
    }
    this.#stats.mixedFrames = t0 + frames;
    await this.#sink.write(mix);
    this.#onMixed?.(this.#stats.mixedFrames);
    return true;
  }

  #run<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(async () => {
      if (this.#state !== 'open') throw this.#error ?? new Error(`the live mix is ${this.#state}`);
      try {
        return await work();
      } catch (err) {
        if (this.#state === 'open') {
          this.#state = 'failed';
          this.#error = err instanceof Error ? err : new Error(String(err));
        }
        await this.#discard();
        throw err;
      }
    });
    this.#queue = next;
    return next;
  }

  async #discard(): Promise<void> {
    if (this.#discarded || this.#state === 'finished') return;
    this.#discarded = true;
    await this.#sink.abort();
    await this.#closeTails();
  }

  async #closeTails(): Promise<void> {
    await Promise.all(this.#cursors.map((c) => c.tail.close()));
  }
}
