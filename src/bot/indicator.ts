// The visible "this room is being recorded" signs: a prefix on the bot's nickname (everyone in the member list
// and the voice channel sees it) and the voice channel's status line. Both are optional extras: without the
// permission the consent message still says it all, so failures are logged, never fatal.
import { PermissionFlagsBits, type Guild } from 'discord.js';
import type { Logger } from '../log.ts';

export const REC_PREFIX = '🔴 REC ';
const VOICE_STATUS_TEXT = '🔴 Recording: react ✅ in chat to opt in';
const NICKNAME_MAX = 32;

/** The nickname with the recording prefix, cut to Discord's 32-character limit. */
export function withRecPrefix(name: string): string {
  return [...(REC_PREFIX + stripRecPrefix(name))].slice(0, NICKNAME_MAX).join('');
}

export function stripRecPrefix(name: string): string {
  return name.startsWith(REC_PREFIX) ? name.slice(REC_PREFIX.length) : name;
}

/**
 * The nickname to put back: without the prefix, or null (no nickname) when what is left is just the bot's
 * own name. Works after a crash too, when the nickname from before the recording is no longer known.
 */
export function restoredNickname(current: string | null, username: string): string | null {
  if (current === null) return null;
  const stripped = stripRecPrefix(current);
  return stripped === '' || stripped === username ? null : stripped;
}

export type Indicator = { on(): Promise<void>; off(): Promise<void> };

export function createIndicator(deps: { guild: Guild; voiceChannelId: string; log: Logger }): Indicator {
  const { guild, voiceChannelId, log } = deps;
  const rest = guild.client.rest;

  async function setStatus(status: string): Promise<void> {
    const me = guild.members.me;
    const channel = guild.channels.cache.get(voiceChannelId);
    if (!me || !channel?.permissionsFor(me).has(PermissionFlagsBits.SetVoiceChannelStatus)) return;
    // discord.js 14 has no method for it yet: PUT /channels/{id}/voice-status.
    await rest.put(`/channels/${voiceChannelId}/voice-status`, { body: { status } });
  }

  async function setNickname(next: (me: NonNullable<Guild['members']['me']>) => string | null): Promise<void> {
    const me = guild.members.me;
    if (!me?.permissions.has(PermissionFlagsBits.ChangeNickname)) return;
    const nick = next(me);
    if (nick !== me.nickname) await me.setNickname(nick, 'recording indicator');
  }

  const attempt = async (what: string, work: () => Promise<void>) => {
    try {
      await work();
    } catch (error) {
      log.warn({ err: error, guildId: guild.id, what }, 'could not update the recording indicator');
    }
  };

  return {
    async on() {
      await attempt('nickname', () => setNickname((me) => withRecPrefix(me.nickname ?? me.user.displayName)));
      await attempt('voice status', () => setStatus(VOICE_STATUS_TEXT));
    },
    async off() {
      await attempt('nickname', () => setNickname((me) => restoredNickname(me.nickname, me.user.displayName)));
      await attempt('voice status', () => setStatus(''));
    },
  };
}
