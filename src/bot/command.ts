// The shape of one slash command. commands/ implements it; the router and scripts/deploy-commands.ts consume it.
import type { ChatInputCommandInteraction, RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js';
import type { BotServices } from './services.ts';

type CommandData = {
  readonly name: string;
  toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody;
};

export type Command = {
  readonly data: CommandData;
  execute(interaction: ChatInputCommandInteraction, deps: BotServices): Promise<void>;
};
