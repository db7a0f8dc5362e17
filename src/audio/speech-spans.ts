// Where a track holds sound, from its packets alone: the track format fills every pause with exact-silence
// packets (docs/track-format.md), so a packet that is not one of them is sound, with no decoding. A track starts
// at the recording's start, so a packet's place in the stream is its time on the recording's clock.
import { openOggOpus } from './ogg-opus-reader.ts';
import { isSilencePacket } from './opus-silence.ts';

/** A stretch of sound, in ms on the recording's clock: [startMs, endMs). */
export type Span = { startMs: number; endMs: number };

/** Pauses shorter than this are part of the speech around them: a lane shows turns, not breaths. */
const MERGE_GAP_MS = 500;

export async function speechSpans(path: string, mergeGapMs = MERGE_GAP_MS): Promise<Span[]> {
  const file = await openOggOpus(path);
  const spans: Span[] = [];
  // Decoded time = stream position − pre-skip (RFC 7845 §4.2).
  let position = -file.head.preSkip;
  for await (const packet of file.packets()) {
    const start = position;
    position += packet.samples;
    if (isSilencePacket(packet.data)) continue;
    const startMs = Math.max(0, start / 48);
    const endMs = Math.max(0, position / 48);
    const last = spans.at(-1);
    if (last && startMs - last.endMs < mergeGapMs) last.endMs = endMs;
    else if (endMs > startMs) spans.push({ startMs, endMs });
  }
  return spans;
}
