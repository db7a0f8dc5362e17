import { rm } from 'node:fs/promises';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { until } from './until.ts';

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
