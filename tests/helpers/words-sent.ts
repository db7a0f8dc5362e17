// Where the bot must place words the stand-in sent, judged by when they really went out and came in, not only by
// when they were scheduled: a stand-in starved of CPU sends late (its own timers fire late), a starved bot takes
// them in later still, and the bot rightly places words by the arrivals that tell it most. The RTP timestamps
// say when they were scheduled, and arrival only ever errs late, so a word belongs from its schedule to when the
// bot took it in (or, for a bot in another process, when it was sent): one instant on a machine with time to spare.
import type { EventEmitter } from 'node:events';
import type { VoiceConnection } from '@discordjs/voice';
import { expect } from 'vitest';
import type { DiscordSim, SentFrame } from '../../discord-sim/index.ts';

/** How far from where it belongs a word may be placed: a few frames of a packet's way through the bot. */
const TOLERANCE_S = 0.02;

/** When a frame went out (or came in), sim-clock ms; undefined if it never did. */
type FrameTime = (frame: SentFrame) => number | undefined;

/**
 * When these words began (sim-clock ms) by `timeOf` each frame: the earliest frame's time less its place in the
 * words (its RTP offset from the first), as placement.ts learns a speaker's clock, since a frame only ever goes
 * out (or comes in) late.
 */
function beganAt(frames: readonly SentFrame[], timeOf: FrameTime): number {
  const first = frames[0]?.timestamp ?? 0;
  const starts = frames.flatMap((f) => {
    const at = timeOf(f);
    return at === undefined ? [] : [at - ((f.timestamp - first) >>> 0) / 48];
  });
  if (starts.length === 0) throw new Error('none of these words reached the bot');
  return Math.min(...starts);
}

/** When the stand-in really began sending these words (sim-clock ms): later than scheduled if its timers fired late. */
export function sentAt(frames: readonly SentFrame[]): number {
  return beganAt(frames, (f) => f.arrivals[0]);
}

/**
 * Records when a bot's voice connection's UDP socket takes in each packet (performance.now(), the stand-in's
 * clock), following it to a new socket on a reconnect. In the same process as the stand-in, a starved event loop
 * takes packets in a few hundred ms after they were sent (0.2-0.33 s measured at nice 10 beside two CPU burners),
 * and a bot can only place words by when it got them: `heardAt` is that time, the bot's own.
 */
export function tapArrivals(connection: VoiceConnection): { heardAt(frames: readonly SentFrame[]): number } {
  const arrived = new Map<string, number>();
  const onMessage = (datagram: unknown) => {
    if (!Buffer.isBuffer(datagram) || datagram.length < 12) return;
    const key = `${datagram.readUInt32BE(8)}:${datagram.readUInt16BE(2)}`;
    if (!arrived.has(key)) arrived.set(key, performance.now());
  };
  let udp: EventEmitter | undefined;
  let networking: EventEmitter | undefined;
  const retap = () => {
    const now = networking ? (Reflect.get(Reflect.get(networking, 'state') as object, 'udp') as EventEmitter | undefined) : undefined;
    if (now === udp) return;
    udp?.off('message', onMessage);
    udp = now;
    udp?.prependListener('message', onMessage);
  };
  const follow = () => {
    const now = Reflect.get(connection.state, 'networking') as EventEmitter | undefined;
    if (now !== networking) {
      networking?.off('stateChange', retap);
      networking = now;
      networking?.on('stateChange', retap);
    }
    retap();
  };
  connection.on('stateChange', follow);
  follow();
  return { heardAt: (frames) => beganAt(frames, (f) => arrived.get(`${f.ssrc}:${f.sequence}`)) };
}

/** Each utterance the stand-in sent for a user, oldest first, as its frames. */
export function utterancesOf(sim: DiscordSim, userId: string): SentFrame[][] {
  const byId = new Map<number, SentFrame[]>();
  for (const frame of sim.speakers.framesOf(userId)) byId.set(frame.utterance, [...(byId.get(frame.utterance) ?? []), frame]);
  return [...byId.values()];
}

/**
 * Expects words placed at `placedS` on a recording's timeline to sit where they belong, within TOLERANCE_S: between
 * `scheduledS` and `saidS`, when they were sent or taken in (`sentAt`, `heardAt`; both on that timeline). A later talk spurt of a speaker the bot already knows may be
 * placed anywhere between, by the clock their earlier words taught it. Measured from other words that were sent
 * late, a schedule can be the later of the two.
 */
export function expectPlacedAsSent(placedS: number, scheduledS: number, saidS: number, label = 'words'): void {
  const [from, to] = [Math.min(scheduledS, saidS), Math.max(scheduledS, saidS)];
  const said = `scheduled at ${scheduledS.toFixed(3)} s, said at ${saidS.toFixed(3)} s`;
  expect(placedS, `${label} (${said})`).toBeGreaterThan(from - TOLERANCE_S);
  expect(placedS, `${label} (${said})`).toBeLessThan(to + TOLERANCE_S);
}
