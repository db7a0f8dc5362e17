// The scenario's bot commands as result.json lists them: a start that fails says why; a start the scenario
// itself crashed before it was ready did not fail. Fake processes: what is tested is the bookkeeping.
import { expect, test } from 'vitest';
import type { BotProcess } from '../../scripts/demo/bot-process.ts';
import { scenarioBot } from '../../scripts/demo/scenario-bot.ts';

/** A process whose start resolves when `ready()` is called, or fails as its child would report it. */
function fakeProcess(): BotProcess & { ready(): void; fail(why: string): void } {
  let exit: (how: string) => void = () => undefined;
  const exited = new Promise<string>((resolve) => (exit = resolve));
  let settle: { resolve: () => void; reject: (e: Error) => void } | undefined;
  return {
    exited,
    start: () => new Promise<void>((resolve, reject) => (settle = { resolve, reject })),
    ready: () => settle?.resolve(),
    fail(why) {
      settle?.reject(new Error(why));
      exit('1');
    },
    async crash() {
      settle?.reject(new Error(`the bot's process ended (SIGKILL) before "ready"`));
      exit('SIGKILL');
      await exited;
    },
    stopAll: async () => undefined,
    shutDown: async () => exit('0'),
  };
}

test('a start that fails is listed with why; one the scenario crashed before it was ready is not a failure', async () => {
  const processes: ReturnType<typeof fakeProcess>[] = [];
  let now = 0;
  const bot = scenarioBot({
    fork: () => {
      const p = fakeProcess();
      processes.push(p);
      return p;
    },
    now: () => now,
  });
  const first = bot.first();
  processes[0]?.ready();
  await first;

  now = 1;
  bot.perform('crash');
  now = 2;
  bot.perform('start'); // killed before it is ready
  now = 3;
  bot.perform('crash');
  now = 4;
  bot.perform('start'); // fails on its own
  processes[2]?.fail('could not open the store: SQLITE_CANTOPEN');
  await processes[2]?.exited;
  await new Promise((resolve) => setImmediate(resolve));

  expect(bot.events).toEqual([
    { event: 'crash', at: 1, exit: 'SIGKILL' },
    { event: 'start', at: 2 },
    { event: 'crash', at: 3, exit: 'SIGKILL' },
    { event: 'start', at: 4, error: 'could not open the store: SQLITE_CANTOPEN' },
    { event: 'crash', at: 4, exit: '1' },
  ]);
  await bot.close();
});
