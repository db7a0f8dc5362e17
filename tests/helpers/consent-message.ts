import type { DiscordSim } from '../../discord-sim/index.ts';
import { until } from './until.ts';

/** Who the room's consent message (in `channelId`, default the one consentMessage finds) says is being recorded, sorted. */
function beingRecorded(sim: DiscordSim, channelId?: string): string[] {
  const line = /\*\*Being recorded:\*\* (.*)/.exec(sim.consentMessage(channelId)?.message.content ?? '')?.[1] ?? '';
  return line === '' || line === 'nobody yet' ? [] : line.split(', ').sort();
}

/**
 * Resolves once the consent message lists exactly `names`. The bot edits it when a consent has been stored, its
 * speaker subscribed and their track opened, so this is the moment a speaker is heard, as people see it, for a
 * bot in this process or another. Let one consent complete before the next: an edit lists everyone who reacted,
 * including a consent still being stored.
 */
export async function untilListed(sim: DiscordSim, names: readonly string[], timeoutMs = 10_000, channelId?: string): Promise<void> {
  const want = [...names].sort().join(', ');
  await until(
    () => (beingRecorded(sim, channelId).join(', ') === want ? true : undefined),
    `the consent message to list ${want || 'nobody'}`,
    timeoutMs,
  );
}
