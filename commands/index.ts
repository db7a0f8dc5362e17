// Every slash command, in the order Discord lists them. Used by the bot's router and by deploy-commands.
import type { Command } from '../src/bot/command.ts';
import * as note from './note.ts';
import * as record from './record.ts';
import * as recordings from './recordings.ts';

export const commands = [record, note, recordings] as const satisfies readonly Command[];
