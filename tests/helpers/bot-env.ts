import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startBotInSim, type BotInSim, type BotInSimOptions } from '../../scripts/demo/bot-in-sim.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from './until.ts';

/**
 * A bot and a stand-in of its own with these people (`{ username: 'hana', globalName: 'Hana' }`; those in
 * `dmsClosed` do not accept DMs), its data in a new temporary folder; `ids` maps each username to its user id.
 * `startBot`: any other option of startBot (a mixer …).
 */
export async function startBotWithPeople(
  prefix: string,
  people: readonly string[],
  opts: { dmsClosed?: readonly string[]; startBot?: BotInSimOptions['startBot'] } = {},
): Promise<{ dir: string; env: BotInSim; ids: Record<string, string> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const users = people.map((name) => ({
    username: name.toLowerCase(),
    globalName: name,
    ...(opts.dmsClosed?.includes(name) ? { dmsClosed: true } : {}),
  }));
  const env = await startBotInSim({
    dataDir: dir,
    log: silentLogger(),
    sim: { users },
    ...(opts.startBot ? { startBot: opts.startBot } : {}),
  });
  const ids = Object.fromEntries(users.map((u) => [u.username, env.sim.userByName(u.username).id]));
  return { dir, env, ids };
}

/** Tears down what a bot end-to-end suite started: the bot, its stand-in, and its temporary data folder. */
export async function closeBotInSim(env: BotInSim | undefined, dir: string | undefined): Promise<void> {
  await env?.bot.stop();
  await env?.sim.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}

/**
 * Moves a simulated user into (or, with null, out of) a voice channel and resolves once the bot's own cache shows
 * it: what a slash command right after it needs, waited on instead of guessed with a sleep.
 */
export async function joinAndSeen(env: BotInSim, userId: string, channelId: string | null = env.sim.voiceChannelId): Promise<void> {
  if (channelId === null) env.sim.leaveVoice(userId);
  else env.sim.joinVoice(userId, channelId);
  await until(
    () => {
      const seen = env.bot.client.guilds.cache.get(env.sim.guildId)?.voiceStates.cache.get(userId)?.channelId ?? null;
      return seen === channelId ? true : undefined;
    },
    `the bot to see ${userId} in ${channelId ?? 'no voice channel'}`,
  );
}
