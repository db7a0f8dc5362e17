// Per-speaker integrity figures (how complete each track is), from the track's and the receiver's counters.
// Pure: the recorder keeps, per speaker, the figures "banked" from earlier stretches of their track (before a
// withdrawal and re-grant, which opens a fresh SpeakerTrack and subscription; before a bot restart, read back
// from the store) and adds the open stretch's counters to them whenever it writes them.
import type { Recording, SpeakerStats } from '../storage/schema.ts';
import { SAMPLES_PER_MS } from './placement.ts';
import type { SpeakerTrackStats } from './speaker-track.ts';
import type { ReceiveStats } from './voice-receive.ts';

export type { SpeakerStats };

export const NO_STATS: SpeakerStats = { received: 0, lost: 0, late: 0, duplicate: 0, undecryptable: 0, silenceFilledSeconds: 0 };

const SAMPLE_RATE = SAMPLES_PER_MS * 1000;
/** Seconds kept to the millisecond: sums of binary fractions would otherwise show float noise in metadata. */
const seconds = (x: number): number => Math.round(x * 1000) / 1000;

/** One stretch of a speaker's track: its track's counters and its subscription's. */
export function statsOf(
  track: SpeakerTrackStats | undefined,
  receive: Pick<ReceiveStats, 'undecryptable' | 'replayed'> | undefined,
): SpeakerStats {
  return {
    received: track?.received ?? 0,
    lost: track?.lost ?? 0,
    late: track?.dropped.late ?? 0,
    // Repeats the track dropped, and (with DAVE) those the decryptor refused before they reached it.
    duplicate: (track?.dropped.duplicate ?? 0) + (receive?.replayed ?? 0),
    undecryptable: receive?.undecryptable ?? 0,
    silenceFilledSeconds: seconds((track?.silenceSamples ?? 0) / SAMPLE_RATE),
  };
}

export function addStats(a: SpeakerStats, b: SpeakerStats): SpeakerStats {
  return {
    received: a.received + b.received,
    lost: a.lost + b.lost,
    late: a.late + b.late,
    duplicate: a.duplicate + b.duplicate,
    undecryptable: a.undecryptable + b.undecryptable,
    silenceFilledSeconds: seconds(a.silenceFilledSeconds + b.silenceFilledSeconds),
  };
}

/** The recording with these speakers' figures replaced (others untouched). */
export function withSpeakerStats(recording: Recording, stats: ReadonlyMap<string, SpeakerStats>): Recording {
  if (stats.size === 0) return recording;
  return {
    ...recording,
    speakers: recording.speakers.map((s) => {
      const figures = stats.get(s.userId);
      return figures ? { ...s, stats: figures } : s;
    }),
  };
}
