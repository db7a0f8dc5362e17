// What a link answers about a speaker who asked to be forgotten (src/recording/forget-speaker.ts), before any
// file is looked at: their track is gone (410) from the moment the request is stored, and while the mix is made
// again without them every other file of the recording waits (503), so no link serves the old mix meanwhile.
import { trackNumbers } from '../recording/track-numbers.ts';
import type { RecordingView } from './recording-source.ts';

export type ForgetAnswer = { status: 410 | 503; title: string; text: string };

const TRACK_PATH = /^tracks\/([1-9]\d{0,3})(?:\.[a-z0-9]{1,5})?$/;
/** How often a client is asked to come back while the mix is being made again. */
export const REMAKING_RETRY_SECONDS = 5;

/** The answer for `rest` (the path under the link), or undefined when the request is served as usual. */
export function forgetAnswer(rest: string, recording: RecordingView): ForgetAnswer | undefined {
  const pending = recording.forgetting ?? [];
  const track = TRACK_PATH.exec(rest);
  if (track) {
    const number = Number(track[1]);
    const speaker = recording.speakers[trackNumbers(recording).indexOf(number)];
    const forgotten = (recording.forgotten ?? []).some((f) => f.track === number);
    if (forgotten || (speaker !== undefined && pending.some((p) => p.userId === speaker.userId))) {
      return { status: 410, title: 'This track was removed', text: 'Its speaker asked to be removed from this recording.' };
    }
  }
  if (pending.length === 0 || rest === '' || rest === 'receipt.txt') return undefined;
  return {
    status: 503,
    title: 'The mix is being made again',
    text: 'A speaker asked to be removed from this recording; the mix is being made again without them. Try again in a moment.',
  };
}
