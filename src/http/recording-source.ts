// What the download server needs from the metadata store, and no more. The store satisfies this structurally,
// so src/http depends on a shape, not on keyv; tests hand in a plain object.

export type MaybePromise<T> = T | Promise<T>;

export type RecordingStateName = 'recording' | 'stopping' | 'mixing' | 'ready' | 'failed' | 'deleted';

export interface SpeakerView {
  userId: string;
  name: string;
  trackFile: string;
  consentedAt: number;
  withdrawnAt?: number | undefined;
  includeInMix: boolean;
}

export interface RecordingView {
  id: string;
  hostName: string;
  startedAt: number;
  stoppedAt?: number | undefined;
  state: RecordingStateName;
  speakers: readonly SpeakerView[];
  mix?: { file: string; format: string; durationMs: number } | undefined;
  /** End-to-end encryption as recorded (storage/schema.ts RecordingE2ee); null: not E2EE; absent: not noted. */
  e2ee?: E2eeView | null | undefined;
}

export interface E2eeView {
  protocol: string;
  version: number;
  privacyCodes: readonly string[];
  plainFrom?: number | undefined;
}

export interface ConsentEventView {
  userId: string;
  name: string;
  event: 'granted' | 'withdrawn';
  at: number;
}

export interface RecordingSource {
  getRecording(id: string): MaybePromise<RecordingView | undefined>;
  consentEvents(id: string): MaybePromise<readonly ConsentEventView[]>;
}
