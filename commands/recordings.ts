// /recordings list | download <id> | delete <id>: a host's own recordings. Someone else's id gets the same
// answer as an id that does not exist (Library.requireOwned), so ids cannot be probed. /recordings mine: the
// recordings that hold the caller's voice, as the DM `mine` lists them (speaker-library.ts).
import {
  InteractionContextType,
  MessageFlags,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type SlashCommandStringOption,
} from 'discord.js';
import { UserFacingError } from '../src/bot/errors.ts';
import { discordTime, plural } from '../src/bot/format.ts';
import type { BotServices } from '../src/bot/services.ts';
import { preparingFreshLinkIntro } from '../src/bot/stop-notice.ts';
import { RECORDING_ID_LENGTH } from '../src/storage/layout.ts';
import type { Recording } from '../src/storage/store.ts';

const SHOWN = 15;
const PRIVATE = { flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } } as const;

const recordingIdOption = (option: SlashCommandStringOption) =>
  option
    .setName('id')
    .setDescription('Recording id, from /recordings list')
    .setRequired(true)
    .setMinLength(RECORDING_ID_LENGTH)
    .setMaxLength(RECORDING_ID_LENGTH);

export const data = new SlashCommandBuilder()
  .setName('recordings')
  .setDescription('Your recordings: list, get a download link, delete; the ones that hold your voice')
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .addSubcommand((sub) => sub.setName('list').setDescription('Recordings you hosted, with their deletion dates'))
  .addSubcommand((sub) => sub.setName('mine').setDescription('Recordings that hold your voice, with host and deletion date'))
  .addSubcommand((sub) => sub.setName('download').setDescription('DM me a fresh download link').addStringOption(recordingIdOption))
  .addSubcommand((sub) =>
    sub.setName('delete').setDescription('Delete a recording now: tracks, mix and links').addStringOption(recordingIdOption),
  );

export async function execute(interaction: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const sub = interaction.options.getSubcommand(true);
  if (sub === 'list') return list(interaction, deps);
  if (sub === 'mine') return void (await interaction.reply({ ...PRIVATE, content: await deps.speakers.mineText(interaction.user.id) }));
  const id = interaction.options.getString('id', true).trim().toLowerCase();
  const recording = await deps.library.requireOwned(id, interaction.user.id);
  if (sub === 'download') return download(interaction, deps, recording);
  return remove(interaction, deps, recording);
}

async function list(interaction: ChatInputCommandInteraction, deps: BotServices): Promise<void> {
  const recordings = await deps.library.listFor(interaction.user.id);
  if (recordings.length === 0) {
    await interaction.reply({
      ...PRIVATE,
      content: `You have no stored recordings. Recordings are deleted ${plural(deps.retentionDays, 'day')} after they stop.`,
    });
    return;
  }
  const lines = recordings.slice(0, SHOWN).map((r) => describe(r, deps.library.deletesAt(r)));
  const more = recordings.length > SHOWN ? `\n…and ${recordings.length - SHOWN} older.` : '';
  await interaction.reply({
    ...PRIVATE,
    content: `**Your recordings** (newest first):\n${lines.join('\n')}${more}\nGet a link with \`/recordings download <id>\`.`,
  });
}

function describe(recording: Recording, deletesAt: number | undefined): string {
  const speakers = plural(recording.speakers.length, 'speaker');
  const when = discordTime(recording.startedAt, 'f');
  const fate = deletesAt === undefined ? stateWords(recording) : `deleted ${discordTime(deletesAt, 'D')}`;
  return `• \`${recording.id}\` · ${when} · <#${recording.channelId}> · ${speakers} · ${fate}`;
}

function stateWords(recording: Recording): string {
  if (recording.state === 'recording') return 'recording now';
  if (recording.state === 'failed') return 'mix failed';
  return 'being prepared';
}

async function download(interaction: ChatInputCommandInteraction, deps: BotServices, recording: Recording) {
  // 'mixing': the tracks are closed and the page shows the mix when it is done.
  if (recording.state !== 'ready' && recording.state !== 'failed' && recording.state !== 'mixing') {
    throw new UserFacingError(
      `Recording \`${recording.id}\` isn't finished yet (${stateWords(recording)}). I'll DM you the link as soon as it is.`,
    );
  }
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const intro = recording.state === 'mixing' ? preparingFreshLinkIntro(recording) : `Here's a fresh link to recording \`${recording.id}\`.`;
  const outcome = await deps.library.sendLink(recording, intro);
  await interaction.editReply({
    content:
      outcome.status === 'sent'
        ? `I sent you a fresh download link by DM (valid until ${discordTime(outcome.expiresAt, 'f')}).`
        : "I couldn't DM you: your direct messages are closed. Allow DMs from server members " +
          '(server name → Privacy Settings), then try again. I never post links in channels.',
    allowedMentions: { parse: [] },
  });
}

async function remove(interaction: ChatInputCommandInteraction, deps: BotServices, recording: Recording) {
  await deps.library.remove(recording);
  await interaction.reply({
    ...PRIVATE,
    content: `Deleted recording \`${recording.id}\`: its tracks, mix and download links are gone.`,
  });
}
