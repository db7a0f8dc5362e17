// What happens between "stop" and "here is your link": close the tracks, mix the speakers whose consent stood,
// write the consent receipt, and move the stored recording stopping → mixing → ready (or failed). Each phase is
// timed so the bot and the bench can say where stop time goes.
//
// Also the way to finish a recording the bot died in the middle of: the same pipeline, with tracks that are
// finalised from disk instead of closed in memory.
import { rm, writeFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import { buildReceipt } from './receipt.ts';
import type { Logger } from '../log.ts';
import type { MixFormat, MixInput, MixResult, mixTracks } from '../audio/mixer.ts';
import type { LiveMixOutcome } from './room-live-mix.ts';
import { mixFileName } from '../storage/layout.ts';
import { deletionTime } from '../storage/retention.ts';
import type { Recording, Store } from '../storage/store.ts';
import type { Clock } from './clock.ts';
import { withSpeakerStats, type SpeakerStats } from './speaker-integrity.ts';
import { transition, type RecordingEvent, type RecordingState, type StopReason } from './recording-state.ts';

export type MixFunction = typeof mixTracks;

export type StopPhase = 'closing-tracks' | 'mixing' | 'writing-receipt' | 'done';

export interface StopProgress {
  phase: StopPhase;
  /** Mixing only: how far the mixer got, in its own units (done of total). */
  done?: number;
  total?: number;
}

/** Milliseconds spent in each phase of a stop, measured on the monotonic clock. */
export interface StopTimings {
  closeTracksMs: number;
  mixMs: number;
  receiptMs: number;
  /** Store writes (state changes, stop time, mix). */
  metadataMs: number;
  totalMs: number;
}

export interface StopOutcome {
  recording: Recording;
  timings: StopTimings;
  /** Peak and limiter activity of the mix, for the logs and the bench. */
  mixStats?: { peak: number; limitedSamples: number };
  /**
   * Present when a live mix was offered: whether it was used and, if so, how much was left to mix at stop
   * (48 kHz frames); if not, why the full mix ran instead.
   */
  liveMix?: { used: true; framesAtStop: number } | { used: false; reason: string };
}

/** A mix made while the room ran (room-live-mix.ts), offered to the stop pipeline. */
export interface LiveMixFinisher {
  finish(job: {
    inputs: MixInput[];
    output: string;
    format: MixFormat;
    onProgress?: (doneFrames: number, totalFrames: number) => void;
  }): Promise<LiveMixOutcome>;
  /** Called instead of finish() when no mix is made (nobody's consent stood) or the stop failed first. */
  discard(): Promise<void>;
}

export interface StopPipelineDeps {
  store: Store;
  /** Monotonic, for the timings. */
  clock: Clock;
  log: Logger;
  config: Pick<Config, 'recording' | 'mix' | 'retention'>;
  mix: MixFunction;
}


/** The stored recording read as the state machine's union. */
export function stateOf(recording: Recording): RecordingState {
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
export function applyEvent(recording: Recording, event: RecordingEvent): Recording {
  const next = transition(stateOf(recording), event);
  const out: Recording = { ...recording, state: next.status };
  if ('reason' in next) out.stopReason = next.reason;
  if (next.status === 'ready') {
    if (next.mix) out.mix = mixOf(next.mix);
    else delete out.mix;
  }
  if (next.status === 'failed') out.error = next.error;
  else delete out.error;
  return out;
}

function mixOf(mix: { file: string; format: string; durationMs: number }): NonNullable<Recording['mix']> {
  const format = mix.format;
  if (format !== 'ogg' && format !== 'mp3' && format !== 'flac' && format !== 'wav') {
    throw new RangeError(`unknown mix format ${format}`);
  }
  return { file: mix.file, format, durationMs: mix.durationMs };
}

export async function runStopPipeline(
  opts: {
    recordingId: string;
    reason: StopReason;
    /** Epoch ms of the stop: where every track ends. */
    stoppedAt: number;
    /** Closes (or finalises) every open track at the stop position. */
    closeTracks: () => Promise<void>;
    /**
     * Each speaker's integrity figures once their track is closed (the reorder window flushed), stored with the
     * recording. Absent when finishing from disk: whatever figures were stored before are kept.
     */
    speakerStats?: () => ReadonlyMap<string, SpeakerStats>;
    /** A live mix to finish instead of mixing everything now; the full mix runs when it cannot be used. */
    liveMix?: LiveMixFinisher;
    onProgress?: (progress: StopProgress) => void;
  },
  deps: StopPipelineDeps,
): Promise<StopOutcome> {
  const { store, clock, log, config } = deps;
  const { recordingId } = opts;
  const layout = store.layout;
  const started = clock.now();
  const timings: StopTimings = { closeTracksMs: 0, mixMs: 0, receiptMs: 0, metadataMs: 0, totalMs: 0 };
  const timed = async <T>(key: Exclude<keyof StopTimings, 'totalMs'>, work: () => Promise<T>): Promise<T> => {
    const t0 = clock.now();
    try {
      return await work();
    } finally {
      timings[key] += clock.now() - t0;
    }
  };
  const update = (mutate: (r: Recording) => Recording): Promise<Recording> =>
    timed('metadataMs', () => store.updateRecording(recordingId, mutate));
  const progress = (p: StopProgress): void => {
    try {
      opts.onProgress?.(p);
    } catch (error) {
      // A progress display that fails (an edited message was deleted) must not fail the stop.
      log.warn({ err: error, recordingId }, 'stop progress callback failed');
    }
  };

  let recording = await update((r) => {
    if (r.state === 'recording') return { ...applyEvent(r, { type: 'stop', reason: opts.reason }), stoppedAt: opts.stoppedAt };
    // A mix cut off by a restart is redone from the start: record why, then the retry below is legal.
    if (r.state === 'mixing') return applyEvent(r, { type: 'mixFailed', error: 'interrupted by a restart' });
    return r;
  });
  let mixStats: StopOutcome['mixStats'];
  let liveMix: StopOutcome['liveMix'];
  try {
    progress({ phase: 'closing-tracks' });
    await timed('closeTracksMs', opts.closeTracks);
    const stats = opts.speakerStats?.();
    if (stats && stats.size > 0) recording = await update((r) => withSpeakerStats(r, stats));

    if (config.recording.deleteWithdrawnTracks) {
      const withdrawn = recording.speakers.filter((s) => !s.includeInMix);
      await Promise.all(withdrawn.map((s) => rm(layout.file(recordingId, s.trackFile), { force: true })));
    }

    recording = await update((r) => applyEvent(r, { type: 'mixStarted' }));
    const included = recording.speakers.filter((s) => s.includeInMix);
    let mix: { file: string; format: string; durationMs: number } | undefined;
    if (included.length > 0) {
      progress({ phase: 'mixing', done: 0, total: 1 });
      const format = config.mix.format;
      const job = {
        inputs: included.map((s) => ({ path: layout.file(recordingId, s.trackFile), label: s.name })),
        output: layout.mixFile(recordingId, format),
        format,
        onProgress: (done: number, total: number) => progress({ phase: 'mixing', done, total }),
      };
      const result = await timed('mixMs', async (): Promise<MixResult> => {
        // A live mix that breaks only costs time: its error becomes the reason the full mix runs.
        const live = await opts.liveMix?.finish(job).catch(
          (err: unknown): LiveMixOutcome => ({ used: false, reason: `the live mix failed: ${err instanceof Error ? err.message : String(err)}` }),
        );
        if (live?.used) {
          liveMix = { used: true, framesAtStop: live.framesAtStop };
          return live.result;
        }
        if (live) {
          liveMix = { used: false, reason: live.reason };
          log.warn({ recordingId, reason: live.reason }, 'live mix not usable; mixing the tracks now');
        }
        return deps.mix(job);
      });
      mix = { file: mixFileName(format), format, durationMs: Math.round(result.durationSamples / 48) };
      mixStats = { peak: result.peak, limitedSamples: result.limitedSamples };
    }

    progress({ phase: 'writing-receipt' });
    await timed('receiptMs', async () => {
      const events = await store.consentEvents(recordingId);
      const deletionAt = deletionTime({ startedAt: recording.startedAt, stoppedAt: opts.stoppedAt }, config.retention.days);
      const text = buildReceipt({ recording, events, deletionAt, retentionDays: config.retention.days });
      await writeFile(layout.receiptFile(recordingId), text);
    });

    recording = await update((r) => applyEvent(r, { type: 'mixDone', mix }));
    progress({ phase: 'done' });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.error({ err: error, recordingId }, 'stopping the recording failed');
    recording = await update((r) => applyEvent(r, { type: 'mixFailed', error: message }));
  } finally {
    // Whatever happened, a live mix that was not finished must not keep its encoder or files.
    if (opts.liveMix && liveMix?.used !== true) await discardLiveMix(opts.liveMix, log, recordingId);
  }
  timings.totalMs = clock.now() - started;
  log.info({ recordingId, state: recording.state, timings: roundTimings(timings), liveMix }, 'recording stopped');
  return { recording, timings, ...(mixStats ? { mixStats } : {}), ...(liveMix ? { liveMix } : {}) };
}

/**
 * Ends a recording that can be neither resumed nor finished: whatever state it was left in (recording,
 * stopping, mixing), it becomes 'failed' with `error`, so it is no longer busy (retention and deletion can
 * take it). A recording that is already ready or failed is returned unchanged.
 */
export function failInterrupted(store: Store, recordingId: string, error: string, stoppedAt: number): Promise<Recording> {
  return store.updateRecording(recordingId, (r) => {
    if (r.state !== 'recording' && r.state !== 'stopping' && r.state !== 'mixing') return r;
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
  for (const key of Object.keys(t) as (keyof StopTimings)[]) rounded[key] = Math.round(t[key]);
  return rounded;
}
