// Waiting until a RoomRecorder has taken in what the stand-in sent it, instead of sleeping "long enough" after
// the stand-in's last packet: the stand-in counts every packet it put on the wire to the bot, the room counts
// every datagram its receive adapter accounted for (a frame handed on, a duplicate refused, a packet it could
// not decrypt or parse). UDP on loopback keeps them all, so the two counts meet.
import type { DiscordSim } from '../../discord-sim/index.ts';
import type { RoomRecorder } from '../../src/recording/room-recorder.ts';
import type { ReceiveStats } from '../../src/recording/voice-receive.ts';
import { until } from './until.ts';

/** Datagrams a receive adapter accounted for one way or another. */
const accountedFor = (s: ReceiveStats): number => s.delivered + s.undecryptable + s.replayed + s.malformed;

/** Where the stand-in's wire and the room's receive totals stand at one moment: what `roomHeard` counts from. */
export interface WireMark {
  wire: number;
  accounted: number;
}

export async function wireMark(sim: DiscordSim, room: RoomRecorder): Promise<WireMark> {
  const wire = sim.speakers.wire.length;
  return { wire, accounted: accountedFor((await room.status()).receive) };
}

/** Packets the stand-in has put on the wire to the bot for these users since `mark`. */
function sentSince(sim: DiscordSim, userIds: readonly string[], mark: WireMark): number {
  return sim.speakers.wire.slice(mark.wire).filter((w) => userIds.includes(w.frame.userId)).length;
}

/**
 * Resolves once the room has accounted for every packet the stand-in sent it for `userIds` since `mark`. Take
 * the mark while none of them is talking, and name everyone the room listens to in that time (consenting, not
 * withdrawn) who talks: the room's totals are over all its subscriptions, and nobody else's packets count.
 */
export async function roomHeard(
  sim: DiscordSim,
  room: RoomRecorder,
  userIds: readonly string[],
  mark: WireMark,
  timeoutMs = 30_000,
): Promise<void> {
  await until(
    async () => {
      // The stand-in's count first: whatever it has sent by now must be in the room's count read after it.
      const sent = sentSince(sim, userIds, mark);
      const accounted = accountedFor((await room.status()).receive) - mark.accounted;
      return accounted >= sent ? true : undefined;
    },
    `the room to take in every packet the stand-in sent it for ${userIds.join(', ')}`,
    timeoutMs,
  );
}
