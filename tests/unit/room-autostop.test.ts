import { describe, expect, test } from 'vitest';
import { autoStopDue } from '../../src/recording/room-autostop.ts';

const limits = { maxHours: 2, emptyRoomMinutes: 5 };
const min = 60_000;

describe('auto-stop rule', () => {
  test.each([
    [{ nowMs: 0, emptySinceMs: undefined }, undefined],
    [{ nowMs: 10 * min, emptySinceMs: undefined }, undefined],
    [{ nowMs: 10 * min, emptySinceMs: 6 * min }, undefined],
    [{ nowMs: 11 * min, emptySinceMs: 6 * min }, 'empty-room'],
    [{ nowMs: 2 * 60 * min - 1, emptySinceMs: undefined }, undefined],
    [{ nowMs: 2 * 60 * min, emptySinceMs: undefined }, 'max-duration'],
    [{ nowMs: 2 * 60 * min, emptySinceMs: 0 }, 'max-duration'],
  ] as const)('%o → %s', (input, expected) => {
    expect(autoStopDue({ ...limits, ...input })).toBe(expected);
  });
});
