import { describe, expect, test } from 'vitest';
import { addStats, NO_STATS, statsOf, withSpeakerStats } from '../../src/recording/speaker-integrity.ts';
import type { Recording } from '../../src/storage/schema.ts';

const track = {
  received: 120,
  lost: 3,
  written: 110,
  silenceSamples: 48_000 * 2.5,
  dropped: { invalid: 1, duplicate: 4, late: 2 },
  reordered: 5,
  diskFullSamples: 0,
};

describe('per-speaker integrity figures', () => {
  test("from a track and its subscription: late and duplicate from the drops (and DAVE's refused repeats), silence in seconds", () => {
    expect(statsOf(track, { undecryptable: 7, replayed: 2 })).toEqual({
      received: 120,
      lost: 3,
      late: 2,
      duplicate: 6,
      undecryptable: 7,
      silenceFilledSeconds: 2.5,
    });
    // A track still being opened, nobody subscribed yet: zeros, not a crash.
    expect(statsOf(undefined, undefined)).toEqual(NO_STATS);
  });

  test('stretches add up (a withdrawal and re-grant, a restart), seconds kept to the millisecond', () => {
    const a = statsOf({ ...track, silenceSamples: 4800 }, { undecryptable: 1, replayed: 0 }); // 0.1 s
    const b = statsOf({ ...track, silenceSamples: 9600 }, { undecryptable: 2, replayed: 0 }); // 0.2 s
    expect(addStats(a, b)).toEqual({ received: 240, lost: 6, late: 4, duplicate: 8, undecryptable: 3, silenceFilledSeconds: 0.3 });
    expect(addStats(NO_STATS, a)).toEqual(a);
  });

  test('stored per speaker by user id; others untouched', () => {
    const speaker = (userId: string) => ({ userId, name: userId, trackFile: `tracks/${userId}.ogg`, consentedAt: 1, includeInMix: true });
    const recording = { speakers: [speaker('1'), speaker('2')] } as unknown as Recording;
    const figures = statsOf(track, { undecryptable: 0, replayed: 0 });
    const next = withSpeakerStats(recording, new Map([['2', figures]]));
    expect(next.speakers[0]).toEqual(speaker('1'));
    expect(next.speakers[1]).toEqual({ ...speaker('2'), stats: figures });
    expect(withSpeakerStats(recording, new Map())).toBe(recording);
  });
});
