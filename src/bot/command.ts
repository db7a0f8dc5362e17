// The shape of one slash command. commands/ implements it; the router and scripts/deploy-commands.ts consume it.
// A command may also answer the buttons and modals it put on messages, by custom id (a `/note` button on the
// consent message opens the note's modal): the router sends those interactions to the command that owns the id.
import type {
  ButtonInteraction,
  ChatInputCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { BotServices } from './services.ts';

type CommandData = {
  readonly name: string;
  toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody;
};

export type Command = {
  readonly data: CommandData;
  execute(interaction: ChatInputCommandInteraction, deps: BotServices): Promise<void>;
  /** Handlers of this command's buttons, by custom id. */
  readonly buttons?: Readonly<Record<string, (interaction: ButtonInteraction, deps: BotServices) => Promise<void>>>;
  /** Handlers of this command's modals, by custom id. */
  readonly modals?: Readonly<Record<string, (interaction: ModalSubmitInteraction, deps: BotServices) => Promise<void>>>;
};
