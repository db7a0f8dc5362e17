// What one after-stop step is given and must say about itself. A product of a recording (a mix, a receipt, a
// project file, chapters …) is one step: a file in this folder and a line in index.ts, never an edit of the
// pipeline that runs them (stop-pipeline.ts).
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import type { MixFormat, MixInput, mixTracks } from '../../audio/mixer.ts';
import type { Layout } from '../../storage/layout.ts';
import type { Recording, Store } from '../../storage/store.ts';
import type { LiveMixOutcome } from '../room-live-mix.ts';
import type { SpeakerStats } from '../speaker-integrity.ts';

export type MixFunction = typeof mixTracks;

/** A mix made while the room ran (room-live-mix.ts), offered to the mix step. */
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

/** What the room (or a finish from disk) hands the steps. */
export interface StopInput {
  /** Closes (or finalises) every open track at the stop position. */
  closeTracks: () => Promise<void>;
  /**
   * Each speaker's integrity figures once their track is closed (the reorder window flushed), stored with the
   * recording. Absent when finishing from disk: whatever figures were stored before are kept.
   */
  speakerStats?: () => ReadonlyMap<string, SpeakerStats>;
  /** A live mix to finish instead of mixing everything now; the full mix runs when it cannot be used. */
  liveMix?: LiveMixFinisher;
}

/** What the steps made, handed on to later steps and to the stop's outcome. */
export interface StopProducts {
  /** Absent when nobody's consent stood: there was nothing to mix. */
  mix?: { file: string; format: MixFormat; durationMs: number };
  /** Peak and limiter activity of the mix, for the logs and the bench. */
  mixStats?: { peak: number; limitedSamples: number };
  /**
   * Present when a live mix was offered: whether it was used and, if so, how much was left to mix at stop
   * (48 kHz frames); if not, why the full mix ran instead.
   */
  liveMix?: { used: true; framesAtStop: number } | { used: false; reason: string };
}

export interface StepContext {
  recordingId: string;
  /** Epoch ms of the stop: where every track ends. */
  stoppedAt: number;
  /** The stored recording as the pipeline last wrote it. */
  recording(): Recording;
  /** Changes the stored recording (timed as metadata). */
  update(mutate: (r: Recording) => Recording): Promise<Recording>;
  store: Store;
  layout: Layout;
  config: Pick<Config, 'recording' | 'mix' | 'retention'>;
  log: Logger;
  mix: MixFunction;
  input: StopInput;
  products: StopProducts;
  /** How far this step got, in its own units; shown to the host as a percentage. */
  progress(done: number, total: number): void;
  /** Aborted when a 'ready' step must stop (the bot is shutting down). */
  signal?: AbortSignal;
}

export interface AfterStopStep {
  /** Shown in progress and logs; also what StopProgress.phase says while it runs. */
  id: string;
  /** What the host reads while it runs, e.g. "mixing" ("Preparing the recording: mixing 42%…"). */
  doing: string;
  /** Where its time is reported in StopTimings. */
  timing: string;
  /**
   * 'open-tracks': runs before the tracks are closed (the stored state is still 'stopping'); 'closed-tracks':
   * runs on closed tracks (stored 'mixing'), and from then on the host may get the link before the rest is done;
   * 'ready': runs once the recording is ready and the host can have the link, in the background (never required).
   */
  runsOn: 'open-tracks' | 'closed-tracks' | 'ready';
  /** A required step that fails makes the recording 'failed' with its error; an optional one is logged and skipped. */
  required: boolean;
  /**
   * A 'ready' step: what the recording says of its product from the moment it is ready (being made), written
   * with 'ready' itself so the page never shows the recording without it.
   */
  announce?(recording: Recording, config: StepContext['config']): Recording;
  /** A 'ready' step: whether a ready recording shows it was cut off (the bot died in it); start-up runs it again. */
  cutOff?(recording: Recording): boolean;
  run(ctx: StepContext): Promise<void>;
}
