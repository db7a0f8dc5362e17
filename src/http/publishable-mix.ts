// Who may be in a mix that is published: the speakers of the mix who allow reuse (📣). The page says plainly when
// the mix holds anyone else, and offers a mix of only those who do, made on request like a format (catalog.ts
// FORMAT_RULES 'mix-publishable'). Its cached files are named by who is in it, so a change of choice makes a new
// one and the old one, which holds someone who has since said no, is never served. Pure.
import { createHash } from 'node:crypto';
import { mayReuse } from '../recording/consent-choice.ts';
import type { RecordingView, SpeakerView } from './recording-source.ts';

/** The publishable mix's path under the link, before its format (`mix-publishable.flac`). */
export const PUBLISHABLE_KEY = 'mix-publishable';

/** The mix's speakers (those whose consent stood), split by whether each allows reuse. */
export function mixSpeakersByReuse(recording: Pick<RecordingView, 'speakers'>): { reusing: SpeakerView[]; private: SpeakerView[] } {
  const inMix = recording.speakers.filter((s) => s.includeInMix);
  return { reusing: inMix.filter(mayReuse), private: inMix.filter((s) => !mayReuse(s)) };
}

/**
 * Who the publishable mix holds and the name its files are cached under; undefined when it would be no different
 * from the mix (everyone allows reuse) or hold nobody.
 */
export function publishableSpeakers(recording: Pick<RecordingView, 'speakers'>): { userIds: string[]; cacheName: string } | undefined {
  const split = mixSpeakersByReuse(recording);
  if (split.reusing.length === 0 || split.private.length === 0) return undefined;
  const userIds = [...new Set(split.reusing.map((s) => s.userId))].sort();
  const who = createHash('sha256').update(userIds.join(',')).digest('hex').slice(0, 16);
  return { userIds, cacheName: `${PUBLISHABLE_KEY}-${who}` };
}
