// Who is in a recording and whether they go into the mix: pure edits of the stored Recording, so the rules
// (a re-grant keeps the speaker's file and first consent, a withdrawal leaves them out of the mix) are tested
// without a store, a clock or a voice connection.
import { trackFileName } from '../storage/layout.ts';
import type { ConsentEvent, Recording, Speaker } from '../storage/schema.ts';

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
    const again: Speaker = { ...existing, name: grant.name, grantedAt: grant.at, includeInMix: true };
    delete again.withdrawnAt;
    return { ...recording, speakers: recording.speakers.map((s) => (s === existing ? again : s)) };
  }
  const speaker: Speaker = {
    userId: grant.userId,
    name: grant.name,
    trackFile: trackFileFor(recording, grant.userId, grant.name),
    consentedAt: grant.at,
    grantedAt: grant.at,
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

/**
 * The consent events a crash kept out of the log. A grant or a withdrawal is stored with the speaker first and
 * appended to the log second (two writes), so a process killed between them leaves a speaker recorded without
 * their `granted`, or withdrawn without their `withdrawn`. The speaker's stored state is the truth (it is what
 * decided whether their voice was kept): this returns what the log lacks for it, in order, to append at recovery.
 */
export function missingConsentEvents(recording: Recording, log: readonly ConsentEvent[]): ConsentEvent[] {
  const missing: ConsentEvent[] = [];
  for (const s of recording.speakers) {
    // A change of reuse choice says nothing of whether they were recorded.
    const last = log.findLast((e) => e.userId === s.userId && (e.event === 'granted' || e.event === 'withdrawn'));
    const latest = last?.event;
    // A record from before grantedAt was kept: a re-grant came after the last event the log has.
    const grantedAt = s.grantedAt ?? Math.max(s.consentedAt, last?.at ?? 0);
    const event = (type: 'granted' | 'withdrawn', at: number): ConsentEvent => ({
      recordingId: recording.id,
      userId: s.userId,
      name: s.name,
      event: type,
      at,
    });
    const granted = latest === 'granted';
    // Withdrawn in the store: the log must end with that withdrawal, after a grant.
    if (s.withdrawnAt !== undefined) {
      if (latest === undefined) missing.push(event('granted', grantedAt));
      if (latest !== 'withdrawn') missing.push(event('withdrawn', s.withdrawnAt));
    } else if (!granted) {
      missing.push(event('granted', grantedAt));
    }
  }
  return missing;
}
