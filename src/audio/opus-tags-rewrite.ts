// Adds comments to a finished Ogg Opus file (chapters once the notes are known: the mix is encoded while the
// room runs, before they all are). Only the OpusTags header changes; the audio pages are copied as they are,
// renumbered (and their CRCs recomputed) only when the new tags take a different number of pages. The new file
// replaces the old one by rename, so a download already reading the old one keeps reading a whole file.
import { createReadStream } from 'node:fs';
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { MediaFormatError } from './ogg-opus-reader.ts';
import { headerPages, pagePieces, parseOggPage, resealOggPage } from './ogg-page.ts';
import { buildOpusTags, parseOpusTags } from './opus-head.ts';
import { openPrivate } from '../storage/private-files.ts';

/** Bytes read to find the headers: OpusHead and an OpusTags of up to a few pages. */
const HEADER_READ = 1 << 20;

/** Rewrites `file` with `comments` added to (or replacing the same names in) its OpusTags. */
export async function addOpusComments(file: string, comments: Record<string, string>): Promise<void> {
  const head = await readStart(file);
  const { headEnd, tagsEnd, tagPageCount, tags, serial } = headers(file, head);
  const pages = headerPages(serial, 1, buildOpusTags(tags.vendor, { ...tags.comments, ...comments }));
  const renumber = pages.length - tagPageCount;
  const partial = `${file}.tags-partial-${process.pid}`;
  const out = await openPrivate(partial, 'w');
  try {
    await out.write(Buffer.concat([head.subarray(0, headEnd), ...pages]));
    await copyAudioPages(file, tagsEnd, renumber, out);
    await out.sync();
  } catch (err) {
    await out.close();
    await rm(partial, { force: true });
    throw err;
  }
  await out.close();
  await rename(partial, file);
}

async function readStart(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(HEADER_READ);
    const { bytesRead } = await fh.read(buf, 0, HEADER_READ, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function firstPageLength(file: string, buf: Buffer): number {
  const first = parseOggPage(buf, 0);
  if (first.kind !== 'page') throw new MediaFormatError(`${file}: no Ogg page at the start`);
  return first.page.length;
}

/** Where OpusHead's page and the OpusTags packet end, how many pages the tags took, and what they say. */
function headers(file: string, buf: Buffer) {
  const headEnd = firstPageLength(file, buf);
  let at = headEnd;
  const pieces: Buffer[] = [];
  for (let count = 1; ; count++) {
    const parsed = parseOggPage(buf, at);
    if (parsed.kind !== 'page')
      throw new MediaFormatError(`${file}: the OpusTags header is not whole within its first ${HEADER_READ} bytes`);
    at += parsed.page.length;
    const [piece] = pagePieces(parsed.page);
    if (piece) pieces.push(piece.data);
    if (piece?.complete) {
      const tags = parseOpusTags(Buffer.concat(pieces));
      if (!tags) throw new MediaFormatError(`${file}: its second header is not OpusTags`);
      return { headEnd, tagsEnd: at, tagPageCount: count, tags, serial: parsed.page.serial };
    }
  }
}

/** Copies the audio pages from `from` on: as they are, or with their sequence numbers moved by `by`, CRCs recomputed. */
async function copyAudioPages(file: string, from: number, by: number, out: FileHandle): Promise<void> {
  let pending = Buffer.alloc(0);
  for await (const chunk of createReadStream(file, { start: from })) {
    if (by === 0) {
      await out.write(chunk as Buffer);
      continue;
    }
    pending = Buffer.concat([pending, chunk as Buffer]);
    let at = 0;
    const whole: Buffer[] = [];
    for (;;) {
      const parsed = parseOggPage(pending, at);
      if (parsed.kind === 'incomplete') break;
      if (parsed.kind !== 'page') throw new MediaFormatError(`${file}: a damaged page after the headers`);
      const page = Buffer.from(pending.subarray(at, at + parsed.page.length));
      page.writeUInt32LE((parsed.page.sequence + by) >>> 0, 18);
      whole.push(resealOggPage(page));
      at += parsed.page.length;
    }
    if (whole.length > 0) await out.write(Buffer.concat(whole));
    pending = pending.subarray(at);
  }
  if (pending.length > 0) throw new MediaFormatError(`${file}: it ends inside a page`);
}
