// Commands only make sense inside a server whose member data the bot has (the gateway's GUILD_CREATE).
import type { ButtonInteraction, ChatInputCommandInteraction, ModalSubmitInteraction } from 'discord.js';
import { UserFacingError } from './errors.ts';

export function guildInteraction(interaction: ChatInputCommandInteraction): ChatInputCommandInteraction<'cached'>;
export function guildInteraction(interaction: ButtonInteraction): ButtonInteraction<'cached'>;
export function guildInteraction(interaction: ModalSubmitInteraction): ModalSubmitInteraction<'cached'>;
export function guildInteraction(
  interaction: ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction,
): ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction {
  if (!interaction.inCachedGuild()) throw new UserFacingError('This command only works inside a server.');
  return interaction;
}
