// HTML for the download page and the error pages. Pure string building; every value that came from a user
// (speaker and host names, notes) or from metadata passes through `escapeHtml`. The page runs no script, and the
// CSP allows exactly one stylesheet: the constant below, by hash. So a note's link seeks the player without one:
// it reloads the page with `?t=<seconds>`, and the page gives the player's source a media fragment (`mix#t=…`,
// W3C Media Fragments), where the browser starts it.
import { createHash } from 'node:crypto';
import { recordingDurationMs, type Asset, type MadeFile, type TrackAsset } from './catalog.ts';
import { formatBytes, formatDuration, formatUtc, oneLine } from '../text/format.ts';
import { deletionText, e2eeLines, reuseWords, sortedByTime } from '../recording/receipt.ts';
import { mixSpeakersByReuse } from './publishable-mix.ts';
import type { ConsentEventView, RecordingView, SpeakerView } from './recording-source.ts';
import { BUSY_STATES } from '../storage/schema.ts';
import { escapeHtml } from './html.ts';
import { timelineSection, type TimelineLane } from './timeline.ts';

const CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}dt{font-weight:600;float:left;clear:left;width:8rem}
dd{margin:0 0 .25rem 8rem}audio{width:100%}.notice{padding:.75rem 1rem;border-radius:.5rem;background:#fff4d6}
.failed{background:#fde2e2}.lost{color:#9a3412}table{border-collapse:collapse}td{padding:.15rem .75rem .15rem 0}.muted{color:#666}
.hash{overflow-wrap:anywhere}`;

const CSS_HASH = createHash('sha256').update(CSS).digest('base64');

/** One policy for every response: no scripts, no frames, media and style only from here. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "media-src 'self'",
  `style-src 'sha256-${CSS_HASH}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Where a format made on request stands, as the page shows it. */
export type FormatStatus =
  | { state: 'ready'; size: number }
  | { state: 'absent' }
  | { state: 'queued' }
  | { state: 'preparing'; percent: number }
  | { state: 'failed' };

/** One other format of a file (or of the zip): its path under the link, its name and where it stands. */
export type FormatLink = { key: string; name: string; status: FormatStatus };

/** A mix whose file exists, with its size and its other formats. */
type PresentMix = { asset: Asset; size: number; formats?: readonly FormatLink[] | undefined };

export type PresentTrack = { asset: TrackAsset; size: number | undefined; formats?: readonly FormatLink[] | undefined };

export type DownloadPageInput = {
  recording: RecordingView;
  events: readonly ConsentEventView[];
  mix: PresentMix | undefined;
  /** The levelled mix once made and present: then the main player, the plain mix below it. */
  levelledMix?: PresentMix | undefined;
  /** The publishable mix in each format, made on request: offered when only some of the mix allow reuse. */
  publishableMix?: readonly FormatLink[] | undefined;
  /** The zip in each other format (all.zip is the stored files). */
  zipFormats?: readonly FormatLink[] | undefined;
  tracks: readonly PresentTrack[];
  /** The notes' files on offer (none while recording or without notes). */
  notesFiles?: readonly MadeFile[] | undefined;
  /** The editor projects on offer (none while recording or without a track). */
  projectFiles?: readonly MadeFile[] | undefined;
  /** Each present track's lane of who spoke when, in the tracks' order (none while recording). */
  timeline?: readonly TimelineLane[] | undefined;
  /** Where the player starts, in ms (a note's link). */
  seekMs?: number | undefined;
  deletionAt: number | undefined;
  retentionDays: number;
  linkExpiresAt: number;
  /** Prefix that turns a route key into a relative URL ('' when the page URL ends in '/'). */
  base: string;
  refreshSeconds: number;
};

export function downloadPage(input: DownloadPageInput): string {
  const { recording, base } = input;
  const started = formatUtc(recording.startedAt);
  const refresh =
    stillWorking(recording) || preparing(input) || recording.levelledMix?.state === 'making'
      ? `<meta http-equiv="refresh" content="${input.refreshSeconds}">`
      : '';
  return document(
    `Recording of ${started}`,
    refresh,
    `<h1>Recording of ${escapeHtml(started)}</h1>
${factsList(input, { speakers: true })}
<h2>Mix</h2>
${mixSection(input)}
${reuseSection(input)}${timelineOf(input)}<h2>Tracks</h2>
${tracksSection(input.tracks, base)}
${notesSection(input)}<p><a href="${escapeHtml(base)}all.zip" download>Download all (zip)</a> <span class="muted">every track, the mix${zipExtras(input)} and the receipt</span></p>
${formatsLine(input.zipFormats, base, 'The same zip with the audio as')}${projectsSection(input)}
<h2>Consent receipt</h2>
${receiptSection(input.events)}
${e2eeSection(recording)}
<p><a href="${escapeHtml(base)}receipt.txt">receipt.txt</a></p>`,
  );
}

/**
 * What the page says of the recording, its deletion and the link; `speakers`: how many there are (the host's
 * page; a speaker's own page says nothing of the others).
 */
export function factsList(
  input: Pick<DownloadPageInput, 'recording' | 'deletionAt' | 'retentionDays' | 'linkExpiresAt'>,
  { speakers }: { speakers: boolean },
): string {
  const { recording } = input;
  const durationMs = recordingDurationMs(recording);
  const facts: [string, string][] = [
    ['Host', oneLine(recording.hostName)],
    ['Started', formatUtc(recording.startedAt)],
    ['Duration', durationMs === undefined ? 'still recording' : formatDuration(durationMs)],
    ...(speakers ? [['Speakers', String(recording.speakers.length)] as [string, string]] : []),
    ['Deleted on', deletionText(input.deletionAt, input.retentionDays)],
    ['Link expires', formatUtc(input.linkExpiresAt)],
  ];
  return `<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
}

/** The same page for every refused link, whatever the reason, so it reveals nothing about what exists. */
export function messagePage(title: string, text: string): string {
  return document(title, '', `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(text)}</p>`);
}

function stillWorking(recording: RecordingView): boolean {
  return BUSY_STATES.includes(recording.state);
}

/** A format is being made: the page refreshes to show its progress. */
function preparing({ mix, levelledMix, publishableMix = [], tracks, zipFormats = [] }: DownloadPageInput): boolean {
  const links = [
    ...(mix?.formats ?? []),
    ...(levelledMix?.formats ?? []),
    ...publishableMix,
    ...tracks.flatMap((t) => t.formats ?? []),
    ...zipFormats,
  ];
  return links.some((l) => l.status.state === 'queued' || l.status.state === 'preparing');
}

/**
 * The other formats of a file: a ready one downloads; any other is a plain link (no `download`: until the file
 * is made its URL answers with a page saying how far it is, which refreshes itself and then gets the file).
 */
export function formatsLine(links: readonly FormatLink[] | undefined, base: string, lead: string): string {
  if (!links || links.length === 0) return '';
  const items = links.map(({ key, name, status }) => {
    const href = escapeHtml(base + key);
    switch (status.state) {
      case 'ready':
        return `<a href="${href}" download>${escapeHtml(name)}</a> <span class="muted">${escapeHtml(formatBytes(status.size))}</span>`;
      case 'absent':
        return `${escapeHtml(name)} <a href="${href}">make it</a>`;
      case 'queued':
        return `${escapeHtml(name)} <a href="${href}">waiting to be made</a>`;
      case 'preparing':
        return `${escapeHtml(name)} <a href="${href}">preparing ${status.percent} %</a>`;
      case 'failed':
        return `${escapeHtml(name)} <span class="lost">failed</span> <a href="${href}?retry">try again</a>`;
    }
  });
  return `<p class="muted">${escapeHtml(lead)}: ${items.join(' · ')}</p>
`;
}

/**
 * What the URL of a format that is not made yet answers (202): how far it is, refreshing itself until the
 * file comes in its place. `self` is this URL's last segment and `back` the page's URL, both relative to it.
 */
export function preparingPage(
  what: string,
  status: { percent: number; queued: boolean },
  refreshSeconds: number,
  self: string,
  back: string,
): string {
  const title = `Preparing ${what}… ${status.percent} %`;
  const wait = status.queued ? 'It waits for another file to be made first. ' : '';
  return document(
    title,
    // To the URL without its query: a `?retry` is not repeated on every refresh.
    `<meta http-equiv="refresh" content="${escapeHtml(`${refreshSeconds}; url=${self}`)}">`,
    `<h1>${escapeHtml(title)}</h1>
<p>${escapeHtml(wait)}This page refreshes itself, and the download starts once it is ready. You can leave it and come back: it keeps being made.</p>
<p><a href="${escapeHtml(back)}">Back to the recording</a></p>`,
  );
}

/** What the URL of a format answers when making it failed: say so plainly, and offer to try again. */
export function formatFailedPage(what: string, retry: string, back: string): string {
  const title = `Making ${what} failed`;
  return document(
    title,
    '',
    `<h1>${escapeHtml(title)}</h1>
<p class="notice failed">Something went wrong on the server while making it; the stored recording is not affected. Nothing half-made is kept.</p>
<p><a href="${escapeHtml(retry)}">Try again</a> · <a href="${escapeHtml(back)}">Back to the recording</a></p>`,
  );
}

function mixSection(input: DownloadPageInput): string {
  const { recording, mix, base } = input;
  switch (recording.state) {
    case 'recording':
      return '<p class="notice">This room is still being recorded. The mix is made when it stops; this page refreshes by itself.</p>';
    case 'stopping':
    case 'mixing':
      return '<p class="notice">The mix is being made. This page refreshes by itself; the separate tracks below are already complete.</p>';
    case 'failed':
      return '<p class="notice failed">The mix could not be made. The separate tracks below are complete; ask the bot for a new mix or mix them yourself.</p>';
    case 'ready':
    case 'deleted':
      if (!mix) return missingMixNotice(recording);
      if (input.levelledMix) {
        return `${mixPlayer(input.levelledMix, 'Download the levelled mix', base, { main: true, seekMs: input.seekMs })}
<p class="muted">Every speaker's speech brought to the same loudness.</p>
<h3>Plain mix</h3>
${mixPlayer(mix, 'Download the plain mix', base, { main: false })}`;
      }
      return `${mixPlayer(mix, 'Download the mix', base, { main: true, seekMs: input.seekMs })}${levelledMixState(recording)}`;
  }
}

/** Why a ready recording shows no mix: being made again without a forgotten speaker, nobody left in it, or a fault. */
function missingMixNotice(recording: RecordingView): string {
  if ((recording.forgetting ?? []).length > 0) {
    return '<p class="notice">A speaker asked to be removed: the mix is being made again without them. Reload this page in a moment.</p>';
  }
  if ((recording.forgotten ?? []).length > 0 && !recording.speakers.some((s) => s.includeInMix)) {
    return '<p class="notice">There is no mix: everyone in it asked to be removed from this recording.</p>';
  }
  return '<p class="notice failed">The mix file is missing. The separate tracks below are complete.</p>';
}

/** The player and download link of a mix; the main one is the one the notes' links seek. */
function mixPlayer(mix: PresentMix, title: string, base: string, { main, seekMs }: { main: boolean; seekMs?: number | undefined }): string {
  const player = main
    ? `<audio id="mix" controls preload="metadata" src="${escapeHtml(base + mix.asset.key + mediaFragment(seekMs))}"></audio>`
    : `<audio controls preload="none" src="${escapeHtml(base + mix.asset.key)}"></audio>`;
  return `${player}
<p><a href="${escapeHtml(`${base}${mix.asset.key}?download`)}" download>${escapeHtml(title)}</a> <span class="muted">${escapeHtml(`${mix.asset.fileName}, ${formatBytes(mix.size)}`)}</span></p>
${formatsLine(mix.formats, base, 'Also as').trimEnd()}`;
}

/** Why the page has only the plain mix when a levelled one was asked for. */
function levelledMixState(recording: RecordingView): string {
  switch (recording.levelledMix?.state) {
    case undefined:
      return '';
    case 'making':
      return '\n<p class="notice">A levelled mix, every speaker at the same loudness, is being made; this page refreshes by itself. Above is the plain mix.</p>';
    case 'failed':
      return '\n<p class="muted">The levelled mix could not be made; above is the plain mix.</p>';
    case 'ready':
      return '\n<p class="muted">The levelled mix file is missing; above is the plain mix.</p>';
  }
}

function mediaFragment(seekMs: number | undefined): string {
  return seekMs === undefined ? '' : `#t=${seconds(seekMs)}`;
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** Each note at its time, as a link that starts the player there when the page has one; then the files. */
function notesSection({ recording, mix, notesFiles = [], base }: DownloadPageInput): string {
  const notes = [...(recording.notes ?? [])].sort((a, b) => a.at - b.at);
  if (notes.length === 0) return '';
  const player = recording.state === 'ready' && mix !== undefined;
  const items = notes.map((n) => {
    const time = escapeHtml(formatDuration(n.at));
    const at = player ? `<a href="?t=${seconds(n.at)}#mix">${time}</a>` : time;
    return `<li>${at} ${escapeHtml(oneLine(n.text))} <span class="muted">${escapeHtml(oneLine(n.byName))}</span></li>`;
  });
  const files = notesFiles.map((f) => `<a href="${escapeHtml(base + f.key)}" download>${escapeHtml(f.title)}</a>`);
  const downloads = files.length > 0 ? `<p>${files.join(' · ')}</p>\n` : '';
  return `<h2>Notes</h2>\n<ul>\n${items.join('\n')}\n</ul>\n${downloads}`;
}

function timelineOf({ recording, mix, timeline = [] }: DownloadPageInput): string {
  const durationMs = recordingDurationMs(recording);
  if (durationMs === undefined) return '';
  const seekable = recording.state === 'ready' && mix !== undefined;
  return timelineSection({ durationMs, lanes: timeline, notes: recording.notes ?? [], seekable });
}

function zipExtras({ notesFiles = [], projectFiles = [] }: DownloadPageInput): string {
  return [notesFiles.length > 0 ? ', the notes' : '', projectFiles.length > 0 ? ', the editor projects' : ''].join('');
}

/** The projects refer to the tracks by their place in the zip, so they are used from the unzipped folder. */
function projectsSection({ projectFiles = [], notesFiles = [], base }: DownloadPageInput): string {
  if (projectFiles.length === 0) return '';
  const links = projectFiles.map((f) => `<a href="${escapeHtml(base + f.key)}" download>${escapeHtml(f.title)}</a>`);
  const labels = notesFiles.length > 0 ? ', then File &gt; Import &gt; Labels… and pick the labels file for the notes' : '';
  return `<h2>Editor projects</h2>
<p>${links.join(' · ')}</p>
<p class="muted">Every track at the start, in the unzipped folder of the zip (which holds both). Audacity: File &gt; Open the .lof${labels}. REAPER: open the .rpp; the notes are its markers.</p>
`;
}

function tracksSection(tracks: readonly PresentTrack[], base: string): string {
  if (tracks.length === 0) return '<p class="muted">No tracks: nobody opted in.</p>';
  const items = tracks.map(({ asset, size, formats }) => {
    const s = asset.speaker;
    const notes = [
      s.withdrawnAt === undefined ? '' : `withdrew ${formatUtc(s.withdrawnAt)}`,
      s.includeInMix ? '' : 'not in the mix',
      reuseWords(s),
    ].filter(Boolean);
    // 64 hex digits do not break by themselves: on a phone they would push the page sideways.
    const hash = s.agreed ? `<br><span class="muted hash">consent text sha256 ${escapeHtml(s.agreed.sha256)}</span>` : '';
    const label = `${String(asset.number).padStart(2, '0')} ${oneLine(s.name)}`;
    const link =
      size === undefined
        ? `${escapeHtml(label)} <span class="muted">(file unavailable)</span>`
        : `<a href="${escapeHtml(base + asset.key)}" download>${escapeHtml(label)}</a> <span class="muted">${escapeHtml(formatBytes(size))}</span>`;
    const lost = lossOf(s.stats);
    const player = size === undefined ? '' : `\n<audio controls preload="none" src="${escapeHtml(base + asset.key)}"></audio>`;
    const also = formatsLine(formats, base, 'Also as').trimEnd();
    return `<li>${link}${notes.length > 0 ? ` <span class="muted">${escapeHtml(notes.join(', '))}</span>` : ''}${hash}${lost === '' ? '' : `<br><span class="lost">${escapeHtml(lost)}</span>`}${player}${also === '' ? '' : `\n${also}`}</li>`;
  });
  return `<ul>\n${items.join('\n')}\n</ul>`;
}

/**
 * What the track lacks, from the counts kept while it was recorded (speaker-integrity.ts); '' when nothing was
 * lost. A frame is 20 ms of Discord's audio.
 */
function lossOf(stats: SpeakerView['stats']): string {
  if (!stats) return '';
  const parts = [
    stats.lost > 0 ? `${stats.lost} ${stats.lost === 1 ? 'frame' : 'frames'} lost (${((stats.lost * 20) / 1000).toFixed(2)} s)` : '',
    stats.late > 0 ? `${stats.late} arrived too late to be placed` : '',
    stats.undecryptable > 0 ? `${stats.undecryptable} could not be decrypted` : '',
  ].filter(Boolean);
  return parts.length === 0 ? '' : `Incomplete: ${parts.join(', ')}.`;
}

export function receiptSection(events: readonly ConsentEventView[]): string {
  if (events.length === 0) return '<p class="muted">Nobody opted in.</p>';
  const rows = sortedByTime(events).map(
    (e) =>
      `<tr><td>${escapeHtml(formatUtc(e.at))}</td><td>${e.event === 'forgotten' ? 'a speaker' : escapeHtml(oneLine(e.name))}</td><td>${EVENT_WORDS[e.event]}</td></tr>`,
  );
  return `<table>\n${rows.join('\n')}\n</table>`;
}

const EVENT_WORDS: Record<ConsentEventView['event'], string> = {
  granted: 'opted in',
  withdrawn: 'withdrew',
  'reuse-granted': 'allowed publishing and reuse',
  'reuse-withdrawn': 'took back publishing and reuse',
  forgotten: "removed at the speaker's request",
};

/**
 * Whether the mix may be published, said plainly: who in it did not agree to reuse, and the mix of only those who
 * did (made on request), once the mix is ready.
 */
function reuseSection({ recording, mix, publishableMix = [], base }: DownloadPageInput): string {
  if (recording.state !== 'ready' || !mix) return '';
  const split = mixSpeakersByReuse(recording);
  const names = (speakers: readonly SpeakerView[]) => speakers.map((s) => oneLine(s.name)).join(', ');
  if (split.private.length === 0) return '<p class="muted">Everyone in the mix agreed to publishing and reuse.</p>\n';
  const warning = `<p class="notice">Not for publishing: the mix includes ${escapeHtml(names(split.private))}, who did not agree to publishing or reuse.`;
  if (split.reusing.length === 0) return `${warning} Nobody in it did; keep it private.</p>\n`;
  return `${warning} The publishable mix below has only ${escapeHtml(names(split.reusing))}, who did.</p>
${formatsLine(publishableMix, base, 'Publishable mix')}`;
}

function e2eeSection(recording: RecordingView): string {
  const [summary, ...codes] = e2eeLines(recording.e2ee);
  const more = codes.map((line) => `<br>${escapeHtml(line.trim())}`).join('');
  return `<p><strong>End-to-end encrypted:</strong> ${escapeHtml(summary ?? '')}${more}</p>`;
}

export function document(title: string, head: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
${head}<title>${escapeHtml(title)} · roomrec</title>
<style>${CSS}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
