// Both commands only make sense inside a server whose member data the bot has (the gateway's GUILD_CREATE).
import type { ChatInputCommandInteraction } from 'discord.js';
import { UserFacingError } from './errors.ts';

export function guildInteraction(interaction: ChatInputCommandInteraction): ChatInputCommandInteraction<'cached'> {
  if (!interaction.inCachedGuild()) throw new UserFacingError('This command only works inside a server.');
  return interaction;
}
