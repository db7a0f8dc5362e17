// /record start | stop | status. Refusals are checked before anything visible happens, so a refused start
// leaves no trace in the room.
import {
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { CONSENT_EMOJI } from '../src/bot/consent.ts';
import { NOTHING_RECORDED, UserFacingError } from '../src/bot/errors.ts';
import { judgeFreeSpace, lowSpaceRefusal, lowSpaceWarning } from '../src/bot/disk-space.ts';
import { discordTime, e2eeStatusLine, nameList, notesLine } from '../src/bot/format.ts';
import { describeMissing, missingRoomPermissions } from '../src/bot/permissions.ts';
import type { BotServices } from '../src/bot/services.ts';
import { guildInteraction } from '../src/bot/guild-only.ts';

export const data = new SlashCommandBuilder()
  .setName('record')
  .setDescription('Record a voice channel: only people who opt in are recorded')
  .setContexts(InteractionContextType.Guild)
  .addSubcommand((sub) => sub.setName('start').setDescription('Start recording the voice channel you are in'))
  .addSubcommand((sub) => sub.setName('stop').setDescription('Stop recording; the host gets a download link by DM'))
  .addSubcommand((sub) => sub.setName('status').setDescription('Is this server recording, and who is being recorded?'));

/** How many of the latest notes `/record status` lists. */
const STATUS_NOTES_SHOWN = 5;

const PRIVATE = { flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } } as const;

export async function execute(interaction: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  if (sub === 'start') return start(interaction, deps);
  if (sub === 'stop') return stop(interaction, deps);
  return status(interaction, deps);
}

async function start(raw: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const interaction = guildInteraction(raw);
  const { guild, member } = interaction;
  const channel = member.voice.channel;
  if (!channel) throw new UserFacingError('Join a voice channel first, then run `/record start` from there.');

  const preparing = deps.rooms.stopping(guild.id);
  if (preparing) {
    throw new UserFacingError(
      `The last recording here (<#${preparing.channelId}>) is still being prepared. Try again in a moment; \`/record status\` shows how far it got.`,
    );
  }
  const active = deps.rooms.current(guild.id);
  if (active) {
    throw new UserFacingError(
      active.channelId === channel.id
        ? `I'm already recording <#${channel.id}> (hosted by <@${active.hostId}>). See \`/record status\`.`
        : `I'm already recording <#${active.channelId}> in this server; I can only record one room at a time. ` +
            `The host (<@${active.hostId}>) or a moderator can stop it with \`/record stop\`.`,
    );
  }

  const me = guild.members.me ?? (await guild.members.fetchMe());
  const missing = missingRoomPermissions(channel.permissionsFor(me));
  if (missing.length > 0) throw new UserFacingError(describeMissing(`<#${channel.id}>`, missing));
  if (channel.full && !channel.permissionsFor(me).has(PermissionFlagsBits.MoveMembers)) {
    throw new UserFacingError(`<#${channel.id}> is full, so I can't join it. Raise its user limit or make room.`);
  }

  // Not knowing the free space is no reason to refuse: a full disk is handled while recording.
  const free = await deps.freeDiskBytes().catch((error: unknown) => {
    deps.log.warn({ err: error }, 'could not read the free space on the data folder');
    return Infinity;
  });
  const space = judgeFreeSpace(free, deps.minFreeDiskMb);
  if (space.verdict === 'refuse') {
    deps.log.warn({ freeMb: space.freeMb, minFreeMb: deps.minFreeDiskMb, guildId: guild.id }, 'start refused: the disk is nearly full');
    throw new UserFacingError(lowSpaceRefusal(space.freeMb, deps.minFreeDiskMb));
  }

  // Joining voice can take longer than Discord's 3-second reply window.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  await deps.rooms.start({ guildId: guild.id, channelId: channel.id, hostId: member.id, hostName: member.displayName });
  const warning = space.verdict === 'warn' ? `\n${lowSpaceWarning(space.freeMb)}` : '';
  await interaction.editReply({
    content:
      `🔴 Recording <#${channel.id}>. I posted the consent message in its chat: only people who react with ${CONSENT_EMOJI} are recorded ` +
      `(you too: react to be in your own recording). Stop with \`/record stop\`; I'll DM you the download link.${warning}`,
    allowedMentions: { parse: [] },
  });
}

async function stop(raw: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const interaction = guildInteraction(raw);
  const room = deps.rooms.current(interaction.guild.id);
  if (!room) {
    throw new UserFacingError(
      deps.rooms.stopping(interaction.guild.id)
        ? 'This recording is already stopping; `/record status` shows how far it got.'
        : NOTHING_RECORDED,
    );
  }
  const isHost = room.hostId === interaction.user.id;
  const canManage = interaction.member.permissionsIn(room.channelId).has(PermissionFlagsBits.ManageChannels);
  if (!isHost && !canManage) {
    throw new UserFacingError(`Only the host (<@${room.hostId}>) or someone with the Manage Channels permission can stop this recording.`);
  }
  await interaction.reply({
    ...PRIVATE,
    content: isHost
      ? "Stopping. I'll DM you the download link in a few seconds."
      : `Stopping. The host (<@${room.hostId}>) gets the download link by DM.`,
  });
  await deps.rooms.stop(interaction.guild.id, interaction.user.id);
}

async function status(raw: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const interaction = guildInteraction(raw);
  const room = deps.rooms.current(interaction.guild.id);
  const stopping = room ? undefined : deps.rooms.stopping(interaction.guild.id);
  await interaction.reply({
    ...PRIVATE,
    content: room
      ? `🔴 Recording <#${room.channelId}> since ${discordTime(room.startedAt, 'R')}, hosted by <@${room.hostId}>.\n` +
        `**Being recorded:** ${nameList(room.recording)}\n**OK to publish or reuse (📣):** ${nameList(room.reusing, 'nobody')}\n` +
        `${e2eeStatusLine(room.e2ee)}` +
        (room.notes.length > 0 ? `\n${notesLine(room.notes, STATUS_NOTES_SHOWN)}` : '')
      : (stopping?.text ?? 'Not recording in this server. Start with `/record start` from a voice channel.'),
  });
}
