// A speaker's own part of a recording, as they are told about it: whether their track holds any of their voice,
// and how long they were recorded. The time is pure (from the consent log); the sound is read from the track.
import { openOggOpus } from '../audio/ogg-opus-reader.ts';
import { isSilencePacket } from '../audio/opus-silence.ts';
import type { ConsentEvent, Recording } from '../storage/schema.ts';

/**
 * How long `userId` was recorded: each stretch from a consent to the withdrawal after it (or the stop), summed.
 * A re-grant after a withdrawal is a new stretch; the time they were out is not counted. Undefined while the
 * recording has no stop time.
 */
export function recordedMs(
  recording: Pick<Recording, 'startedAt' | 'stoppedAt'>,
  events: readonly ConsentEvent[],
  userId: string,
): number | undefined {
  const { startedAt, stoppedAt } = recording;
  if (stoppedAt === undefined) return undefined;
  const clamp = (at: number) => Math.min(stoppedAt, Math.max(startedAt, at));
  let total = 0;
  let since: number | undefined;
  for (const e of [...events].filter((x) => x.userId === userId).sort((a, b) => a.at - b.at)) {
    if (e.event === 'granted') since ??= clamp(e.at);
    else if (since !== undefined) {
      total += clamp(e.at) - since;
      since = undefined;
    }
  }
  return since === undefined ? total : total + (stoppedAt - since);
}

/**
 * Whether a track holds sound: any packet that is not the exact silence the track format fills pauses with
 * (docs/track-format.md). Stops at the first one, so a speaker who talked is answered within a page or two.
 */
export async function trackHasSound(path: string): Promise<boolean> {
  const file = await openOggOpus(path);
  for await (const packet of file.packets()) if (!isSilencePacket(packet.data)) return true;
  return false;
}
