// The discord.js client. Intents are the minimum the bot uses, none of them privileged:
//   Guilds                 channels, roles and the bot's own member (permission checks, text-in-voice chat)
//   GuildVoiceStates       who is in which voice channel (consent is only for people in the room; @discordjs/voice)
//   GuildMessageReactions  opt-in / withdrawal on the consent message
//   DirectMessages         `download` DMs; message content in DMs reaches bots without the MessageContent intent
// Partials: DM channels are never cached before their first message, and a consent message posted before a
// restart is not in the cache, so reactions to it arrive partial.
import { Client, GatewayIntentBits, Partials } from 'discord.js';

export const BOT_INTENTS = [
  GatewayIntentBits.Guilds,
  GatewayIntentBits.GuildVoiceStates,
  GatewayIntentBits.GuildMessageReactions,
  GatewayIntentBits.DirectMessages,
] as const;

export type DiscordEndpoints = {
  /** REST base, e.g. `http://127.0.0.1:PORT/api` for the local stand-in; Discord's own when absent. The
   * gateway address comes from GET /gateway/bot on that API, so it needs no setting of its own. */
  api?: string | undefined;
};

export function createDiscordClient(endpoints: DiscordEndpoints = {}): Client {
  return new Client({
    intents: [...BOT_INTENTS],
    partials: [Partials.Channel, Partials.Message, Partials.Reaction, Partials.User],
    allowedMentions: { parse: [] },
    ...(endpoints.api ? { rest: { api: endpoints.api } } : {}),
  });
}
