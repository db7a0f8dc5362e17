// Which files a recording offers, derived only from its metadata: every servable file is named here, and the
// URL only ever selects one of these entries by key. Pure; the server checks which files actually exist.
import path from 'node:path';
import { MIX_FORMATS, type MixFormat } from '../audio/encoders/encoder.ts';
import type { FormatJob } from '../audio/format-thread.ts';
import { formatFileName } from '../storage/layout.ts';
import { audacityLabels, chapterSpans, podcastChapters, webvttChapters, type ChapterNote } from '../recording/chapters.ts';
import { audacityLof, reaperProject, type ProjectTrack } from '../recording/editor-projects.ts';
import { trackNumbers } from '../recording/track-numbers.ts';
import { safeFileName } from './content-disposition.ts';
import { oneLine } from '../text/format.ts';
import type { RecordingView, SpeakerView } from './recording-source.ts';
import { mayReuse } from '../recording/consent-choice.ts';
import { PUBLISHABLE_KEY, publishableSpeakers } from './publishable-mix.ts';

export type Asset = {
  /** Which rule of FORMAT_RULES makes it in other formats. */
  kind: keyof typeof FORMAT_RULES;
  /** The path under the link that serves it: 'mix' or 'tracks/<n>'. */
  key: string;
  /** Absolute path, resolved inside the data directory; undefined when the metadata names a path outside it. */
  path: string | undefined;
  /** Name offered to the browser and used inside the zip. */
  fileName: string;
  contentType: string;
  /** The stored file's format: asking for this one serves the stored file. */
  format: MixFormat;
  /** What the page calls it ("the mix", "Ålice's track"). */
  title: string;
  /** Its name among the formats made of it (layout.ts formatFileName). */
  cacheName: string;
  /** Nothing is stored: every format of it, `format` too, is made on request (the publishable mix). */
  madeOnRequest?: true;
};

/** The plain sum, the levelled mix (MIX_LEVELLING), or the mix of those who allow reuse (publishable-mix.ts). */
type MixAsset = Asset & { kind: 'mix' | 'levelled-mix' | 'mix-publishable' };
export type TrackAsset = Asset & { kind: 'track'; speaker: SpeakerView; number: number };
/** An audio file of the recording, which every format is offered of. */
type AudioAsset = MixAsset | TrackAsset;

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

/**
 * `levelledMix`: the levelled mix (MIX_LEVELLING) once it is made; `mix` is the plain sum; `publishableMix`: the
 * mix of only those who allow reuse, offered when that is some but not all of the mix (publishable-mix.ts).
 */
export type Catalog = {
  mix: MixAsset | undefined;
  levelledMix: MixAsset | undefined;
  publishableMix: MixAsset | undefined;
  tracks: TrackAsset[];
  notes: MadeFile[];
};

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
  const mixAsset = (kind: MixAsset['kind'], key: string, title: string, file: { file: string; format: string }): MixAsset => ({
    kind,
    key,
    path: locate(recording, file.file),
    fileName: `roomrec-${stamp}-${key}.${extensionOf(file.file, file.format)}`,
    contentType: audioContentType(file.format || path.extname(file.file)),
    format: asMixFormat(file.format),
    title,
    cacheName: key,
  });
  const mix = recording.mix && mixAsset('mix', 'mix', 'the mix', recording.mix);
  const levelled = recording.levelledMix?.state === 'ready' ? recording.levelledMix : undefined;
  const levelledMix = levelled && mixAsset('levelled-mix', 'mix-levelled', 'the levelled mix', levelled);
  const numbers = trackNumbers(recording);
  const tracks = recording.speakers.map((speaker, index): TrackAsset => {
    const number = numbers[index] ?? index + 1;
    const ext = extensionOf(speaker.trackFile, 'ogg');
    return {
      kind: 'track',
      key: `tracks/${number}`,
      path: locate(recording, speaker.trackFile),
      fileName: `${String(number).padStart(2, '0')}-${safeFileName(speaker.name, 'speaker')}.${ext}`,
      contentType: audioContentType(ext),
      format: 'ogg',
      title: `${oneLine(speaker.name)}'s track`,
      cacheName: path.basename(speaker.trackFile, path.extname(speaker.trackFile)),
      speaker,
      number,
    };
  });
  const publishable = publishableSpeakers(recording);
  const publishableMix =
    mix &&
    publishable &&
    mixAsset('mix-publishable', PUBLISHABLE_KEY, 'the publishable mix', { file: `${PUBLISHABLE_KEY}.ogg`, format: 'ogg' });
  return {
    mix,
    levelledMix,
    // Cached by who is in it: once someone takes their 📣 back, the file made with them is never served again.
    publishableMix: publishableMix && { ...publishableMix, path: undefined, cacheName: publishable.cacheName, madeOnRequest: true },
    tracks,
    notes: notesAssets(recording, stamp),
  };
}

function asMixFormat(format: string): MixFormat {
  return MIX_FORMATS.find((f) => f === format) ?? 'ogg';
}

/** What the formats of an asset are made from: the recording, its catalog and the keys of the files that exist. */
export type FormatContext = { recording: RecordingView; catalog: Catalog; present: ReadonlySet<string> };

/**
 * The one rule for making asset X in format F, keyed by the asset's kind: the job that writes it to `output`,
 * or undefined when it cannot be made now. A new asset (another mix) gets every format by an entry here. The
 * stored format is never made: it is the stored file.
 */
const FORMAT_RULES = {
  // As stored: the track decoded and encoded again, no limiter, no gain (transcode.ts).
  track: (asset: Asset, format: MixFormat, output: string): FormatJob | undefined =>
    asset.path === undefined || format === 'ogg' ? undefined : { kind: 'transcode', input: asset.path, output, format },
  mix: mixedAgain({ level: false }),
  'levelled-mix': mixedAgain({ level: true }),
  'mix-publishable': mixedAgain({ level: false, only: mayReuse }),
} satisfies Record<string, (asset: Asset, format: MixFormat, output: string, context: FormatContext) => FormatJob | undefined>;

/**
 * A mix in another format: from the tracks, with the stored mix's inputs (its speakers, whose tracks exist), in one
 * codec generation; never from the stored mix, which may be an MP3 this server cannot decode. `level`: as the
 * levelled mix is made (mixer.ts MixOptions.level).
 */
function mixedAgain({ level, only = () => true }: { level: boolean; only?: (speaker: SpeakerView) => boolean }) {
  return (_asset: Asset, format: MixFormat, output: string, { recording, catalog, present }: FormatContext): FormatJob | undefined => {
    const inputs = catalog.tracks
      .filter((t) => t.speaker.includeInMix && only(t.speaker) && t.path !== undefined && present.has(t.key))
      .map((t) => ({ path: t.path!, label: t.speaker.name }));
    const durationMs = recordingDurationMs(recording);
    const notes = recording.notes ?? [];
    if (recording.state !== 'ready' || inputs.length === 0 || durationMs === undefined) return undefined;
    const chapters = notes.length > 0 ? { chapters: chapterSpans(notes, durationMs) } : {};
    return { kind: 'mix', inputs, output, format, ...(level ? { level } : {}), ...chapters };
  };
}

/** The formats every audio file is offered in; `all.zip` is the stored files, and a zip of each other format. */
const OFFERED_FORMATS: readonly MixFormat[] = MIX_FORMATS;
export const ZIP_FORMATS: readonly MixFormat[] = ['flac', 'wav', 'mp3'];

const FORMAT_NAMES: Record<MixFormat, string> = { ogg: 'Ogg Opus', flac: 'FLAC', wav: 'WAV', mp3: 'MP3' };

export function formatName(format: MixFormat): string {
  return FORMAT_NAMES[format];
}

/** An asset in one format: the stored file, or one made on request and kept in the recording's folder. */
export type FormatFile = {
  asset: AudioAsset;
  format: MixFormat;
  /** Its path under the link: `<asset key>.<format>`. */
  key: string;
  fileName: string;
  contentType: string;
  /** Where it is (stored) or will be once made; undefined when the metadata names a path outside the data dir. */
  path: string | undefined;
  /** Absent for the stored file, and for a format that cannot be made now. */
  job?: FormatJob;
  stored: boolean;
};

/** `asset` in `format`: where its file is or goes, and the job that makes it. */
function formatFileOf(asset: AudioAsset, format: MixFormat, context: FormatContext, locate: Locate): FormatFile {
  const base = {
    asset,
    format,
    key: `${asset.key}.${format}`,
    fileName: `${asset.fileName.slice(0, asset.fileName.length - path.extname(asset.fileName).length)}.${format}`,
    contentType: audioContentType(format),
  };
  if (format === asset.format && !asset.madeOnRequest) return { ...base, path: asset.path, stored: true };
  const output = locate(context.recording, formatFileName(asset.cacheName, format));
  const job = output === undefined ? undefined : FORMAT_RULES[asset.kind](asset, format, output, context);
  return { ...base, path: output, stored: false, ...(job ? { job } : {}) };
}

/**
 * Every format of the audio assets the page offers, in its order: the mix once it is ready, and each present
 * track, as stored while it is recorded and in every format once the tracks are closed (a growing track is not
 * converted). Each asset's stored format comes first.
 */
export function formatFilesOf(context: FormatContext, locate: Locate): FormatFile[] {
  const { recording, catalog, present } = context;
  const mixes = readyMixes(recording, catalog).filter((m) => present.has(m.key));
  const assets: AudioAsset[] = [...mixes, ...catalog.tracks.filter((t) => present.has(t.key))];
  return assets.flatMap((asset) => {
    const others = asset.kind === 'track' && !tracksClosed(recording) ? [] : OFFERED_FORMATS.filter((f) => f !== asset.format);
    return [asset.format, ...others].map((format) => formatFileOf(asset, format, context, locate));
  });
}

/** The publishable mix in every format, each made on request; none when it is not offered. */
export function publishableFilesOf(context: FormatContext, locate: Locate): FormatFile[] {
  const asset = context.catalog.publishableMix;
  if (!asset || !readyMixes(context.recording, context.catalog).some((m) => context.present.has(m.key))) return [];
  return OFFERED_FORMATS.map((format) => formatFileOf(asset, format, context, locate));
}

function tracksClosed(recording: RecordingView): boolean {
  return recording.state === 'mixing' || recording.state === 'ready' || recording.state === 'failed';
}

/** The zips of each other format: offered once the tracks are closed and a track exists. */
export function zipFormatsOf({ recording, catalog, present }: FormatContext): MixFormat[] {
  return tracksClosed(recording) && catalog.tracks.some((t) => present.has(t.key)) ? [...ZIP_FORMATS] : [];
}

export function zipKey(format: MixFormat): string {
  return `all-${format}.zip`;
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

/** Where a track sits in the zip of `format` (all.zip: as stored), which is where the editor projects beside it look for it. */
export function zipTrackName(track: TrackAsset, format: MixFormat = track.format): string {
  return `tracks/${track.fileName.slice(0, track.fileName.length - path.extname(track.fileName).length)}.${format}`;
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
 * the zip (of `format`: all.zip's when absent) gives them. Offered once the recording has stopped (an item lasts
 * the recording) and a track exists.
 */
export function projectFilesOf(recording: RecordingView, catalog: Catalog, present: ReadonlySet<string>, format?: MixFormat): MadeFile[] {
  const durationMs = recordingDurationMs(recording);
  const tracks = catalog.tracks
    .filter((t) => present.has(t.key))
    .map((t) => ({ name: oneLine(t.speaker.name), file: zipTrackName(t, format) }));
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
  /** Only on the publishable mix's offers: the mix of those who allow reuse (publishable-mix.ts). */
  publishable?: true;
  key: string;
};

/** The mixes a ready recording serves: the plain one and, once made, the levelled one. */
export function readyMixes(recording: RecordingView, catalog: Catalog): MixAsset[] {
  if (recording.state !== 'ready') return [];
  return [catalog.mix, catalog.levelledMix].filter((m) => m !== undefined);
}

/**
 * What the page offers for download, given the keys of the catalog's files that exist: as the server decides.
 * Each audio file in every format (the stored one under its own key), then the zips: all.zip (format `zip`, the
 * stored files) and one per other format.
 */
export function offersOf(recording: RecordingView, catalog: Catalog, present: ReadonlySet<string>, locate: Locate): Offer[] {
  const context = { recording, catalog, present };
  const offerOf = ({ asset, format, stored, key }: FormatFile): Offer => {
    const at = stored ? asset.key : key;
    return asset.kind === 'track'
      ? { kind: 'track', format, speaker: asset.speaker, key: at }
      : {
          kind: 'mix',
          format,
          levelled: asset.kind === 'levelled-mix',
          ...(asset.kind === 'mix-publishable' ? { publishable: true } : {}),
          key: at,
        };
  };
  return [
    ...formatFilesOf(context, locate)
      .filter((f) => f.stored || f.job)
      .map(offerOf),
    ...publishableFilesOf(context, locate).map(offerOf),
    { kind: 'zip', format: 'zip', key: 'all.zip' },
    ...zipFormatsOf(context).map((format): Offer => ({ kind: 'zip', format, key: zipKey(format) })),
    ...catalog.notes.map((n): Offer => ({ kind: 'chapters', format: n.format, key: n.key })),
    ...projectFilesOf(recording, catalog, present).map((p): Offer => ({ kind: 'project', format: p.format, key: p.key })),
  ];
}

/** all.zip's name, or that of the zip of `format`. */
export function zipFileName(recording: RecordingView, format?: MixFormat): string {
  return `roomrec-${dateStamp(recording.startedAt)}${format === undefined ? '' : `-${format}`}.zip`;
}

function dateStamp(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', '-').replace(':', '');
}

function extensionOf(file: string, fallback: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  return /^[a-z0-9]{1,5}$/.test(ext) ? ext : fallback;
}
