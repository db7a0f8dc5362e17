// The room's voice watch (src/recording/room-voice.ts) against the real @discordjs/voice and the stand-in: a
// voice session invalidated (4006) while the main gateway is itself reconnecting. The library's own rejoin
// request (op 4) goes out on a gateway that is down and is lost; nothing ever answers it, and without the
// watch the connection waits in Signalling for good (found by the soak bench, scripts/bench/soak.ts).
import { afterEach, expect, test } from 'vitest';
import type { Client } from 'discord.js';
import { VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { joinVoice, loginClient, startDiscordSim, type DiscordSim } from '../../discord-sim/index.ts';
import { silentLogger } from '../../src/log.ts';
import { watchVoice, type VoiceChange } from '../../src/recording/room-voice.ts';

let sim: DiscordSim | undefined;
let client: Client | undefined;
let connection: VoiceConnection | undefined;
afterEach(async () => {
  connection?.destroy();
  await client?.destroy();
  await sim?.close();
});

test('a 4006 while the gateway reconnects: the unanswered rejoin is sent again and the connection comes back', async () => {
  sim = await startDiscordSim();
  client = await loginClient(sim);
  const conn = (connection = await joinVoice(client, sim));
  const changes: VoiceChange[] = [];
  const reconnected = new Promise<void>((resolve) => {
    watchVoice(conn, {
      log: silentLogger(),
      policy: { signalMs: 200, readyMs: 1000, attempts: 5, backoffMs: 100 },
      onChange: (change) => {
        changes.push(change);
        if (change.status === 'reconnected') resolve();
      },
    });
  });
  const sessionsBefore = sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'session-description').length;
  sim.dropGateway(4000);
  sim.disconnectBotVoice(4006);
  await reconnected;
  expect(conn.state.status).toBe(VoiceConnectionStatus.Ready);
  expect(changes.map((c) => c.status)).toEqual(['disconnected', 'reconnected']);
  // A new voice session, through a second op 4 on the resumed gateway.
  expect(sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'session-description').length).toBe(sessionsBefore + 1);
});
