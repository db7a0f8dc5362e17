// When a room should stop by itself: a pure rule over the recording clock, checked by the room's ticker.

export type AutoStopReason = 'empty-room' | 'max-duration';

export interface AutoStopInput {
  /** ms since the recording's time zero */
  nowMs: number;
  /** When the room last became empty of humans (recording ms), or undefined while someone is there. */
  emptySinceMs: number | undefined;
  maxHours: number;
  emptyRoomMinutes: number;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

/** The reason the room is due to stop now, if any. The length cap wins: it is the harder limit. */
export function autoStopDue(input: AutoStopInput): AutoStopReason | undefined {
  if (input.nowMs >= input.maxHours * HOUR_MS) return 'max-duration';
  if (input.emptySinceMs !== undefined && input.nowMs - input.emptySinceMs >= input.emptyRoomMinutes * MINUTE_MS) {
    return 'empty-room';
  }
  return undefined;
}
