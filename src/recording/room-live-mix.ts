// Keeps a room's live mix (audio/live-mix.ts) going while the room records, so a stop only has the last
// seconds to mix. The room tells it who belongs in the mix and ticks it; it advances every few seconds up to
// a horizon that nothing can be placed before any more, and hands the stop pipeline a mix to finish.
//
// Why the horizon is safe. A packet is never placed earlier than its arrival minus the reorder window (80 ms)
// or, with RTP, minus the allowed drift between RTP and arrival time (500 ms) (placement.ts); a placed packet
// is on disk within the writer's page interval (1 s). So at recording time `now`, every track is final up to
// now - 1.6 s; a 3 s margin leaves room for a busy event loop. Past a track's end of file it is silent.
//
// Who is in the mix. A new speaker is a new input (silent before their consent). A speaker leaving the mix (a
// withdrawal) must be absent from all of it: the live mix is dropped and a new one starts from sample 0 over
// the others, catching up in the background (far faster than real time) and tailing again. The same restart
// happens if audio ever turns up in a range already mixed (a re-granted speaker's old track, or a broken
// guarantee): the live mix is only ever used when it is exactly the mix of the finished tracks.
//
// Where it runs. Each live mix has a worker thread of its own (audio/live-mix-thread.ts): reading the
// tracks back, decoding, summing and encoding would otherwise share the main thread with the voice socket,
// and at 50 speakers delay its reads enough to lose packets. A thread that fails or dies fails the live mix
// like any other error (status().failed; the stop mixes the tracks in full); the bot goes on recording.
import type { LiveMixStats } from '../audio/live-mix.ts';
import { openLiveMix, type LiveMixHandle } from '../audio/live-mix-thread.ts';
import type { MixFormat, MixInput, MixResult } from '../audio/mixer.ts';
import type { Logger } from '../log.ts';
import { SAMPLES_PER_MS } from './placement.ts';

export interface LiveMixSettings {
  /** How far behind recording time the mix stays (ms); default 3000. */
  marginMs?: number;
  /** How often it advances (ms of recording time); default 5000. Each advance mixes about this much. */
  advanceEveryMs?: number;
  /** Run the live mix on a worker thread of its own (default true); false runs it on this thread, in slices. */
  thread?: boolean;
  /** Encode on a worker thread of its own (default true). */
  encoderThread?: boolean;
}

export interface RoomLiveMixOptions extends LiveMixSettings {
  output: string;
  format: MixFormat;
  tags?: Record<string, string>;
  /** Recording time now (ms since time zero). */
  now: () => number;
  log: Pick<Logger, 'info' | 'warn'>;
}

/** What the stop pipeline gets back: the finished live mix, or why the full mix has to run instead. */
export type LiveMixOutcome =
  | { used: true; result: MixResult; /** Mix frames that were left for the stop. */ framesAtStop: number; stats: LiveMixStats }
  | { used: false; reason: string };

export interface LiveMixStatus {
  /** Recording time mixed so far (ms). */
  mixedMs: number;
  /** How far the mix is behind recording time (ms), margin included. */
  behindMs: number;
  /** Times it started again from 0 (withdrawals, late audio). */
  restarts: number;
  inputs: string[];
  /** Why it stopped working, when it did (the stop then runs the full mix). */
  failed?: string;
}

const DEFAULT_LIVE_MIX_MARGIN_MS = 3000;
const DEFAULT_LIVE_MIX_EVERY_MS = 5000;

export class RoomLiveMix {
  #opts: RoomLiveMixOptions;
  #margin: number;
  #every: number;
  #mix: LiveMixHandle | null = null;
  #inputs: MixInput[] = [];
  // Every change to #mix runs on this chain, one at a time.
  #chain: Promise<void> = Promise.resolve();
  #advancing = false;
  #lastAdvanceMs = -Infinity;
  #restarts = 0;
  #failure: string | null = null;
  #closed = false;

  constructor(opts: RoomLiveMixOptions) {
    this.#opts = opts;
    this.#margin = opts.marginMs ?? DEFAULT_LIVE_MIX_MARGIN_MS;
    this.#every = opts.advanceEveryMs ?? DEFAULT_LIVE_MIX_EVERY_MS;
  }

  /**
   * The speakers who belong in the mix now (their tracks exist). Newcomers join the live mix; if anyone
   * left, it starts again from 0 without them.
   */
  setInputs(inputs: MixInput[]): void {
    if (this.#closed) return;
    const before = new Set(this.#inputs.map((i) => i.path));
    const after = new Set(inputs.map((i) => i.path));
    const left = [...before].filter((p) => !after.has(p));
    const joined = inputs.filter((i) => !before.has(i.path));
    this.#inputs = [...inputs];
    if (left.length > 0) {
      // The queue records its own failure (#enqueue): nothing to await here.
      void this.#enqueue(() => this.#restart(`${left.length} speaker(s) left the mix`));
      return;
    }
    for (const input of joined) {
      void this.#enqueue(async () => {
        // A restart queued before this already took everyone in #inputs.
        if (!this.#mix) await this.#restart('first speaker');
        else if (!this.#mix.hasInput(input.path)) await this.#mix.addInput(input);
      });
    }
  }

  /** Called on the room's tick: advances when it is time and the previous advance is done. */
  tick(): void {
    const nowMs = this.#opts.now();
    if (this.#closed || this.#advancing || this.#failure !== null || nowMs - this.#lastAdvanceMs < this.#every) return;
    this.#lastAdvanceMs = nowMs;
    this.#advancing = true;
    void this.#enqueue(() => this.#advance()).finally(() => {
      this.#advancing = false;
    });
  }

  status(): LiveMixStatus {
    const mixedMs = (this.#mix?.mixedFrames ?? 0) / SAMPLES_PER_MS;
    return {
      mixedMs,
      behindMs: Math.max(0, this.#opts.now() - mixedMs),
      restarts: this.#restarts,
      inputs: this.#inputs.map((i) => i.label ?? i.path),
      ...(this.#failure === null ? {} : { failed: this.#failure }),
    };
  }

  /**
   * Finishes the live mix once the tracks are closed, if it is a mix of exactly `inputs` into `output`;
   * otherwise says why not (the caller then runs the full mix). Ends the live mix either way.
   */
  async finish(job: {
    inputs: MixInput[];
    output: string;
    format: MixFormat;
    onProgress?: (doneFrames: number, totalFrames: number) => void;
  }): Promise<LiveMixOutcome> {
    this.#closed = true;
    await this.#chain;
    const mix = this.#mix;
    this.#mix = null;
    if (!mix) return { used: false, reason: this.#failure ?? 'there was no live mix' };
    const have = new Set(this.#inputs.map((i) => i.path));
    const mismatch =
      job.output !== mix.output || job.format !== mix.format
        ? `the live mix was made as ${mix.format} for ${mix.output}`
        : job.inputs.length !== have.size || job.inputs.some((i) => !have.has(i.path))
          ? 'the live mix has other speakers than the stop'
          : null;
    if (mismatch) {
      await mix.abort();
      return { used: false, reason: mismatch };
    }
    const before = mix.mixedFrames;
    let result: MixResult;
    try {
      result = await mix.finish(job.onProgress ? { onProgress: job.onProgress } : {});
    } catch (err) {
      return { used: false, reason: `finishing the live mix failed: ${err instanceof Error ? err.message : String(err)}` };
    }
    const stats = mix.stats();
    if (stats.lateAudioFrames > 0) {
      return { used: false, reason: `${stats.lateAudioFrames} frames of audio arrived for time already mixed` };
    }
    return { used: true, result, framesAtStop: result.durationSamples - before, stats };
  }

  /** Resolves when the work queued so far (an advance, a catch-up) is done. */
  async idle(): Promise<void> {
    await this.#chain;
  }

  /** Drops the live mix (no mix is needed, or the room is gone). */
  async discard(): Promise<void> {
    this.#closed = true;
    // Aborting first stops a catch-up at its next block instead of letting it run to its horizon.
    await this.#mix?.abort();
    await this.#chain;
    await this.#mix?.abort();
    this.#mix = null;
  }

  async #advance(): Promise<void> {
    const mix = this.#mix;
    if (!mix) return;
    const horizon = Math.floor((this.#opts.now() - this.#margin) * SAMPLES_PER_MS);
    await mix.advanceTo(horizon);
    const late = mix.stats().lateAudioFrames;
    if (late > 0) await this.#restart(`${late} frames of audio arrived for time already mixed`);
  }

  async #restart(why: string): Promise<void> {
    const old = this.#mix;
    this.#mix = null;
    await old?.abort();
    if (old) {
      this.#restarts++;
      this.#opts.log.info({ why, restarts: this.#restarts }, 'live mix starting again from the beginning');
    }
    if (this.#inputs.length === 0) return;
    const mix = await openLiveMix(
      {
        output: this.#opts.output,
        format: this.#opts.format,
        ...(this.#opts.tags ? { tags: this.#opts.tags } : {}),
        ...(this.#opts.encoderThread === undefined ? {} : { encoderThread: this.#opts.encoderThread }),
      },
      { thread: this.#opts.thread ?? true },
    );
    this.#mix = mix;
    for (const input of this.#inputs) await mix.addInput(input);
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#failure !== null) return;
      try {
        await work();
      } catch (err) {
        // Not fatal to the room: the stop runs the full mix instead.
        this.#failure = err instanceof Error ? err.message : String(err);
        this.#opts.log.warn({ err }, 'live mix failed; the stop will mix from the tracks');
        await this.#mix?.abort();
        this.#mix = null;
      }
    });
    this.#chain = run;
    return run;
  }
}
