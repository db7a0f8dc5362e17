// The Discord side of a room that every part of the bot needs alike: its voice channel, joining it, who is in
// it, and who reacts with ✅ to its consent message.
import { joinVoiceChannel, type VoiceConnection } from '@discordjs/voice';
import type { Client, Guild, Message, User, VoiceBasedChannel } from 'discord.js';
import type { Logger } from '../log.ts';
import { logVoiceErrors } from '../recording/room-voice.ts';
import type { Recording } from '../storage/store.ts';
import { isConsentEmoji } from './consent.ts';
import { isReuseEmoji } from './reuse-reactions.ts';
import { UserFacingError } from './errors.ts';

export function voiceChannel(guild: Guild, channelId: string): VoiceBasedChannel {
  const channel = guild.channels.cache.get(channelId);
  if (!channel?.isVoiceBased()) throw new UserFacingError(`<#${channelId}> is not a voice channel I can see.`);
  return channel;
}

/** The recording's voice channel if the bot still sees it. */
export function roomChannel(client: Client, recording: Pick<Recording, 'guildId' | 'channelId'>): VoiceBasedChannel | undefined {
  const channel = client.guilds.cache.get(recording.guildId)?.channels.cache.get(recording.channelId);
  return channel?.isVoiceBased() ? channel : undefined;
}

/** @discordjs/voice keeps connections in a process-wide map keyed by group + guild; one group per bot. */
export function joinRoom(guild: Guild, channelId: string, opts: { voiceGroup: string | undefined; log: Logger }): VoiceConnection {
  const connection = joinVoiceChannel({
    guildId: guild.id,
    channelId,
    adapterCreator: guild.voiceAdapterCreator,
    selfDeaf: false,
    selfMute: true,
    ...(opts.voiceGroup ? { group: opts.voiceGroup } : {}),
  });
  logVoiceErrors(connection, opts.log.child({ guildId: guild.id, channelId }));
  return connection;
}

/** People (not bots, not this bot) in the voice channel now. */
export function humansIn(client: Client, guild: Guild, channelId: string): number {
  return guild.voiceStates.cache.filter((s) => s.channelId === channelId && s.member?.user.bot !== true && s.id !== client.user?.id).size;
}

/**
 * Everyone reacting with ✅ or 📣 to the consent message now (every page of reactors), and whether they chose 📣
 * (also OK to publish or reuse, which implies ✅).
 */
export async function consentReactors(message: Message): Promise<Map<string, { user: User; reuse: boolean }>> {
  const reacted = new Map<string, { user: User; reuse: boolean }>();
  for (const user of (await reactors(message, isConsentEmoji)).values()) reacted.set(user.id, { user, reuse: false });
  for (const user of (await reactors(message, isReuseEmoji)).values()) reacted.set(user.id, { user, reuse: true });
  return reacted;
}

async function reactors(message: Message, isEmoji: (name: string | null) => boolean): Promise<Map<string, User>> {
  const reaction = message.reactions.cache.find((r) => isEmoji(r.emoji.name));
  const reacted = new Map<string, User>();
  if (!reaction) return reacted;
  let after: string | undefined;
  for (;;) {
    const page = await reaction.users.fetch({ limit: 100, ...(after ? { after } : {}) });
    for (const [id, user] of page) reacted.set(id, user);
    if (page.size < 100) break;
    after = page.lastKey();
  }
  return reacted;
}
