// /note <text>: a marker at this moment of the recording, by the host or someone being recorded. It shows in the
// consent message and in /record status, and becomes a label and a chapter in what the host downloads.
import { InteractionContextType, MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { guildInteraction } from '../src/bot/guild-only.ts';
import type { BotServices } from '../src/bot/services.ts';
import { NOTE_MAX_LENGTH } from '../src/recording/notes.ts';
import { formatDuration } from '../src/text/format.ts';

export const data = new SlashCommandBuilder()
  .setName('note')
  .setDescription('Mark this moment of the recording (a label and a chapter in the download)')
  .setContexts(InteractionContextType.Guild)
  .addStringOption((o) =>
    o.setName('text').setDescription('What happens here, e.g. "Intro done"').setRequired(true).setMaxLength(NOTE_MAX_LENGTH),
  );

export async function execute(raw: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const interaction = guildInteraction(raw);
  const note = await deps.rooms.note(
    interaction.guild.id,
    { userId: interaction.user.id, name: interaction.member.displayName },
    interaction.options.getString('text', true),
  );
  await interaction.reply({
    flags: MessageFlags.Ephemeral,
    allowedMentions: { parse: [] },
    content: `🗒️ Note added at ${formatDuration(note.at)} of the recording: ${note.text}`,
  });
}
