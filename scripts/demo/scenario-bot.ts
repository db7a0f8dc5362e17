// The bot's process through a scenario: the first one started before the scenario's clock, then the
// scenario's `{"bot": "crash"}` (SIGKILL) and `{"bot": "start"}` (a new process on the same data), each
// listed for result.json with its scenario time. A process that dies on its own is listed as a crash too, with
// how it ended, since that is what a host would see.
import type { BotProcess } from './bot-process.ts';

export type BotEvent = {
  event: 'crash' | 'start';
  /** scenario seconds: when it was killed, or died; when the new process was told to start */
  at: number;
  /** start only: when the new process was ready (logged in, the recording resumed or finished); absent if never */
  readyAt?: number;
  /** crash only: how the process ended (`SIGKILL` for the scenario's crash, an exit code if it died by itself) */
  exit?: string;
  /** start only: why the new process could not start, if it could not (its log has the rest) */
  error?: string;
};

export type ScenarioBot = {
  /** Starts the first process; the scenario's clock starts after it is ready. */
  first(): Promise<void>;
  /** Performs a scenario's `bot` command (playScenario's `bot` hook); throws when it cannot be done now. */
  perform(event: 'crash' | 'start'): void;
  /** At the end: waits for a start under way, then stops every room; false when no bot is running. */
  stopAll(): Promise<boolean>;
  /** Every crash and start since the scenario's clock started. */
  readonly events: readonly BotEvent[];
  /** Shuts the running bot down gracefully and ends the spare process. */
  close(): Promise<void>;
};

/**
 * `fork(n)` forks the process for the n-th start (0: the first); `now()` is the scenario time. The next process
 * is forked as soon as one dies, so that a start costs the bot's own start-up, not Node's module loading.
 */
export function scenarioBot(options: { fork: (n: number) => BotProcess; now: () => number }): ScenarioBot {
  const events: BotEvent[] = [];
  let forks = 0;
  let spare: BotProcess | null = options.fork(forks++);
  /**
   * The process that runs the bot, from the moment it is told to start; `ready` settles when it is ready (with
   * undefined) or could not start (with why).
   */
  let current: { bot: BotProcess; ready: Promise<Error | undefined> } | null = null;

  let closed = false;
  /** Processes the scenario itself killed: a start they never finished did not fail. */
  const killed = new WeakSet<BotProcess>();
  const died = (bot: BotProcess, exit: string) => {
    if (closed || current?.bot !== bot) return;
    current = null;
    events.push({ event: 'crash', at: options.now(), exit });
    spare = options.fork(forks++);
  };
  const launch = (onReady: () => void): Promise<Error | undefined> => {
    const bot = spare;
    if (!bot) throw new Error('no process to start the bot in');
    spare = null;
    const ready = bot.start().then(
      () => void onReady(),
      (error: unknown) => (error instanceof Error ? error : new Error('the bot could not start', { cause: error })),
    );
    current = { bot, ready };
    void bot.exited.then((exit) => died(bot, exit));
    return ready;
  };

  return {
    events,
    async first() {
      const failure = await launch(() => undefined);
      if (failure) throw failure;
    },
    perform(event) {
      if (event === 'crash') {
        if (!current) throw new Error('the bot is not running');
        const { bot } = current;
        killed.add(bot);
        died(bot, 'SIGKILL');
        void bot.crash();
        return;
      }
      if (current) throw new Error('the bot is already running');
      const start: BotEvent = { event: 'start', at: options.now() };
      events.push(start);
      const bot = spare;
      void launch(() => (start.readyAt = options.now())).then((failure) => {
        if (failure && !(bot && killed.has(bot))) start.error = failure.message;
      });
    },
    async stopAll() {
      const running = current;
      if (!running || (await running.ready)) return false;
      // A bot that dies while stopping leaves the recording as a crash does: result.json says what is on disk.
      return running.bot.stopAll().then(
        () => true,
        () => false,
      );
    },
    async close() {
      closed = true;
      await Promise.all([current?.bot.shutDown(), spare?.crash()]);
    },
  };
}
