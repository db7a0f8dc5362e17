// The one place that knows where things live under DATA_DIR:
//
//   DATA_DIR/
//     roomrec.sqlite                        metadata (when KEYV_URL is unset)
//     recordings/<recordingId>/
//       meta.json                           copy of the recording's metadata (rebuild source)
//       tracks/<n>-<speaker>-<userId>.ogg   one Ogg Opus track per consenting speaker
//       tracks/<…>.ogg.held                 its held packets' journal, during a hold (held-journal.ts)
//       mix.<ogg|mp3|flac|wav>              the mix
//       mix-levelled.<…>                    the levelled mix (MIX_LEVELLING), made after the stop
//       receipt.txt                         consent receipt
//       formats/<asset>.<flac|wav|mp3|ogg>  the mix or a track in another format, made on a download's request
//       formats/<…>.partial-<pid>           one being made (removed at start-up if a process died making it)
//
// Every path handed out is checked to stay inside DATA_DIR, because ids and file names reach us from URLs.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { MixFormat } from '../config.ts';

/** RFC 4648 base32 alphabet, lower-cased: url-safe, no look-alike 0/1/8. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
export const RECORDING_ID_LENGTH = 10;
export const RECORDING_ID_PATTERN = /^[a-z2-7]{10}$/;

/** 10 base32 characters = 50 random bits. Each byte's low 5 bits are uniform because 32 divides 256. */
export function newRecordingId(): string {
  const bytes = randomBytes(RECORDING_ID_LENGTH);
  let id = '';
  for (const byte of bytes) id += BASE32[byte & 31];
  return id;
}

export function isRecordingId(value: string): boolean {
  return RECORDING_ID_PATTERN.test(value);
}

export class PathEscapeError extends Error {
  constructor(dataDir: string, parts: readonly string[]) {
    super(`path ${JSON.stringify(parts.join('/'))} escapes the data directory ${dataDir}`);
    this.name = 'PathEscapeError';
  }
}

/**
 * Join `parts` under `dataDir`, refusing anything that would land outside it (`..`, absolute parts, NUL bytes).
 * Symlinks are not followed: nothing in the layout creates them.
 */
export function resolveInside(dataDir: string, ...parts: string[]): string {
  const root = path.resolve(dataDir);
  if (parts.some((p) => p.includes('\0'))) throw new PathEscapeError(root, parts);
  const target = path.resolve(root, ...parts);
  const relative = path.relative(root, target);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw new PathEscapeError(root, parts);
  return target;
}

/** A speaker's display name as a file-name fragment: ASCII letters, digits, '_' and '-', at most 32 characters. */
export function safeName(name: string): string {
  const ascii = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 32)
    .replace(/-$/, '');
  return ascii || 'speaker';
}

const RECORDINGS_DIR = 'recordings';
const META_FILE = 'meta.json';
const RECEIPT_FILE = 'receipt.txt';
const TRACKS_DIR = 'tracks';
const FORMATS_DIR = 'formats';
export const SQLITE_FILE = 'roomrec.sqlite';

/** Track path relative to the recording folder (what `Speaker.trackFile` stores), e.g. `tracks/1-alice-1234.ogg`. */
export function trackFileName(index: number, speakerName: string, userId: string): string {
  if (!Number.isInteger(index) || index < 0) throw new RangeError(`track index must be a whole number, got ${index}`);
  if (!/^\d+$/.test(userId)) throw new RangeError(`user id must be numeric, got ${JSON.stringify(userId)}`);
  return `${TRACKS_DIR}/${index}-${safeName(speakerName)}-${userId}.ogg`;
}

export function mixFileName(format: MixFormat): string {
  return `mix.${format}`;
}

/** The levelled mix beside the plain one (MIX_LEVELLING). */
export function levelledMixFileName(format: MixFormat): string {
  return `mix-levelled.${format}`;
}

/**
 * Where asset `name` (`mix`, a track's file name without extension) in `format` is kept once made, relative to
 * the recording folder: inside it, so retention and deletion remove it with the recording.
 */
export function formatFileName(name: string, format: MixFormat): string {
  return `${FORMATS_DIR}/${name}.${format}`;
}

export type Layout = {
  readonly dataDir: string;
  readonly recordingsDir: string;
  readonly sqliteFile: string;
  recordingDir(id: string): string;
  tracksDir(id: string): string;
  /** Absolute path of a file inside a recording folder, e.g. `file(id, speaker.trackFile)`; refuses escapes. */
  file(id: string, relative: string): string;
  metaFile(id: string): string;
  receiptFile(id: string): string;
  mixFile(id: string, format: MixFormat): string;
  /** The folder of the formats made on request (formatFileName). */
  formatsDir(id: string): string;
};

export function createLayout(dataDir: string): Layout {
  const root = path.resolve(dataDir);
  const recordingDir = (id: string): string => {
    if (!isRecordingId(id)) throw new RangeError(`not a recording id: ${JSON.stringify(id)}`);
    return resolveInside(root, RECORDINGS_DIR, id);
  };
  const file = (id: string, relative: string): string => {
    const dir = recordingDir(id);
    const target = resolveInside(dir, relative);
    if (target === dir) throw new PathEscapeError(dir, [relative]);
    return target;
  };
  return {
    dataDir: root,
    recordingsDir: resolveInside(root, RECORDINGS_DIR),
    sqliteFile: resolveInside(root, SQLITE_FILE),
    recordingDir,
    tracksDir: (id) => file(id, TRACKS_DIR),
    file,
    metaFile: (id) => file(id, META_FILE),
    receiptFile: (id) => file(id, RECEIPT_FILE),
    mixFile: (id, format) => file(id, mixFileName(format)),
    formatsDir: (id) => file(id, FORMATS_DIR),
  };
}
