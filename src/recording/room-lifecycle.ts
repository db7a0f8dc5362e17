/**
 * A live room's life, as one union moved by one pure function:
 *
 *   starting ──recording──▶ recording ──stop──▶ stopping ──stopped──▶ stopped
 *
 * `starting` is the bot's (voice joining, nothing stored yet: a refused start leaves no recording); from
 * `recording` on, the room has a stored recording and this is that recording's state read at the room's grain:
 * stored 'stopping' and 'mixing' are both the room's `stopping`, 'ready' and 'failed' its `stopped`
 * (lifecycleOf). The stored recording's own finer machine is recording-state.ts; the stop pipeline moves it.
 */
import type { Recording } from '../storage/store.ts';
import { IllegalTransitionError, type StopReason } from './recording-state.ts';

export type RoomLifecycle =
  | { phase: 'starting' }
  | { phase: 'recording' }
  | { phase: 'stopping'; reason: StopReason }
  | { phase: 'stopped'; reason: StopReason; result: 'ready' | 'failed' | 'deleted' };

export type RoomLifecycleEvent =
  { type: 'recording' } | { type: 'stop'; reason: StopReason } | { type: 'stopped'; result: 'ready' | 'failed' };

export function nextLifecycle(life: RoomLifecycle, event: RoomLifecycleEvent): RoomLifecycle {
  switch (event.type) {
    case 'recording':
      if (life.phase === 'starting') return { phase: 'recording' };
      break;
    case 'stop':
      if (life.phase === 'recording') return { phase: 'stopping', reason: event.reason };
      break;
    case 'stopped':
      if (life.phase === 'stopping') return { phase: 'stopped', reason: life.reason, result: event.result };
      break;
  }
  throw new IllegalTransitionError(life.phase, event.type, 'A room');
}

/** The stored recording read as the room's lifecycle: what a restart finds, and what a live room has stored. */
export function lifecycleOf(recording: Pick<Recording, 'state' | 'stopReason'>): RoomLifecycle {
  const reason: StopReason = recording.stopReason ?? 'interrupted';
  switch (recording.state) {
    case 'recording':
      return { phase: 'recording' };
    case 'stopping':
    case 'mixing':
      return { phase: 'stopping', reason };
    case 'ready':
    case 'failed':
    case 'deleted':
      return { phase: 'stopped', reason, result: recording.state };
  }
}
