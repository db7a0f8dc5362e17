// /note <text>: a marker at this moment of the recording, by the host or someone being recorded. It shows in the
// consent message and in /record status, and becomes a label and a chapter in what the host downloads. The
// consent message's "Add a note" button does the same through a modal, for those who would rather not type a
// command mid-conversation.
import {
  ActionRowBuilder,
  InteractionContextType,
  MessageFlags,
  ModalBuilder,
  SlashCommandBuilder,
  TextInputBuilder,
  TextInputStyle,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { NOTE_BUTTON_ID } from '../src/bot/consent.ts';
import { guildInteraction } from '../src/bot/guild-only.ts';
import type { BotServices } from '../src/bot/services.ts';
import { NOTE_MAX_LENGTH } from '../src/recording/notes.ts';
import type { Note } from '../src/storage/schema.ts';
import { formatDuration } from '../src/text/format.ts';

const NOTE_MODAL_ID = 'roomrec:note-modal';
const NOTE_TEXT_ID = 'text';

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
  await interaction.reply(added(note));
}

export const buttons = {
  /** The consent message's button: the modal, once it is clear that this person may add a note now. */
  async [NOTE_BUTTON_ID](raw: ButtonInteraction, deps: BotServices): Promise<void> {
    const interaction = guildInteraction(raw);
    deps.rooms.checkNote(interaction.guild.id, interaction.user.id);
    const text = new TextInputBuilder()
      .setCustomId(NOTE_TEXT_ID)
      .setLabel('What happens here?')
      .setPlaceholder('Intro done')
      .setStyle(TextInputStyle.Short)
      .setRequired(true)
      .setMaxLength(NOTE_MAX_LENGTH);
    const modal = new ModalBuilder()
      .setCustomId(NOTE_MODAL_ID)
      .setTitle('Add a note to the recording')
      .addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(text));
    await interaction.showModal(modal);
  },
};

export const modals = {
  async [NOTE_MODAL_ID](raw: ModalSubmitInteraction, deps: BotServices): Promise<void> {
    const interaction = guildInteraction(raw);
    const note = await deps.rooms.note(
      interaction.guild.id,
      { userId: interaction.user.id, name: interaction.member.displayName },
      interaction.fields.getTextInputValue(NOTE_TEXT_ID),
    );
    await interaction.reply(added(note));
  },
};

function added(note: Note) {
  return {
    flags: MessageFlags.Ephemeral,
    allowedMentions: { parse: [] },
    content: `🗒️ Note added at ${formatDuration(note.at)} of the recording: ${note.text}`,
  } as const;
}
