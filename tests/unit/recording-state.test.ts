import { describe, expect, test } from 'vitest';
import {
  IllegalTransitionError,
  isLive,
  transition,
  type RecordingEvent,
  type RecordingState,
} from '../../src/recording/recording-state.ts';

const mix = { file: 'mix.ogg', format: 'ogg', durationMs: 1234 } as const;
const states: Record<RecordingState['status'], RecordingState> = {
  recording: { status: 'recording' },
  stopping: { status: 'stopping', reason: 'command' },
  mixing: { status: 'mixing', reason: 'command' },
  ready: { status: 'ready', reason: 'command', mix },
  failed: { status: 'failed', reason: 'command', error: 'boom' },
  deleted: { status: 'deleted' },
};
const events: Record<RecordingEvent['type'], RecordingEvent> = {
  stop: { type: 'stop', reason: 'empty-room' },
  mixStarted: { type: 'mixStarted' },
  mixDone: { type: 'mixDone', mix },
  mixFailed: { type: 'mixFailed', error: 'decoder exploded' },
  deleted: { type: 'deleted' },
};

const legal: Record<string, RecordingState['status']> = {
  'recording/stop': 'stopping',
  'stopping/mixStarted': 'mixing',
  'stopping/mixFailed': 'failed',
  'mixing/mixDone': 'ready',
  'mixing/mixFailed': 'failed',
  'failed/mixStarted': 'mixing',
  'ready/deleted': 'deleted',
  'failed/deleted': 'deleted',
};

describe('recording state machine', () => {
  test('walks the happy path and keeps the stop reason and the mix', () => {
    let s: RecordingState = { status: 'recording' };
    s = transition(s, { type: 'stop', reason: 'max-duration' });
    s = transition(s, { type: 'mixStarted' });
    expect(s).toEqual({ status: 'mixing', reason: 'max-duration' });
    s = transition(s, { type: 'mixDone', mix });
    expect(s).toEqual({ status: 'ready', reason: 'max-duration', mix });
    expect(transition(s, { type: 'deleted' })).toEqual({ status: 'deleted' });
  });

  test('a failed mix keeps the error and may be retried', () => {
    const failed = transition(states.mixing, events.mixFailed);
    expect(failed).toEqual({ status: 'failed', reason: 'command', error: 'decoder exploded' });
    expect(transition(failed, events.mixStarted)).toEqual({ status: 'mixing', reason: 'command' });
  });

  const pairs = Object.values(states).flatMap((s) => Object.values(events).map((e) => [s, e] as const));

  test.each(pairs.filter(([s, e]) => legal[`${s.status}/${e.type}`]))('%o + %o is legal', (s, e) => {
    expect(transition(s, e).status).toBe(legal[`${s.status}/${e.type}`]);
  });

  test.each(pairs.filter(([s, e]) => !legal[`${s.status}/${e.type}`]))('%o + %o is rejected', (s, e) => {
    expect(() => transition(s, e)).toThrow(IllegalTransitionError);
  });

  test('the rejection names the state and the event', () => {
    expect(() => transition(states.recording, events.mixDone)).toThrow(/'recording'.*'mixDone'/);
  });

  test('does not mutate its input', () => {
    const s: RecordingState = { status: 'recording' };
    transition(s, events.stop);
    expect(s).toEqual({ status: 'recording' });
  });

  test('only a recording in progress is live', () => {
    expect(
      Object.values(states)
        .filter(isLive)
        .map((s) => s.status),
    ).toEqual(['recording']);
  });
});
