// One user received through the product's own voice adapter (src/recording/voice-receive.ts), as a recording
// receives them: frames with their RTP fields, and the adapter's counts of what it could not use.
import type { VoiceConnection } from '@discordjs/voice';
import { createVoiceReceive } from '../../src/recording/voice-receive.ts';
import type { ReceivedPacket } from '../../src/recording/speaker-track.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from './until.ts';

export function receiveThroughAdapter(connection: VoiceConnection, userId: string) {
  const packets: ReceivedPacket[] = [];
  const voice = createVoiceReceive(connection, { clock: { now: () => performance.now() }, log: silentLogger() });
  const subscription = voice.subscribe(userId, (p) => packets.push(p));
  return {
    packets,
    subscription,
    /** Resolves once `sent` frames reached the adapter one way or another (UDP on loopback keeps them all). */
    allArrived: (sent: number) =>
      until(() => {
        const s = subscription.stats();
        return s.delivered + s.undecryptable + s.replayed + s.malformed >= sent ? true : undefined;
      }, `${sent} frames of ${userId} at the adapter`),
    close: () => voice.close(),
  };
}
