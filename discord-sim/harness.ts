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

interface VoiceJoin {
  /** Default: the voice channel of `guildId`'s guild. */
  channelId?: string;
  /** Default: the primary guild. */
  guildId?: string;
  selfDeaf?: boolean;
  dave?: boolean;
}

/**
 * The real @discordjs/voice join as a recorder makes it: hearing others (Discord sends no audio to a deafened
 * bot), with DAVE when the stand-in speaks it (`dave: false` offers none, which a DAVE stand-in closes with
 * 4017). Returned at once, not yet Ready, for code that waits for readiness itself.
 */
export function connectVoice(client: Client, sim: DiscordSim, options: VoiceJoin = {}): VoiceConnection {
  const guildId = options.guildId ?? sim.guildId;
  const guild = client.guilds.cache.get(guildId);
  if (!guild) throw new Error(`discord-sim: the client has not received guild ${guildId}`);
  return joinVoiceChannel({
    channelId: options.channelId ?? sim.world.requireGuild(guildId).voiceChannelId,
    guildId,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: options.selfDeaf ?? false,
    daveEncryption: options.dave ?? sim.dave.enabled,
  });
}

/** `connectVoice`, resolved once the connection is Ready (destroyed if it never gets there). */
export async function joinVoice(
  client: Client,
  sim: DiscordSim,
  options: VoiceJoin & { timeoutMs?: number } = {},
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
