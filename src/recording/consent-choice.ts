// What a speaker agreed to: recorded for the host only (✅), or also OK to publish or reuse (📣). The wording of
// each choice is one constant here, shown as is in the consent message, and its SHA-256 is stored with their
// consent, in their track's tags and in the receipt: so anyone holding the audio can tell which words were agreed
// to, and that they were not edited since. Pure edits of the stored Recording, tested without a store.
import { createHash } from 'node:crypto';
import type { Agreement, Recording, Speaker } from '../storage/schema.ts';

/** The consent message's wording for each choice, exactly as a speaker agrees to it. Changing a word changes its hash. */
export const CONSENT_TEXTS = {
  hostOnly: 'Record my voice for the host of this room only, to keep privately.',
  reuse: 'Record my voice, and the host may also publish or reuse the recording, including commercially.',
} as const;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The agreement a choice makes at `at` (epoch ms): its wording and that wording's hash. */
export function agreementOf(reuse: boolean, at: number): Agreement {
  const text = reuse ? CONSENT_TEXTS.reuse : CONSENT_TEXTS.hostOnly;
  return { reuse, text, sha256: sha256Hex(text), at };
}

/**
 * Whether a speaker's voice may be published or reused now: they chose 📣 and their consent stands. A record from
 * before the choice existed is host only.
 */
export function mayReuse(speaker: Pick<Speaker, 'withdrawnAt'> & { agreed?: Pick<Agreement, 'reuse'> | undefined }): boolean {
  return speaker.withdrawnAt === undefined && speaker.agreed?.reuse === true;
}

export function withAgreement(recording: Recording, userId: string, agreed: Agreement): Recording {
  return { ...recording, speakers: recording.speakers.map((s) => (s.userId === userId ? { ...s, agreed } : s)) };
}

/**
 * The comments a speaker's track carries about their choice (docs/track-format.md). A track recorded before the
 * choice existed says `no`, with no hash: nobody agreed to any reuse wording.
 */
export function reuseComments(speaker: Pick<Speaker, 'withdrawnAt' | 'agreed'>): Record<string, string> {
  return {
    ROOMREC_REUSE: mayReuse(speaker) ? 'yes' : 'no',
    ...(speaker.agreed ? { ROOMREC_CONSENT_SHA256: speaker.agreed.sha256 } : {}),
  };
}
