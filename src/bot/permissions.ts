// What the bot needs in the room it records. Voice channels carry their own text chat, so one channel's
// permissions cover joining, the consent message and its reactions. Pure: the caller resolves the bitfield
// with channel.permissionsFor(botMember).
import { PermissionFlagsBits, PermissionsBitField, type PermissionResolvable } from 'discord.js';

type Requirement = { flag: bigint; label: string; why: string };

export const REQUIRED_ROOM_PERMISSIONS: readonly Requirement[] = [
  { flag: PermissionFlagsBits.ViewChannel, label: 'View Channel', why: 'to see the room' },
  { flag: PermissionFlagsBits.Connect, label: 'Connect', why: 'to join the room' },
  { flag: PermissionFlagsBits.SendMessages, label: 'Send Messages', why: "to post the consent message in the room's chat" },
  { flag: PermissionFlagsBits.AddReactions, label: 'Add Reactions', why: 'to add the opt-in reaction' },
  { flag: PermissionFlagsBits.ReadMessageHistory, label: 'Read Message History', why: 'to read reactions after a restart' },
];

/** Optional: the "🔴 REC" prefix on the bot's own nickname while it records. */
const INDICATOR_PERMISSION: Requirement = {
  flag: PermissionFlagsBits.ChangeNickname,
  label: 'Change Nickname',
  why: 'to show "🔴 REC" in its name while recording',
};

/** The permissions integer for the invite URL: everything required plus the optional indicator. */
export const INVITE_PERMISSIONS: bigint = [...REQUIRED_ROOM_PERMISSIONS, INDICATOR_PERMISSION].reduce(
  (bits, requirement) => bits | requirement.flag,
  0n,
);

export function missingRoomPermissions(granted: Readonly<PermissionsBitField> | null): Requirement[] {
  return REQUIRED_ROOM_PERMISSIONS.filter((r) => !granted?.has(r.flag as PermissionResolvable, true));
}

export function describeMissing(channelMention: string, missing: readonly Requirement[]): string {
  const lines = missing.map((r) => `• **${r.label}** (${r.why})`);
  return `I can't record in ${channelMention}: I'm missing these permissions there:\n${lines.join('\n')}\nAsk a server admin to grant them to my role (or re-invite me with the link in the README).`;
}

export function inviteUrl(clientId: string): string {
  const params = new URLSearchParams({
    client_id: clientId,
    scope: 'bot applications.commands',
    permissions: INVITE_PERMISSIONS.toString(),
  });
  return `https://discord.com/oauth2/authorize?${params.toString()}`;
}
