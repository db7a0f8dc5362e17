// Which files a recording offers, derived only from its metadata: every servable file is named here, and the
// URL only ever selects one of these entries by key. Pure; the server checks which files actually exist.
import path from 'node:path';
import { audacityLabels, podcastChapters, webvttChapters, type ChapterNote } from '../recording/chapters.ts';
import { audacityLof, reaperProject, type ProjectTrack } from '../recording/editor-projects.ts';
import { safeFileName } from './content-disposition.ts';
import { oneLine } from '../text/format.ts';
import type { RecordingView, SpeakerView } from './recording-source.ts';

export type Asset = {
  /** The path under the link that serves it: 'mix' or 'tracks/<n>'. */
  key: string;
  /** Absolute path, resolved inside the data directory; undefined when the metadata names a path outside it. */
  path: string | undefined;
  /** Name offered to the browser and used inside the zip. */
  fileName: string;
  contentType: string;
};

export type TrackAsset = Asset & { speaker: SpeakerView; number: number };

/**
 * A file made from the metadata on request (the notes' files, the editor projects: a few hundred bytes), never
 * stored: retention has nothing to delete.
 */
export type MadeFile = {
  /** The path under the link that serves it, one of NOTES_FILES' or PROJECT_FILES' keys. */
  key: string;
  fileName: string;
  contentType: string;
  /** The `format` of result.json's `offers` (docs/scenario.md). */
  format: string;
  /** What the page calls it. */
  title: string;
  body: string;
};

/** `levelledMix`: the levelled mix (MIX_LEVELLING) once it is made; `mix` is the plain sum. */
export type Catalog = { mix: Asset | undefined; levelledMix: Asset | undefined; tracks: TrackAsset[]; notes: MadeFile[] };

const NOTES_FILES: readonly (Omit<MadeFile, 'fileName' | 'body'> & {
  make: (notes: readonly ChapterNote[], durationMs: number) => string;
})[] = [
  {
    key: 'labels.txt',
    format: 'audacity-labels',
    title: 'Audacity labels',
    contentType: 'text/plain; charset=utf-8',
    make: audacityLabels,
  },
  { key: 'chapters.vtt', format: 'webvtt', title: 'WebVTT chapters', contentType: 'text/vtt; charset=utf-8', make: webvttChapters },
  // The type the JSON Chapters Format asks files to be served with.
  {
    key: 'chapters.json',
    format: 'podcast-chapters',
    title: 'Podcasting 2.0 chapters (JSON)',
    contentType: 'application/json+chapters',
    make: podcastChapters,
  },
];

/** Maps a file named by the metadata to its absolute location, or undefined when it would leave the data dir. */
export type Locate = (recording: RecordingView, file: string) => string | undefined;

const CONTENT_TYPES: Record<string, string> = {
  ogg: 'audio/ogg; codecs=opus',
  opus: 'audio/ogg; codecs=opus',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  wav: 'audio/wav',
};

function audioContentType(formatOrExt: string): string {
  return CONTENT_TYPES[formatOrExt.toLowerCase().replace(/^\./, '')] ?? 'application/octet-stream';
}

export function catalogOf(recording: RecordingView, locate: Locate): Catalog {
  const stamp = dateStamp(recording.startedAt);
  const mixAsset = (key: string, file: { file: string; format: string }): Asset => ({
    key,
    path: locate(recording, file.file),
    fileName: `roomrec-${stamp}-${key}.${extensionOf(file.file, file.format)}`,
    contentType: audioContentType(file.format || path.extname(file.file)),
  });
  const mix = recording.mix && mixAsset('mix', recording.mix);
  const levelled = recording.levelledMix?.state === 'ready' ? recording.levelledMix : undefined;
  const levelledMix = levelled && mixAsset('mix-levelled', levelled);
  const tracks = recording.speakers.map((speaker, index): TrackAsset => {
    const number = index + 1;
    const ext = extensionOf(speaker.trackFile, 'ogg');
    return {
      key: `tracks/${number}`,
      path: locate(recording, speaker.trackFile),
      fileName: `${String(number).padStart(2, '0')}-${safeFileName(speaker.name, 'speaker')}.${ext}`,
      contentType: audioContentType(ext),
      speaker,
      number,
    };
  });
  return { mix, levelledMix, tracks, notes: notesAssets(recording, stamp) };
}

/** The recording's length: the mix's when there is one, else from start to stop; undefined while recording. */
export function recordingDurationMs(recording: RecordingView): number | undefined {
  return recording.mix?.durationMs ?? (recording.stoppedAt === undefined ? undefined : recording.stoppedAt - recording.startedAt);
}

/** Offered once the recording has stopped: the last chapter ends at the recording's end. */
function notesAssets(recording: RecordingView, stamp: string): MadeFile[] {
  const notes = recording.notes ?? [];
  const durationMs = recordingDurationMs(recording);
  if (notes.length === 0 || durationMs === undefined) return [];
  return NOTES_FILES.map(({ make, ...file }) => ({ ...file, fileName: `roomrec-${stamp}-${file.key}`, body: make(notes, durationMs) }));
}

/** Where a track sits in the zip, which is where the editor projects beside it look for it. */
export function zipTrackName(track: TrackAsset): string {
  return `tracks/${track.fileName}`;
}

const PROJECT_FILES: readonly (Omit<MadeFile, 'fileName' | 'body'> & {
  make: (tracks: readonly ProjectTrack[], recording: RecordingView, durationMs: number) => string;
})[] = [
  {
    key: 'audacity.lof',
    format: 'audacity',
    title: 'Audacity project (.lof)',
    contentType: 'text/plain; charset=utf-8',
    make: (tracks) => audacityLof(tracks),
  },
  {
    key: 'reaper.rpp',
    format: 'reaper',
    title: 'REAPER project (.rpp)',
    contentType: 'text/plain; charset=utf-8',
    make: (tracks, recording, durationMs) => reaperProject(tracks, recording.notes ?? [], durationMs, recording.startedAt),
  },
];

/**
 * The editor projects, given the keys of the tracks that exist: they open exactly the zip's tracks, by the names
 * the zip gives them. Offered once the recording has stopped (an item lasts the recording) and a track exists.
 */
export function projectFilesOf(recording: RecordingView, catalog: Catalog, present: ReadonlySet<string>): MadeFile[] {
  const durationMs = recordingDurationMs(recording);
  const tracks = catalog.tracks.filter((t) => present.has(t.key)).map((t) => ({ name: oneLine(t.speaker.name), file: zipTrackName(t) }));
  if (durationMs === undefined || tracks.length === 0) return [];
  const stamp = dateStamp(recording.startedAt);
  return PROJECT_FILES.map(({ make, ...file }) => ({
    ...file,
    fileName: `roomrec-${stamp}-${file.key}`,
    body: make(tracks, recording, durationMs),
  }));
}

/**
 * A file the page offers, as result.json's `offers` lists it (docs/scenario.md): `key` is its path under the link;
 * `levelled` tells a mix's levelled version from the plain sum.
 */
export type Offer = {
  kind: 'mix' | 'track' | 'zip' | 'chapters' | 'project';
  format: string;
  speaker?: SpeakerView;
  levelled?: boolean;
  key: string;
};

/** The mixes a ready recording serves: the plain one and, once made, the levelled one. */
export function readyMixes(recording: RecordingView, catalog: Catalog): Asset[] {
  if (recording.state !== 'ready') return [];
  return [catalog.mix, catalog.levelledMix].filter((m) => m !== undefined);
}

/** What the page offers for download, given the keys of the catalog's files that exist: as the server decides. */
export function offersOf(recording: RecordingView, catalog: Catalog, present: ReadonlySet<string>): Offer[] {
  const mixes = readyMixes(recording, catalog).filter((m) => present.has(m.key));
  return [
    ...mixes.map((m): Offer => ({ kind: 'mix', format: extensionOf(m.fileName, 'ogg'), levelled: m === catalog.levelledMix, key: m.key })),
    ...catalog.tracks
      .filter((t) => present.has(t.key))
      .map((t): Offer => ({ kind: 'track', format: extensionOf(t.fileName, 'ogg'), speaker: t.speaker, key: t.key })),
    { kind: 'zip', format: 'zip', key: 'all.zip' },
    ...catalog.notes.map((n): Offer => ({ kind: 'chapters', format: n.format, key: n.key })),
    ...projectFilesOf(recording, catalog, present).map((p): Offer => ({ kind: 'project', format: p.format, key: p.key })),
  ];
}

export function zipFileName(recording: RecordingView): string {
  return `roomrec-${dateStamp(recording.startedAt)}.zip`;
}

function dateStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', '-').replace(':', '');
}

function extensionOf(file: string, fallback: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return /^[a-z0-9]{1,5}$/.test(ext) ? ext : fallback;
}
