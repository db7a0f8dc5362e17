// The one place where a command's failure becomes a reply. Refusals (UserFacingError) are shown to the caller
// alone; every other error is logged with its context and the caller is told it failed, never why. Slash
// commands go to their command by name; buttons and modals to the command that owns their custom id.
import { MessageFlags, type ChatInputCommandInteraction, type Interaction, type RepliableInteraction } from 'discord.js';
import type { Logger } from '../log.ts';
import type { Command } from './command.ts';
import { isUserFacing } from './errors.ts';
import type { BotServices } from './services.ts';

export const INTERNAL_ERROR_TEXT = 'Something went wrong on my side. It has been logged; please try again in a moment.';

export type InteractionRouter = (interaction: Interaction) => Promise<void>;

export function createInteractionRouter(options: { commands: readonly Command[]; services: BotServices; log: Logger }): InteractionRouter {
  const { services, log } = options;
  const byName = new Map(options.commands.map((command) => [command.data.name, command]));
  const buttons = new Map(options.commands.flatMap((command) => Object.entries(command.buttons ?? {})));
  const modals = new Map(options.commands.flatMap((command) => Object.entries(command.modals ?? {})));

  /** Runs `work`, turning its failure into a private answer. */
  async function answering(interaction: RepliableInteraction, what: string, work: () => Promise<void>): Promise<void> {
    const context = { interactionId: interaction.id, command: what, userId: interaction.user.id, guildId: interaction.guildId };
    try {
      log.debug(context, 'command');
      await work();
    } catch (error) {
      if (isUserFacing(error)) log.info({ ...context, refusal: error.message }, 'command refused');
      else log.error({ ...context, err: error }, 'command failed');
      await replyPrivately(interaction, isUserFacing(error) ? error.message : INTERNAL_ERROR_TEXT).catch((replyError: unknown) =>
        log.error({ ...context, err: replyError }, 'could not tell the user about the failure'),
      );
    }
  }

  return async (interaction) => {
    if (interaction.isChatInputCommand()) {
      const command = byName.get(interaction.commandName);
      return answering(interaction, commandLine(interaction), async () => {
        if (!command) throw new Error(`no handler for /${interaction.commandName} (commands out of date? run deploy-commands)`);
        await command.execute(interaction, services);
      });
    }
    if (interaction.isButton()) {
      const handler = buttons.get(interaction.customId);
      if (handler) return answering(interaction, `button ${interaction.customId}`, () => handler(interaction, services));
    }
    if (interaction.isModalSubmit()) {
      const handler = modals.get(interaction.customId);
      if (handler) return answering(interaction, `modal ${interaction.customId}`, () => handler(interaction, services));
    }
  };
}

/** An ephemeral answer whether or not the interaction was already acknowledged. Mentions never ping. */
async function replyPrivately(interaction: RepliableInteraction, content: string): Promise<void> {
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
