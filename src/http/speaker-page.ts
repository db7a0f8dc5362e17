// The page a speaker's link opens: their own track (player, download, other formats) and their own consent
// events, with the room's host and dates. Nothing about anyone else: no other speaker, no count of them, no mix.
// Pure string building with page.ts's document, as the host's page.
import { escapeHtml } from './html.ts';
import { document, factsList, formatsLine, receiptSection, type DownloadPageInput, type FormatLink } from './page.ts';
import type { ConsentEventView } from './recording-source.ts';
import { speakerTrackKey } from './speaker-route.ts';
import { formatBytes, formatUtc, oneLine } from '../text/format.ts';

export type SpeakerPageInput = Pick<
  DownloadPageInput,
  'recording' | 'deletionAt' | 'retentionDays' | 'linkExpiresAt' | 'base' | 'refreshSeconds'
> & {
  speakerName: string;
  /** Their track's download name and size. */
  track: { fileName: string; size: number };
  formats: readonly FormatLink[];
  /** Only their own events. */
  events: readonly ConsentEventView[];
};

export function speakerPage(input: SpeakerPageInput): string {
  const { recording, base } = input;
  const started = formatUtc(recording.startedAt);
  const preparing = input.formats.some((f) => f.status.state === 'queued' || f.status.state === 'preparing');
  const refresh = preparing ? `<meta http-equiv="refresh" content="${input.refreshSeconds}">` : '';
  const src = escapeHtml(base + speakerTrackKey());
  return document(
    `Your track, recording of ${started}`,
    refresh,
    `<h1>${escapeHtml(`${oneLine(input.speakerName)}'s track`)}</h1>
<p class="muted">Recording of ${escapeHtml(started)}. This page is yours alone: it shows only your own track and your own consent.</p>
${factsList(input, { speakers: false })}
<audio controls preload="metadata" src="${src}"></audio>
<p><a href="${src}" download>Download your track</a> <span class="muted">${escapeHtml(`${input.track.fileName}, ${formatBytes(input.track.size)}`)}</span></p>
${formatsLine(input.formats, base, 'Also as')}<h2>Your consent</h2>
${receiptSection(input.events)}`,
  );
}
