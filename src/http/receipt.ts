// The consent receipt: who opted in and out of a recording, and when. Plain text so it survives being
// forwarded, printed or pasted anywhere; shipped in the zip and at receipt.txt under the link.
import { formatUtc, oneLine } from './format.ts';
import type { ConsentEventView, RecordingView } from './recording-source.ts';

export type ReceiptInput = {
  recording: RecordingView;
  events: readonly ConsentEventView[];
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
    'Only people who opted in were recorded, each from the moment they opted in until they withdrew.',
    "Nobody else's audio was written to disk.",
    '',
    'Consent events:',
    ...(events.length === 0
      ? ['  (none)']
      : sortedByTime(events).map(
          (e) => `  ${formatUtc(e.at)}  ${e.event === 'granted' ? 'granted  ' : 'withdrawn'}  ${who(e)}`,
        )),
    '',
    'Speakers:',
    ...(recording.speakers.length === 0
      ? ['  (none)']
      : recording.speakers.map((s, i) => {
          const withdrawn = s.withdrawnAt === undefined ? '' : `, withdrew ${formatUtc(s.withdrawnAt)}`;
          const mix = s.includeInMix ? 'in the mix' : 'left out of the mix';
          return `  ${String(i + 1).padStart(2, '0')}  ${who(s)}: consented ${formatUtc(s.consentedAt)}${withdrawn}; ${mix}`;
        })),
    '',
  ];
  return lines.join('\n');
}

export function deletionText(deletionAt: number | undefined, retentionDays: number): string {
  return deletionAt === undefined
    ? `${retentionDays} days after the recording stops`
    : formatUtc(deletionAt);
}

export function sortedByTime<T extends { at: number }>(events: readonly T[]): T[] {
  return [...events].sort((a, b) => a.at - b.at);
}

function who(person: { name: string; userId: string }): string {
  return `${oneLine(person.name)} (${person.userId})`;
}
