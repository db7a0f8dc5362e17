// The discord.js client. Intents are the minimum the bot uses, none of them privileged:
//   Guilds                 channels, roles and the bot's own member (permission checks, text-in-voice chat)
//   GuildVoiceStates       who is in which voice channel (consent is only for people in the room; @discordjs/voice)
//   GuildMessageReactions  opt-in / withdrawal on the consent message
//   DirectMessages         `download` DMs; message content in DMs reaches bots without the MessageContent intent
// Partials: DM channels are never cached before their first message, and a consent message posted before a
// restart is not in the cache, so reactions to it arrive partial.
import { Client, GatewayIntentBits, Partials } from 'discord.js';

const BOT_INTENTS = [
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

/** Start-up could not log in to Discord; the message says what to do. */
export class DiscordLoginError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DiscordLoginError';
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  return typeof code === 'string' && NETWORK_CODES.has(code) ? code : errorCode(cause);
}

/**
 * Turns what client.login() threw into an actionable message: a rejected token (REST 401, gateway close
 * 4004, discord.js TokenInvalid) or an unreachable API. Anything else is returned unchanged.
 */
export function explainLoginError(error: unknown, api: string | undefined): unknown {
  const where = api ?? 'https://discord.com/api';
  const detail = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const status = (error as { status?: unknown } | null)?.status;
  if (code === 'TokenInvalid' || code === 4004 || status === 401) {
    return new DiscordLoginError(
      `Discord rejected DISCORD_TOKEN (${detail}): reset it in the developer portal (your application → Bot → Reset Token) and put the new token in .env.`,
      { cause: error },
    );
  }
  const network =
    errorCode(error) ?? (error instanceof Error && /fetch failed|aborted|timed? ?out/i.test(detail) ? 'no answer' : undefined);
  if (network) {
    return new DiscordLoginError(
      `cannot reach Discord at ${where} (${network}: ${detail}): check this machine's network, DNS, proxy or firewall, then start again.`,
      { cause: error },
    );
  }
  return error;
}
