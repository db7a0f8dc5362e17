// The real bot (startBot) wired to the local Discord stand-in: what `npm run demo` and the end-to-end tests
// run. Offline, loopback only. The stand-in lives in discord-sim/; nothing here reaches Discord.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { commands } from '../../commands/index.ts';
import { loadBotConfig, type Env } from '../../src/config.ts';
import type { Logger } from '../../src/log.ts';
import type { Clock } from '../../src/recording/clock.ts';
import { startBot, type Bot, type StartBotOptions } from '../../src/main.ts';
import type { Scheduler } from '../../src/jobs/retention-job.ts';
import { startDiscordSim, type DiscordSim, type DiscordSimOptions } from '../../discord-sim/index.ts';

export type BotInSimOptions = {
  dataDir: string;
  /** Extra environment for the bot's config (RETENTION_DAYS, EMPTY_ROOM_MINUTES, ...). */
  env?: Env;
  sim?: DiscordSimOptions;
  /** Reuse a running stand-in (a bot restart keeps the same Discord). */
  existingSim?: DiscordSim;
  log: Logger;
  now?: () => number;
  clock?: Clock;
  retentionScheduler?: Scheduler;
  httpPort?: number;
  /** Any other startBot option a test needs (a mixer, timers, the file system's write). */
  startBot?: Omit<StartBotOptions, 'config' | 'discordApi' | 'log'>;
};

export type BotInSim = { sim: DiscordSim; bot: Bot; ownsSim: boolean };

/** The slash commands as deploy-commands would register them, for the stand-in's registry. */
function commandDefinitions() {
  return commands.map((c) => c.data.toJSON());
}

export async function startSimForBot(options: DiscordSimOptions = {}): Promise<DiscordSim> {
  return startDiscordSim({ commands: commandDefinitions(), ...options });
}

/** The two things a bot needs of a stand-in: given as plain values, a bot in a child process can use them too. */
export type SimEndpoint = Pick<DiscordSim, 'token' | 'restUrl'>;

export async function startBotAgainst(sim: SimEndpoint, options: Omit<BotInSimOptions, 'sim' | 'existingSim'>): Promise<Bot> {
  await mkdir(options.dataDir, { recursive: true });
  const config = loadBotConfig({
    DISCORD_TOKEN: sim.token,
    LINK_SECRET: randomBytes(32).toString('hex'),
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'info',
    // A simulated room needs a few MB: the demo and the tests must not depend on how full this machine's disk
    // is (a test of the free-space check sets it).
    MIN_FREE_DISK_MB: '0',
    ...options.env,
  });
  return startBot({
    config,
    discordApi: sim.restUrl,
    httpPort: options.httpPort ?? 0,
    log: options.log,
    ...(options.now ? { now: options.now } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.retentionScheduler ? { retentionScheduler: options.retentionScheduler } : {}),
    ...options.startBot,
  });
}

export async function startBotInSim(options: BotInSimOptions): Promise<BotInSim> {
  const sim = options.existingSim ?? (await startSimForBot(options.sim));
  try {
    const bot = await startBotAgainst(sim, options);
    return { sim, bot, ownsSim: options.existingSim === undefined };
  } catch (error) {
    if (!options.existingSim) await sim.close();
    throw error;
  }
}
