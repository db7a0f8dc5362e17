/**
 * A recording's lifecycle as a discriminated union moved by one pure `transition`.
 *
 *   recording ──stop──▶ stopping ──mixStarted──▶ mixing ──mixDone──▶ ready ──deleted──▶ deleted
 *                          │                      │  ▲                                    ▲
 *                          └──────mixFailed───────┴──┼──▶ failed ──────────deleted────────┘
 *                                                    └─mixStarted─┘   (a failed mix may be retried)
 *
 * Every other (state, event) pair is illegal and throws: the caller has a bug, and silently ignoring it
 * would let a recording be mixed twice or deleted while still being written.
 */

// Why a recording stopped is stored with it: the one list lives with the stored schema.
import type { MixFormat } from '../audio/mixer.ts';
import type { StopReason } from '../storage/schema.ts';
export { STOP_REASONS, type StopReason } from '../storage/schema.ts';

interface MixResult {
  file: string;
  format: MixFormat;
  durationMs: number;
}

export type RecordingState =
  | { status: 'recording' }
  | { status: 'stopping'; reason: StopReason }
  | { status: 'mixing'; reason: StopReason }
  /** `mix` is absent when nobody's consent stood at the end: there was nothing to mix. */
  | { status: 'ready'; reason: StopReason; mix: MixResult | undefined }
  | { status: 'failed'; reason: StopReason; error: string }
  | { status: 'deleted' };

export type RecordingEvent =
  | { type: 'stop'; reason: StopReason }
  | { type: 'mixStarted' }
  | { type: 'mixDone'; mix: MixResult | undefined }
  | { type: 'mixFailed'; error: string }
  | { type: 'deleted' };

/** A (state, event) pair the machine does not have: here, or in a live room's lifecycle (room-lifecycle.ts). */
export class IllegalTransitionError extends Error {
  readonly from: string;
  readonly event: string;

  constructor(from: string, event: string, what = 'A recording') {
    super(`${what} in state '${from}' cannot take the event '${event}'`);
    this.name = 'IllegalTransitionError';
    this.from = from;
    this.event = event;
  }
}

export function transition(state: RecordingState, event: RecordingEvent): RecordingState {
  switch (event.type) {
    case 'stop':
      if (state.status === 'recording') return { status: 'stopping', reason: event.reason };
      break;
    case 'mixStarted':
      if (state.status === 'stopping' || state.status === 'failed') return { status: 'mixing', reason: state.reason };
      break;
    case 'mixDone':
      if (state.status === 'mixing') return { status: 'ready', reason: state.reason, mix: event.mix };
      break;
    case 'mixFailed':
      if (state.status === 'stopping' || state.status === 'mixing') {
        return { status: 'failed', reason: state.reason, error: event.error };
      }
      break;
    case 'deleted':
      if (state.status === 'ready' || state.status === 'failed') return { status: 'deleted' };
      break;
  }
  throw new IllegalTransitionError(state.status, event.type);
}

/** Whether audio may still be written for a recording in this state. */
export function isLive(state: RecordingState): boolean {
  return state.status === 'recording';
}
