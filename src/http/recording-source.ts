// What the download server needs from the metadata store, and no more. The store satisfies this structurally,
// so src/http depends on a shape, not on keyv; tests hand in a plain object.

import type { ReceiptConsentEvent, ReceiptRecording, ReceiptSpeaker } from '../recording/receipt.ts';

import type { RECORDING_STATES, SpeakerStats } from '../storage/schema.ts';

type MaybePromise<T> = T | Promise<T>;

type RecordingStateName = (typeof RECORDING_STATES)[number];

export interface SpeakerView extends ReceiptSpeaker {
  trackFile: string;
  /** How complete the track is (absent for recordings made before it was counted). */
  stats?: SpeakerStats | undefined;
}

export interface RecordingView extends ReceiptRecording {
  state: RecordingStateName;
  speakers: readonly SpeakerView[];
  mix?: { file: string; format: string; durationMs: number } | undefined;
  /** The levelled mix (src/storage/schema.ts `LevelledMix`); absent: not asked for, or older than it. */
  levelledMix?:
    | { state: 'making' }
    | { state: 'ready'; file: string; format: string; durationMs: number }
    | { state: 'failed'; error: string }
    | undefined;
  /** `at` in ms on the recording's clock (src/storage/schema.ts `Note`). */
  notes?: readonly NoteView[] | undefined;
  /** Track numbers removed at their speaker's request, and "forget me" requests not yet done (schema.ts). */
  forgotten?: readonly { track: number; at: number }[] | undefined;
  forgetting?: readonly { userId: string; requestedAt: number }[] | undefined;
}

type NoteView = { at: number; by: string; byName: string; text: string };

export type ConsentEventView = ReceiptConsentEvent;

export interface RecordingSource {
  getRecording(id: string): MaybePromise<RecordingView | undefined>;
  consentEvents(id: string): MaybePromise<readonly ConsentEventView[]>;
}
