// Who is in a recording and whether they go into the mix: pure edits of the stored Recording, so the rules
// (a re-grant keeps the speaker's file and first consent, a withdrawal leaves them out of the mix) are tested
// without a store, a clock or a voice connection.
import { trackFileName } from '../storage/layout.ts';
import type { Recording, Speaker } from '../storage/schema.ts';

export interface Grant {
  userId: string;
  name: string;
  /** Epoch ms of the consent. */
  at: number;
}

export function findSpeaker(recording: Recording, userId: string): Speaker | undefined {
  return recording.speakers.find((s) => s.userId === userId);
}

/** The track file a speaker records into: theirs if they consented before, else the next numbered one. */
export function trackFileFor(recording: Recording, userId: string, name: string): string {
  return findSpeaker(recording, userId)?.trackFile ?? trackFileName(recording.speakers.length + 1, name, userId);
}

export function withGrant(recording: Recording, grant: Grant): Recording {
  const existing = findSpeaker(recording, grant.userId);
  if (existing) {
    const again: Speaker = { ...existing, name: grant.name, includeInMix: true };
    delete again.withdrawnAt;
    return { ...recording, speakers: recording.speakers.map((s) => (s === existing ? again : s)) };
  }
  const speaker: Speaker = {
    userId: grant.userId,
    name: grant.name,
    trackFile: trackFileFor(recording, grant.userId, grant.name),
    consentedAt: grant.at,
    includeInMix: true,
  };
  return { ...recording, speakers: [...recording.speakers, speaker] };
}

export function withWithdrawal(recording: Recording, userId: string, at: number): Recording {
  return {
    ...recording,
    speakers: recording.speakers.map((s) => (s.userId === userId ? { ...s, withdrawnAt: at, includeInMix: false } : s)),
  };
}

/** Speakers whose consent stands: the ones a resumed recording keeps recording and the mix includes. */
export function consentingSpeakers(recording: Recording): Speaker[] {
  return recording.speakers.filter((s) => s.withdrawnAt === undefined && s.includeInMix);
}
