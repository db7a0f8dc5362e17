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
export async function untilListed(sim: DiscordSim, names: readonly string[], timeoutMs = 30_000, channelId?: string): Promise<void> {
  const want = [...names].sort().join(', ');
  await until(
    () => (beingRecorded(sim, channelId).join(', ') === want ? true : undefined),
    `the consent message to list ${want || 'nobody'}`,
    timeoutMs,
  ).catch((error: unknown) => {
    // What it said instead tells a slow bot (one name short) from a wrong one.
    const listed = beingRecorded(sim, channelId).join(', ') || 'nobody';
    throw new Error(`${error instanceof Error ? error.message : String(error)} (it lists ${listed})`, { cause: error });
  });
}

/**
 * When the room's consent message first listed `name` as being recorded, and when an edit after that first left them
 * out again (sim-clock ms, from the stand-in's log of the bot's edits; undefined when it never did). The bot edits it
 * once a consent is stored, its speaker subscribed and their track open, and once a withdrawal is done: so from
 * `from` on the speaker is heard, and from `to` on they are not, however long a busy machine made the bot take.
 */
export function listedSpan(sim: DiscordSim, name: string): { from?: number; to?: number } {
  const message = sim.consentMessage()?.message;
  if (!message) return {};
  const edits = sim.log
    .rest({ method: 'PATCH', route: '/channels/:channel/messages/:message' })
    .filter((e) => e.path.endsWith(`/messages/${message.id}`) && e.status < 300);
  const lists = (content: unknown) =>
    (/\*\*Being recorded:\*\* (.*)/.exec(typeof content === 'string' ? content : '')?.[1] ?? '').split(', ').includes(name);
  const from = edits.find((e) => lists((e.body as { content?: unknown } | null)?.content))?.at;
  const to =
    from === undefined ? undefined : edits.find((e) => e.at > from && !lists((e.body as { content?: unknown } | null)?.content))?.at;
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
}
