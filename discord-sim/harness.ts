import { Client, Events, GatewayIntentBits, Partials, type ClientOptions } from 'discord.js';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import type { DiscordSim } from './sim.ts';

/** Intents a consent-first recorder needs (none privileged). */
export const RECORDER_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildVoiceStates,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
];

/** A real discord.js Client logged in to the stand-in, resolved once READY and the guild have arrived. */
export async function loginClient(sim: DiscordSim, options: Partial<ClientOptions> = {}): Promise<Client> {
  const client = new Client({
    intents: RECORDER_INTENTS,
    partials: [Partials.Channel, Partials.Message, Partials.Reaction],
    ...options,
    rest: { ...options.rest, api: sim.restUrl },
  });
  const ready = new Promise((resolve) => client.once(Events.ClientReady, resolve));
  await client.login(sim.token);
  await ready;
  return client;
}

/**
 * The real @discordjs/voice join as a recorder makes it: hearing others (Discord sends no audio to a deafened
 * bot), with DAVE when the stand-in speaks it (`dave: false` offers none, which a DAVE stand-in closes with
 * 4017). Returned at once, not yet Ready, for code that waits for readiness itself.
 */
export function connectVoice(
  client: Client,
  sim: DiscordSim,
  options: { channelId?: string; selfDeaf?: boolean; dave?: boolean } = {},
): VoiceConnection {
  const guild = client.guilds.cache.get(sim.guildId);
  if (!guild) throw new Error('discord-sim: the client has not received the guild');
  return joinVoiceChannel({
    channelId: options.channelId ?? sim.voiceChannelId,
    guildId: sim.guildId,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: options.selfDeaf ?? false,
    daveEncryption: options.dave ?? sim.dave.enabled,
  });
}

/** `connectVoice`, resolved once the connection is Ready (destroyed if it never gets there). */
export async function joinVoice(
  client: Client,
  sim: DiscordSim,
  options: { channelId?: string; selfDeaf?: boolean; dave?: boolean; timeoutMs?: number } = {},
): Promise<VoiceConnection> {
  const connection = connectVoice(client, sim, options);
  try {
    await entersState(connection, VoiceConnectionStatus.Ready, options.timeoutMs ?? 10_000);
  } catch (error) {
    connection.destroy();
    throw error;
  }
  return connection;
}
