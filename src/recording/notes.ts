// Notes: markers a host or a speaker adds while recording ("intro done", "cut this"), each at a moment of the
// recording's clock with who added it. Stored with the recording; exported later as labels and chapters, whose
// formats are one line per marker, so a note is a single line of plain text. The stored shape is `Note`
// (src/storage/schema.ts): `at` in ms on the recording's clock (the tracks' and the mix's position 0).

import { oneLine } from '../text/format.ts';

/** Longest note kept, in characters: a chapter title, not a transcript (Discord's option enforces it too). */
export const NOTE_MAX_LENGTH = 200;

/** The note as kept: whitespace (newlines included) folded to single spaces, trimmed; null when nothing is left. */
export function noteText(raw: string): string | null {
  const text = oneLine(raw).replace(/\s+/g, ' ').slice(0, NOTE_MAX_LENGTH).trim();
  return text.length > 0 ? text : null;
}

/** Who may add a note: the host, or someone being recorded right now. */
export function mayAddNote(userId: string, room: { hostId: string; recording: readonly { userId: string }[] }): boolean {
  return userId === room.hostId || room.recording.some((s) => s.userId === userId);
}
