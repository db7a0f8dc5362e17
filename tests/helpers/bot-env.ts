import { rm } from 'node:fs/promises';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';

/** Tears down what a bot end-to-end suite started: the bot, its stand-in, and its temporary data folder. */
export async function closeBotInSim(env: BotInSim | undefined, dir: string | undefined): Promise<void> {
  await env?.bot.stop();
  await env?.sim.close();
  if (dir) await rm(dir, { recursive: true, force: true });
}
