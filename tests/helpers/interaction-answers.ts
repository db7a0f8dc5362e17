import type { DiscordSim, InteractionRecord } from '../../discord-sim/index.ts';

/** What the bot said in answer to an interaction (reply, edited deferral, follow-ups), oldest first. */
export function answersTo(sim: DiscordSim, record: InteractionRecord): string[] {
  return sim.log
    .rest()
    .filter((e) => e.interactionId === record.id && e.status < 300 && e.method !== 'GET')
    .map((e) => {
      const body = e.body as { content?: string; data?: { content?: string } } | undefined;
      return body?.data?.content ?? body?.content ?? '';
    })
    .filter((text) => text.length > 0);
}
