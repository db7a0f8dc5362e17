// Where the bot must place words the stand-in sent, judged by when it really sent them, not only by when it was
// told to: a stand-in starved of CPU sends late (its own timers fire late), and the bot rightly places words by
// the arrivals that tell it most. The RTP timestamps still say when they were scheduled, and arrival only ever
// errs late, so a word belongs from its schedule to its send: the same instant on a machine with time to spare.
import { expect } from 'vitest';
import type { DiscordSim, SentFrame } from '../../discord-sim/index.ts';

/** How far from where it belongs a word may be placed: a few frames of a packet's way through the bot. */
const TOLERANCE_S = 0.02;

/**
 * When the stand-in really began sending these words (sim-clock ms): the earliest of its frames' first arrivals,
 * less each frame's place in the words (its RTP offset from the first). At the latest, then, since a frame only
 * goes out late: the time the bot learns its speaker's clock from, as placement.ts does.
 */
export function sentAt(frames: readonly SentFrame[]): number {
  const first = frames[0]?.timestamp ?? 0;
  const starts = frames.filter((f) => f.arrivals.length > 0).map((f) => (f.arrivals[0] ?? 0) - ((f.timestamp - first) >>> 0) / 48);
  if (starts.length === 0) throw new Error('none of these words reached the bot');
  return Math.min(...starts);
}

/** Each utterance the stand-in sent for a user, oldest first, as its frames. */
export function utterancesOf(sim: DiscordSim, userId: string): SentFrame[][] {
  const byId = new Map<number, SentFrame[]>();
  for (const frame of sim.speakers.framesOf(userId)) byId.set(frame.utterance, [...(byId.get(frame.utterance) ?? []), frame]);
  return [...byId.values()];
}

/**
 * Expects words placed at `placedS` on a recording's timeline to sit where they belong, within TOLERANCE_S: not
 * before `scheduledS`, not after `sentS` (both on that timeline). A later talk spurt of a speaker the bot already
 * knows may be placed anywhere between, by the clock their earlier words taught it.
 */
export function expectPlacedAsSent(placedS: number, scheduledS: number, sentS: number, label?: string): void {
  expect(placedS, `${label ?? 'words'}: not before they were scheduled at ${scheduledS.toFixed(3)} s`).toBeGreaterThan(
    scheduledS - TOLERANCE_S,
  );
  expect(placedS, `${label ?? 'words'}: not after they were sent at ${sentS.toFixed(3)} s`).toBeLessThan(sentS + TOLERANCE_S);
}
