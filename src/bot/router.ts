// The one place where a slash command's failure becomes a reply. Refusals (UserFacingError) are shown to the
// caller alone; every other error is logged with its context and the caller is told it failed, never why.
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import type { Logger } from '../log.ts';
import type { Command } from './command.ts';
import { isUserFacing } from './errors.ts';
import type { BotServices } from './services.ts';

export const INTERNAL_ERROR_TEXT = 'Something went wrong on my side. It has been logged; please try again in a moment.';

export type InteractionRouter = (interaction: Interaction) => Promise<void>;

export function createInteractionRouter(options: { commands: readonly Command[]; services: BotServices; log: Logger }): InteractionRouter {
  const { services, log } = options;
  const byName = new Map(options.commands.map((command) => [command.data.name, command]));

  return async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    const context = {
      interactionId: interaction.id,
      command: commandLine(interaction),
      userId: interaction.user.id,
      guildId: interaction.guildId,
    };
    const command = byName.get(interaction.commandName);
    try {
      if (!command) throw new Error(`no handler for /${interaction.commandName} (commands out of date? run deploy-commands)`);
      log.debug(context, 'command');
      await command.execute(interaction, services);
    } catch (error) {
      if (isUserFacing(error)) log.info({ ...context, refusal: error.message }, 'command refused');
      else log.error({ ...context, err: error }, 'command failed');
      await replyPrivately(interaction, isUserFacing(error) ? error.message : INTERNAL_ERROR_TEXT).catch((replyError: unknown) =>
        log.error({ ...context, err: replyError }, 'could not tell the user about the failure'),
      );
    }
  };
}

/** An ephemeral answer whether or not the interaction was already acknowledged. Mentions never ping. */
async function replyPrivately(interaction: ChatInputCommandInteraction, content: string): Promise<void> {
  const payload = { content, flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } } as const;
  if (interaction.replied || interaction.deferred) await interaction.followUp(payload);
  else await interaction.reply(payload);
}

/** `record start`, `recordings download abc`: how the command reads in logs. */
function commandLine(interaction: ChatInputCommandInteraction): string {
  const parts = [interaction.commandName];
  const sub = interaction.options.getSubcommand(false);
  if (sub) parts.push(sub);
  for (const option of interaction.options.data.flatMap((o) => o.options ?? [o])) {
    if (option.value !== undefined) parts.push(String(option.value));
  }
  return parts.join(' ');
}
