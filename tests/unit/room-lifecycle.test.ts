// A live room's lifecycle: the only legal moves, and the stored recording read back as the same lifecycle
// (what a restart decides from).
import { describe, expect, test } from 'vitest';
import { IllegalTransitionError, STOP_REASONS } from '../../src/recording/recording-state.ts';
import { lifecycleOf, nextLifecycle, type RoomLifecycle, type RoomLifecycleEvent } from '../../src/recording/room-lifecycle.ts';
import { BUSY_STATES, type Recording } from '../../src/storage/store.ts';

const STORED_STATES: Recording['state'][] = ['recording', 'stopping', 'mixing', 'ready', 'failed', 'deleted'];

describe('room lifecycle', () => {
  test('starting → recording → stopping → stopped, carrying the reason', () => {
    let life: RoomLifecycle = { phase: 'starting' };
    life = nextLifecycle(life, { type: 'recording' });
    expect(life).toEqual({ phase: 'recording' });
    life = nextLifecycle(life, { type: 'stop', reason: 'empty-room' });
    expect(life).toEqual({ phase: 'stopping', reason: 'empty-room' });
    life = nextLifecycle(life, { type: 'stopped', result: 'failed' });
    expect(life).toEqual({ phase: 'stopped', reason: 'empty-room', result: 'failed' });
  });

  test('every other move is refused: a room cannot stop twice, record again, or stop before it records', () => {
    const states: RoomLifecycle[] = [
      { phase: 'starting' },
      { phase: 'recording' },
      { phase: 'stopping', reason: 'command' },
      { phase: 'stopped', reason: 'command', result: 'ready' },
    ];
    const events: RoomLifecycleEvent[] = [{ type: 'recording' }, { type: 'stop', reason: 'command' }, { type: 'stopped', result: 'ready' }];
    const legal = new Set(['starting:recording', 'recording:stop', 'stopping:stopped']);
    for (const state of states) {
      for (const event of events) {
        const key = `${state.phase}:${event.type}`;
        if (legal.has(key)) expect(() => nextLifecycle(state, event), key).not.toThrow();
        else expect(() => nextLifecycle(state, event), key).toThrow(IllegalTransitionError);
      }
    }
  });

  test('a stored recording reads as the room lifecycle: busy states are the ones not stopped, the reason kept', () => {
    for (const state of STORED_STATES) {
      const life = lifecycleOf({ state, stopReason: 'max-duration' });
      expect(life.phase !== 'stopped', state).toBe(BUSY_STATES.includes(state));
      if (life.phase === 'stopping' || life.phase === 'stopped') expect(life.reason).toBe('max-duration');
    }
    expect(lifecycleOf({ state: 'recording', stopReason: undefined })).toEqual({ phase: 'recording' });
    // Left stopping by a crash with no reason stored: it was interrupted.
    expect(lifecycleOf({ state: 'mixing', stopReason: undefined })).toEqual({ phase: 'stopping', reason: 'interrupted' });
    expect(STOP_REASONS).toContain('interrupted');
  });
});
