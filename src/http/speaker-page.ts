// The page a speaker's link opens: their own track (player, download, other formats) and their own consent
// events, with the room's host and dates. Nothing about anyone else: no other speaker, no count of them, no mix.
// Pure string building with page.ts's document, as the host's page.
import { recordingDurationMs } from './catalog.ts';
import { escapeHtml } from './html.ts';
import { document, formatsLine, receiptSection, type FormatLink } from './page.ts';
import type { ConsentEventView, RecordingView } from './recording-source.ts';
import { speakerTrackKey } from './speaker-route.ts';
import { deletionText } from '../recording/receipt.ts';
import { formatBytes, formatDuration, formatUtc, oneLine } from '../text/format.ts';

export type SpeakerPageInput = {
  recording: RecordingView;
  speakerName: string;
  /** Their track's download name and size. */
  track: { fileName: string; size: number };
  formats: readonly FormatLink[];
  /** Only their own events. */
  events: readonly ConsentEventView[];
  deletionAt: number | undefined;
  retentionDays: number;
  linkExpiresAt: number;
  base: string;
  refreshSeconds: number;
};

export function speakerPage(input: SpeakerPageInput): string {
  const { recording, base } = input;
  const started = formatUtc(recording.startedAt);
  const durationMs = recordingDurationMs(recording);
  const facts: [string, string][] = [
    ['Host', oneLine(recording.hostName)],
    ['Started', started],
    ['Duration', durationMs === undefined ? 'still recording' : formatDuration(durationMs)],
    ['Deleted on', deletionText(input.deletionAt, input.retentionDays)],
    ['Link expires', formatUtc(input.linkExpiresAt)],
  ];
  const preparing = input.formats.some((f) => f.status.state === 'queued' || f.status.state === 'preparing');
  const refresh = preparing ? `<meta http-equiv="refresh" content="${input.refreshSeconds}">` : '';
  const src = escapeHtml(base + speakerTrackKey());
  return document(
    `Your track, recording of ${started}`,
    refresh,
    `<h1>${escapeHtml(`${oneLine(input.speakerName)}'s track`)}</h1>
<p class="muted">Recording of ${escapeHtml(started)}. This page is yours alone: it shows only your own track and your own consent.</p>
<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
<audio controls preload="metadata" src="${src}"></audio>
<p><a href="${src}" download>Download your track</a> <span class="muted">${escapeHtml(`${input.track.fileName}, ${formatBytes(input.track.size)}`)}</span></p>
${formatsLine(input.formats, base, 'Also as')}<h2>Your consent</h2>
${receiptSection(input.events)}`,
  );
}
