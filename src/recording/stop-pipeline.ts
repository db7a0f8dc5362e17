// What happens between "stop" and "here is your link": the stored recording moves stopping → mixing → ready
// (or failed) while the after-stop steps (after-stop/index.ts: close the tracks, mix, write the receipt …) run
// in order, each timed and reporting its own progress, so the bot and the bench can say where stop time goes.
//
// Also the way to finish a recording the bot died in the middle of: the same steps, with tracks that are
// finalised from disk instead of closed in memory.
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { BUSY_STATES, type Recording, type Store } from '../storage/store.ts';
import {
  AFTER_STOP_STEPS,
  type AfterStopStep,
  type LiveMixFinisher,
  type MixFunction,
  type StepContext,
  type StopInput,
  type StopProducts,
} from './after-stop/index.ts';
import type { BackgroundWork } from './background-work.ts';
import type { Clock } from './clock.ts';
import { transition, type RecordingEvent, type RecordingState, type StopReason } from './recording-state.ts';

export type { LiveMixFinisher, MixFunction } from './after-stop/index.ts';

export interface StopProgress {
  /** The running step's id (after-stop/), or 'done'. */
  phase: string;
  /** What the host reads, e.g. "mixing". */
  doing: string;
  /** How far the step got, in its own units (done of total), when it says. */
  done?: number;
  total?: number;
  /** The tracks are closed (the stored recording is 'mixing'): the link may go out before the rest is made. */
  tracksClosed: boolean;
}

/**
 * Milliseconds spent in each step (keyed by the step's `timing`, e.g. mixMs), in store writes (metadataMs) and
 * in all (totalMs), measured on the monotonic clock.
 */
type StopTimings = Record<string, number> & { metadataMs: number; totalMs: number };

export interface StopOutcome extends StopProducts {
  recording: Recording;
  timings: StopTimings;
  /** Optional steps that failed (the recording is still ready without what they make). */
  skipped?: { step: string; error: string }[];
}

export interface StopPipelineDeps {
  store: Store;
  /** Monotonic, for the timings. */
  clock: Clock;
  log: Logger;
  config: Pick<Config, 'recording' | 'mix' | 'retention'>;
  mix: MixFunction;
  /** Default: AFTER_STOP_STEPS. */
  steps?: readonly AfterStopStep[];
  /**
   * Where the steps that run on 'ready' go, so the stop returns (and the host gets the link) without waiting for
   * them. Absent: they run before the stop returns.
   */
  background?: BackgroundWork;
}

/** The stored recording read as the state machine's union. */
function stateOf(recording: Recording): RecordingState {
  const reason: StopReason = recording.stopReason ?? 'command';
  switch (recording.state) {
    case 'recording':
      return { status: 'recording' };
    case 'stopping':
    case 'mixing':
      return { status: recording.state, reason };
    case 'ready':
      return { status: 'ready', reason, mix: recording.mix };
    case 'failed':
      return { status: 'failed', reason, error: recording.error ?? 'unknown error' };
    case 'deleted':
      return { status: 'deleted' };
  }
}

/** Applies one event through `transition` and writes the outcome into the stored shape. */
function applyEvent(recording: Recording, event: RecordingEvent): Recording {
  const next = transition(stateOf(recording), event);
  const out: Recording = { ...recording, state: next.status };
  if ('reason' in next) out.stopReason = next.reason;
  if (next.status === 'ready') {
    if (next.mix) out.mix = next.mix;
    else delete out.mix;
  }
  if (next.status === 'failed') out.error = next.error;
  else delete out.error;
  return out;
}

export async function runStopPipeline(
  opts: StopInput & {
    recordingId: string;
    reason: StopReason;
    /** Epoch ms of the stop: where every track ends. */
    stoppedAt: number;
    onProgress?: (progress: StopProgress) => void;
  },
  deps: StopPipelineDeps,
): Promise<StopOutcome> {
  const { store, clock, log, config } = deps;
  const { recordingId } = opts;
  const allSteps = deps.steps ?? AFTER_STOP_STEPS;
  const steps = allSteps.filter((s) => s.runsOn !== 'ready');
  const readySteps = allSteps.filter((s) => s.runsOn === 'ready');
  const started = clock.now();
  const timings: StopTimings = { metadataMs: 0, totalMs: 0 };
  for (const step of steps) timings[step.timing] = 0;
  const timed = async <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const t0 = clock.now();
    try {
      return await work();
    } finally {
      timings[key] = (timings[key] ?? 0) + clock.now() - t0;
    }
  };
  let recording: Recording;
  const update = async (mutate: (r: Recording) => Recording): Promise<Recording> =>
    (recording = await timed('metadataMs', () => store.updateRecording(recordingId, mutate)));
  let tracksClosed = false;
  const progress = (p: Omit<StopProgress, 'tracksClosed'>): void => {
    try {
      opts.onProgress?.({ ...p, tracksClosed });
    } catch (error) {
      // A progress display that fails (an edited message was deleted) must not fail the stop.
      log.warn({ err: error, recordingId }, 'stop progress callback failed');
    }
  };

  recording = await update((r) => {
    if (r.state === 'recording') return { ...applyEvent(r, { type: 'stop', reason: opts.reason }), stoppedAt: opts.stoppedAt };
    // A mix cut off by a restart is redone from the start: record why, then the retry below is legal.
    if (r.state === 'mixing') return applyEvent(r, { type: 'mixFailed', error: 'interrupted by a restart' });
    return r;
  });
  const products: StopProducts = {};
  const skipped: { step: string; error: string }[] = [];
  try {
    for (const step of steps) {
      if (step.runsOn === 'closed-tracks' && !tracksClosed) {
        await update((r) => applyEvent(r, { type: 'mixStarted' }));
        tracksClosed = true;
      }
      const ctx: StepContext = {
        recordingId,
        stoppedAt: opts.stoppedAt,
        recording: () => recording,
        update,
        store,
        layout: store.layout,
        config,
        log,
        mix: deps.mix,
        input: opts,
        products,
        progress: (done, total) => progress({ phase: step.id, doing: step.doing, done, total }),
      };
      progress({ phase: step.id, doing: step.doing });
      try {
        await timed(step.timing, () => step.run(ctx));
      } catch (error) {
        if (step.required) throw error;
        const message = error instanceof Error ? error.message : String(error);
        log.warn({ err: error, recordingId, step: step.id }, 'an optional after-stop step failed; the recording is ready without it');
        skipped.push({ step: step.id, error: message });
      }
    }
    if (!tracksClosed) await update((r) => applyEvent(r, { type: 'mixStarted' }));
    await update((r) =>
      readySteps.reduce((ready, step) => step.announce?.(ready, config) ?? ready, applyEvent(r, { type: 'mixDone', mix: products.mix })),
    );
    progress({ phase: 'done', doing: 'done' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: error, recordingId }, 'stopping the recording failed');
    await update((r) => applyEvent(r, { type: 'mixFailed', error: message }));
  } finally {
    // Whatever happened, a live mix that was not finished must not keep its encoder or files.
    if (opts.liveMix && products.liveMix?.used !== true) await discardLiveMix(opts.liveMix, log, recordingId);
  }
  timings.totalMs = clock.now() - started;
  log.info({ recordingId, state: recording.state, timings: roundTimings(timings), liveMix: products.liveMix }, 'recording stopped');
  if (recording.state === 'ready' && readySteps.length > 0) {
    const later = runReadySteps(recordingId, readySteps, { ...deps, input: opts, products, stoppedAt: opts.stoppedAt });
    if (deps.background) deps.background.add(later);
    else await later;
  }
  return { recording, timings, ...products, ...(skipped.length > 0 ? { skipped } : {}) };
}

// A ready recording's tracks are closed already.
const CLOSED_TRACKS: StopInput = { closeTracks: () => Promise.resolve() };

/**
 * Runs again the 'ready' steps a ready recording shows were cut off (the bot died in them), as the stop would
 * have: in `deps.background` when given. Nothing to do for any other recording.
 */
export async function resumeReadySteps(recording: Recording, deps: StopPipelineDeps): Promise<void> {
  if (recording.state !== 'ready') return;
  const cutOff = (deps.steps ?? AFTER_STOP_STEPS).filter((s) => s.runsOn === 'ready' && s.cutOff?.(recording));
  if (cutOff.length === 0) return;
  deps.log.info({ recordingId: recording.id, steps: cutOff.map((s) => s.id) }, 'making again what a restart cut off');
  const products: StopProducts = recording.mix ? { mix: recording.mix } : {};
  const later = runReadySteps(recording.id, cutOff, {
    ...deps,
    input: CLOSED_TRACKS,
    products,
    stoppedAt: recording.stoppedAt ?? recording.startedAt,
  });
  if (deps.background) deps.background.add(later);
  else await later;
}

/** The 'ready' steps in order, each timed and logged; a failure is logged (the step stores what it means). Never rejects. */
async function runReadySteps(
  recordingId: string,
  steps: readonly AfterStopStep[],
  deps: StopPipelineDeps & { input: StopInput; products: StopProducts; stoppedAt: number },
): Promise<void> {
  const { store, clock, log } = deps;
  try {
    const found = await store.getRecording(recordingId);
    if (!found) return;
    let recording = found;
    for (const step of steps) {
      if (deps.background?.signal.aborted) return;
      const t0 = clock.now();
      const ctx: StepContext = {
        recordingId,
        stoppedAt: deps.stoppedAt,
        recording: () => recording,
        update: async (mutate) => (recording = await store.updateRecording(recordingId, mutate)),
        store,
        layout: store.layout,
        config: deps.config,
        log,
        mix: deps.mix,
        input: deps.input,
        products: deps.products,
        progress: () => {},
        ...(deps.background ? { signal: deps.background.signal } : {}),
      };
      try {
        await step.run(ctx);
        log.info({ recordingId, step: step.id, ms: Math.round(clock.now() - t0) }, 'made after the recording was ready');
      } catch (error) {
        if (deps.background?.signal.aborted) {
          log.info({ recordingId, step: step.id }, 'cut short by the shutdown; the next start makes it');
          return;
        }
        log.warn(
          { err: error, recordingId, step: step.id },
          'a step after the recording was ready failed; the recording is ready without it',
        );
      }
    }
  } catch (error) {
    log.warn({ err: error, recordingId }, 'could not run the steps after the recording was ready');
  }
}

/**
 * Ends a recording that can be neither resumed nor finished: whatever state it was left in (recording,
 * stopping, mixing), it becomes 'failed' with `error`, so it is no longer busy (retention and deletion can
 * take it). A recording that is already ready or failed is returned unchanged.
 */
export function failInterrupted(store: Store, recordingId: string, error: string, stoppedAt: number): Promise<Recording> {
  return store.updateRecording(recordingId, (r) => {
    if (!BUSY_STATES.includes(r.state)) return r;
    const stopped = r.state === 'recording' ? { ...applyEvent(r, { type: 'stop', reason: 'interrupted' }), stoppedAt } : r;
    return applyEvent(stopped, { type: 'mixFailed', error });
  });
}

/** Drops a live mix that was not used; failing to do so is logged, it cannot change the stop's outcome. */
export async function discardLiveMix(liveMix: LiveMixFinisher, log: Logger, recordingId: string): Promise<void> {
  try {
    await liveMix.discard();
  } catch (error) {
    log.warn({ err: error, recordingId }, 'dropping the live mix failed');
  }
}

function roundTimings(t: StopTimings): StopTimings {
  const rounded = { ...t };
  for (const [key, ms] of Object.entries(t)) rounded[key] = Math.round(ms);
  return rounded;
}
