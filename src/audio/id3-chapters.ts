// Chapters for MP3: an ID3v2.3 tag holding one CTOC (table of contents) and a CHAP frame per chapter, each
// titled by a TIT2 sub-frame ("ID3v2 Chapter Frame Addendum" 1.0, which players, podcast apps and ffmpeg read).
// v2.3 rather than v2.4 because more podcast clients read it; its text is UTF-16 with a byte-order mark, so any
// note survives. The tag sits before the first MPEG frame; decoders skip it by the size in its header.
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { openPrivate } from '../storage/private-files.ts';

export type Id3Chapter = { startMs: number; endMs: number; title: string };

/** CTOC's entry count is one byte. */
export const MAX_ID3_CHAPTERS = 255;
const HEADER_BYTES = 10;
// "Offset unused": chapters are placed by time only (the byte offsets would change with any later tag edit).
const NO_OFFSET = 0xffffffff;
const TOC_ID = 'toc';
// CTOC flags: top-level (bit 1) and ordered (bit 0).
const TOC_TOP_LEVEL_ORDERED = 0x03;
// Text encoding 1: UTF-16 with a byte-order mark.
const UTF16_WITH_BOM = 0x01;

/** The whole tag (header included) for `chapters`, at most MAX_ID3_CHAPTERS of them, in time order. */
export function id3ChapterTag(chapters: readonly Id3Chapter[]): Buffer {
  const kept = [...chapters].sort((a, b) => a.startMs - b.startMs).slice(0, MAX_ID3_CHAPTERS);
  const ids = kept.map((_, i) => `chp${i}`);
  const toc = frame('CTOC', Buffer.concat([latin1z(TOC_ID), Buffer.from([TOC_TOP_LEVEL_ORDERED, ids.length]), ...ids.map(latin1z)]));
  const chaps = kept.map((c, i) => {
    const times = Buffer.alloc(16);
    times.writeUInt32BE(clampMs(c.startMs), 0);
    times.writeUInt32BE(clampMs(Math.max(c.endMs, c.startMs)), 4);
    times.writeUInt32BE(NO_OFFSET, 8);
    times.writeUInt32BE(NO_OFFSET, 12);
    return frame('CHAP', Buffer.concat([latin1z(ids[i]!), times, frame('TIT2', utf16Text(c.title))]));
  });
  const body = Buffer.concat([toc, ...chaps]);
  const header = Buffer.alloc(HEADER_BYTES);
  header.write('ID3', 0, 'latin1');
  header[3] = 3; // v2.3.0
  header.writeUInt32BE(syncsafe(body.length), 6);
  return Buffer.concat([header, body]);
}

/** Length of the ID3v2 tag `bytes` start with (header, body and footer), 0 when they start with none. */
export function id3TagLength(bytes: Uint8Array): number {
  if (bytes.length < HEADER_BYTES || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return 0;
  const size = ((bytes[6]! & 0x7f) << 21) | ((bytes[7]! & 0x7f) << 14) | ((bytes[8]! & 0x7f) << 7) | (bytes[9]! & 0x7f);
  const footer = bytes[5]! & 0x10 ? HEADER_BYTES : 0;
  return HEADER_BYTES + size + footer;
}

/**
 * Puts `chapters` at the front of a finished MP3, replacing a tag already there (so running it again, as
 * recovery may, leaves one tag). The MPEG frames are copied as they are; the new file replaces the old by
 * rename, so a download already reading the old one keeps reading a whole file.
 */
export async function setMp3Chapters(file: string, chapters: readonly Id3Chapter[]): Promise<void> {
  const audioStart = await existingTagLength(file);
  const partial = `${file}.chapters-partial-${process.pid}`;
  try {
    const out = await openPrivate(partial, 'w');
    try {
      await out.write(id3ChapterTag(chapters));
    } finally {
      await out.close();
    }
    await pipeline(createReadStream(file, { start: audioStart }), createWriteStream(partial, { flags: 'a', flush: true }));
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
  await rename(partial, file);
}

async function existingTagLength(file: string): Promise<number> {
  const fh = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(HEADER_BYTES), 0, HEADER_BYTES, 0);
    return id3TagLength(buffer.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** A v2.3 frame: id, plain 32-bit size (v2.4 would make it syncsafe), no flags. */
function frame(id: string, body: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(id, 0, 'latin1');
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}

function latin1z(text: string): Buffer {
  return Buffer.from(`${text}\0`, 'latin1');
}

function utf16Text(text: string): Buffer {
  return Buffer.concat([Buffer.from([UTF16_WITH_BOM, 0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

function clampMs(ms: number): number {
  return Math.min(NO_OFFSET - 1, Math.max(0, Math.round(ms)));
}

/** 28 bits in four 7-bit bytes: the tag header's size can never look like an MPEG sync word. */
function syncsafe(n: number): number {
  if (n >= 1 << 28) throw new RangeError(`ID3 tag of ${n} bytes is too large`);
  return ((n & 0xfe00000) << 3) | ((n & 0x1fc000) << 2) | ((n & 0x3f80) << 1) | (n & 0x7f);
}
