// The shape of a direct-message command: `download`, and whatever a speaker or a host can ask the bot in a DM.
// Each lives in a module of its own here and is listed once in index.ts; dm.ts parses, dispatches and answers.
import type { Logger } from '../../log.ts';
import type { Store } from '../../storage/store.ts';
import type { Library, Speakers } from '../services.ts';
import type { ForgetDmDeps } from './forget.ts';
import type { ReuseControl } from './reuse.ts';

/** What every command can use. A command that needs more adds it here, and main.ts provides it. */
export type DmDeps = { store: Store; library: Library; speakers: Speakers; log: Logger; reuse: ReuseControl; forget: ForgetDmDeps };

export type DmContext = DmDeps & { userId: string };

export type DmCommand<Args = unknown> = {
  /** The first word, lower case (`download`, `my` of `my track <id>`). */
  verb: string;
  /** How the help shows it, e.g. "`download <id>`: a fresh link to a recording you hosted". */
  usage: string;
  /** The words after the verb → its arguments, or undefined when they do not fit (the answer is then the help). */
  parse(words: readonly string[]): Args | undefined;
  /** The answer in the DM, or undefined when the command has already sent what it had to. */
  run(args: Args, ctx: DmContext): Promise<string | undefined>;
};

/** A recording id as typed: Discord's inline code marks around it are allowed, case is not significant. */
export function recordingIdWord(word: string): string {
  return word.replace(/^`|`$/g, '').toLowerCase();
}

/** A command with its argument type erased, so commands of different arguments share one list. */
export type ListedDmCommand = {
  verb: string;
  usage: string;
  /** The parsed arguments and the run bound to them, or undefined when the words do not fit. */
  prepare(words: readonly string[]): { args: unknown; run: (ctx: DmContext) => Promise<string | undefined> } | undefined;
};

export function listed<Args>(command: DmCommand<Args>): ListedDmCommand {
  return {
    verb: command.verb,
    usage: command.usage,
    prepare(words) {
      const args = command.parse(words);
      return args === undefined ? undefined : { args, run: (ctx) => command.run(args, ctx) };
    },
  };
}
