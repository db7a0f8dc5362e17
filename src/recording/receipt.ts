// The consent receipt: who opted in and out of a recording, and when. Plain text so it survives being
// forwarded, printed or pasted anywhere; shipped in the zip and at receipt.txt under the link.
// The download server shows the same receipt live, so its inputs are plain shapes the stored recording and
// the server's views both satisfy.
import { formatPrivacyCode, formatUtc, oneLine } from '../text/format.ts';

export interface ReceiptSpeaker {
  userId: string;
  name: string;
  consentedAt: number;
  withdrawnAt?: number | undefined;
  includeInMix: boolean;
  /** Their choice of reuse and the consent text it agreed to (storage/schema.ts Agreement); absent: host only, from before it was offered. */
  agreed?: { reuse: boolean; text: string; sha256: string; at: number } | undefined;
}

/** End-to-end encryption as recorded (storage/schema.ts RecordingE2ee). */
export interface ReceiptE2ee {
  protocol: string;
  version: number;
  privacyCodes: readonly string[];
  plainFrom?: number | undefined;
}

export interface ReceiptRecording {
  id: string;
  hostName: string;
  startedAt: number;
  stoppedAt?: number | undefined;
  speakers: readonly ReceiptSpeaker[];
  /** null: not E2EE; absent: not noted (made before the bot noted it). */
  e2ee?: ReceiptE2ee | null | undefined;
}

/** A speaker forgotten at their request (forget-speaker.ts) is one `forgotten` event naming nobody. */
export type ReceiptConsentEvent =
  | {
      userId: string;
      name: string;
      event: 'granted' | 'withdrawn' | 'reuse-granted' | 'reuse-withdrawn';
      at: number;
      sha256?: string | undefined;
    }
  | { userId?: undefined; name?: undefined; event: 'forgotten'; at: number; sha256?: undefined };

export type ReceiptInput = {
  recording: ReceiptRecording;
  events: readonly ReceiptConsentEvent[];
  deletionAt: number | undefined;
  retentionDays: number;
};

export function buildReceipt({ recording, events, deletionAt, retentionDays }: ReceiptInput): string {
  const lines = [
    'roomrec consent receipt',
    '',
    `Recording:  ${recording.id}`,
    `Host:       ${oneLine(recording.hostName)}`,
    `Started:    ${formatUtc(recording.startedAt)}`,
    `Stopped:    ${recording.stoppedAt === undefined ? 'still recording' : formatUtc(recording.stoppedAt)}`,
    `Deleted on: ${deletionText(deletionAt, retentionDays)}`,
    '',
    'End-to-end encryption:',
    ...e2eeLines(recording.e2ee).map((line) => `  ${line}`),
    '',
    'Only people who opted in were recorded, each from the moment they opted in until they withdrew.',
    "Nobody else's audio was written to disk.",
    '',
    'Consent events:',
    ...(events.length === 0 ? ['  (none)'] : sortedByTime(events).map((e) => `  ${formatUtc(e.at)}  ${eventLine(e)}`)),
    '',
    'Speakers:',
    ...(recording.speakers.length === 0
      ? ['  (none)']
      : recording.speakers.map((s, i) => {
          const withdrawn = s.withdrawnAt === undefined ? '' : `, withdrew ${formatUtc(s.withdrawnAt)}`;
          const mix = s.includeInMix ? 'in the mix' : 'left out of the mix';
          return `  ${String(i + 1).padStart(2, '0')}  ${who(s)}: consented ${formatUtc(s.consentedAt)}${withdrawn}; ${mix}; ${reuseWords(s)}`;
        })),
    '',
    ...consentTextLines(recording.speakers),
  ];
  return lines.join('\n');
}

const EVENT_WORDS: Record<ReceiptConsentEvent['event'], string> = {
  granted: 'granted',
  withdrawn: 'withdrawn',
  'reuse-granted': 'reuse granted',
  'reuse-withdrawn': 'reuse withdrawn',
  forgotten: 'forgotten',
};

function textHash(sha256: string | undefined): string {
  return sha256 === undefined ? '' : `  consent text sha256 ${sha256}`;
}

/** A speaker's current choice as the receipt and the page say it. */
export function reuseWords(s: Pick<ReceiptSpeaker, 'agreed' | 'withdrawnAt'>): string {
  if (s.withdrawnAt !== undefined) return 'not to be published or reused (withdrew)';
  if (!s.agreed) return 'for the host only (recorded before the choice was offered)';
  return `${s.agreed.reuse ? 'OK to publish or reuse' : 'for the host only'} (chosen ${formatUtc(s.agreed.at)})`;
}

/** Each consent text the speakers agreed to, word for word, with the SHA-256 their tracks carry. */
function consentTextLines(speakers: readonly ReceiptSpeaker[]): string[] {
  const texts = new Map(speakers.flatMap((s) => (s.agreed ? [[s.agreed.sha256, s.agreed.text] as const] : [])));
  if (texts.size === 0) return [];
  return ['Consent texts agreed to:', ...[...texts].flatMap(([sha256, text]) => [`  "${text}"`, `    sha256 ${sha256}`]), ''];
}

/**
 * Whether the room's voice was end-to-end encrypted (Discord's DAVE) while it was recorded, and the voice
 * privacy code(s) people could compare in their clients then: one per group change, so each is listed, in
 * order. Shared by the receipt and the download page.
 */
export function e2eeLines(e2ee: ReceiptE2ee | null | undefined): string[] {
  if (e2ee === undefined) return ['Not noted (this recording was made before the bot noted it).'];
  if (e2ee === null) return ["No. Discord's end-to-end voice encryption (DAVE) was off in this room."];
  const protocol = `${e2ee.protocol.toUpperCase()} v${e2ee.version}`;
  const span =
    e2ee.plainFrom === undefined
      ? `Yes, Discord ${protocol}, for the whole recording.`
      : `Yes, Discord ${protocol}, until ${formatUtc(e2ee.plainFrom)}; not after that.`;
  const codes = e2ee.privacyCodes.map(formatPrivacyCode);
  if (codes.length <= 1) return [span, `Voice privacy code: ${codes[0] ?? '(none)'}`];
  return [
    span,
    'Voice privacy codes, in order (a new one each time people joined or left, or the bot rejoined):',
    ...codes.map((c) => `  ${c}`),
  ];
}

export function deletionText(deletionAt: number | undefined, retentionDays: number): string {
  return deletionAt === undefined ? `${retentionDays} days after the recording stops` : formatUtc(deletionAt);
}

export function sortedByTime<T extends { at: number }>(events: readonly T[]): T[] {
  return [...events].sort((a, b) => a.at - b.at);
}

/** What the receipt keeps of a forgotten speaker: that one was removed, and when; not who. */
const FORGOTTEN_TEXT = "a speaker's track removed at the speaker's request";

function eventLine(e: ReceiptConsentEvent): string {
  const word = EVENT_WORDS[e.event].padEnd(9);
  if (e.event === 'forgotten') return `${word}  ${FORGOTTEN_TEXT}`;
  return `${word}  ${who(e)}${textHash(e.sha256)}`;
}

function who(person: { name: string; userId: string }): string {
  return `${oneLine(person.name)} (${person.userId})`;
}
