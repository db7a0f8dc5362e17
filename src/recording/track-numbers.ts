// The number each speaker's track has on the page and under the link (`tracks/<n>`): its place among the
// recording's speakers, counting those forgotten at their request (forget-speaker.ts) as if still there, so that
// nobody's track changes number and a forgotten track's old link names no one else's.

/** The numbers of `speakers`, in order: 1, 2, 3 … skipping every forgotten track's number. */
export function trackNumbers(recording: { speakers: readonly unknown[]; forgotten?: readonly { track: number }[] | undefined }): number[] {
  const gone = new Set((recording.forgotten ?? []).map((f) => f.track));
  const numbers: number[] = [];
  for (let n = 1; numbers.length < recording.speakers.length; n++) if (!gone.has(n)) numbers.push(n);
  return numbers;
}
