import type { Client } from 'discord.js';
import { VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import type { DiscordSim } from '../../discord-sim/index.ts';

/** Closes what a voice test opened, in order: the connection (unless the test's subject destroyed it), the client, the stand-in. */
export async function closeVoiceTest(opened: {
  connection: VoiceConnection | null;
  client: Client | null;
  sim: DiscordSim | null;
}): Promise<void> {
  if (opened.connection && opened.connection.state.status !== VoiceConnectionStatus.Destroyed) opened.connection.destroy();
  await opened.client?.destroy();
  await opened.sim?.close();
}
