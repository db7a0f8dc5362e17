/**
 * Ogg Opus reader (RFC 7845 over RFC 3533): streams pages from disk, reassembles packets that span pages
 * (255-lacing), and tells a torn tail (crash) from corruption. Reads files from roomrec, opusenc and ffmpeg.
 * What the pages may and may not be trusted with (order, streams, granule positions): ogg-opus-stream.ts.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { parseOggPage, type OggPage } from './ogg-page.ts';
import { MediaFormatError, OpusStreamScan, PacketAssembler, type AudioPacket, type OggOpusScan } from './ogg-opus-stream.ts';
import type { OpusHeadInfo } from './opus-head.ts';

export { MediaFormatError } from './ogg-opus-stream.ts';

export interface OggOpusFile {
  head: OpusHeadInfo;
  vendor: string;
  comments: Record<string, string>;
  /** Ended mid-page, mid-packet or without an EOS page (e.g. the recorder crashed). */
  truncated: boolean;
  /** Audio packets in order; samples = duration from the TOC (48 kHz). */
  packets(): AsyncIterable<AudioPacket>;
  /** Decoded length after pre-skip and end trimming, from the packets (ogg-opus-stream.ts: StreamLength). */
  totalSamples: number;
  /** What was read differently from what the file says (a granule not believed, lost pages), one sentence each. */
  warnings: string[];
}

// 256 kB reads: a 10-minute track at 100 kbit/s is about 30 of them. Each read is a round trip through libuv's
// thread pool, and on a busy machine every round trip waits for a core.
const CHUNK = 1 << 18;
/** 27-byte header, 255 lacing values, 255 segments of 255 bytes. */
const MAX_PAGE_BYTES = 27 + 255 + 255 * 255;

export type PageEvent =
  | { kind: 'page'; page: OggPage }
  /** Bytes from `offset` to the end of the file are not a whole valid page. */
  | { kind: 'torn'; offset: number };

/**
 * Pages of a file from `start`, in order. A page that is incomplete or fails its CRC is a torn tail when
 * no valid page follows it, and corruption (MediaFormatError) when one does.
 */
async function* pagesOf(fh: FileHandle, start: number, fileSize: number): AsyncGenerator<PageEvent> {
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = start;
  let eof = false;
  const fill = async (need: number): Promise<void> => {
    while (!eof && buf.length < need) {
      const chunk = Buffer.alloc(Math.max(CHUNK, need - buf.length));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, bufStart + buf.length);
      if (bytesRead === 0) eof = true;
      buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
    }
  };
  let at = 0;
  for (;;) {
    if (at > CHUNK) {
      buf = buf.subarray(at);
      bufStart += at;
      at = 0;
    }
    await fill(at + 27);
    if (at >= buf.length) return;
    let parsed = parseOggPage(buf, at, bufStart);
    while (parsed.kind === 'incomplete' && !eof) {
      await fill(at + parsed.needed);
      parsed = parseOggPage(buf, at, bufStart);
    }
    if (parsed.kind === 'page') {
      yield parsed;
      at += parsed.page.length;
      continue;
    }
    const badAt = bufStart + at;
    if (await validPageAfter(fh, badAt + 1, fileSize)) {
      throw new MediaFormatError(`corrupt page at byte ${badAt}`);
    }
    yield { kind: 'torn', offset: badAt };
    return;
  }
}

/** Whether any CRC-valid page starts at or after `from` (used to tell a torn tail from corruption). */
async function validPageAfter(fh: FileHandle, from: number, fileSize: number): Promise<boolean> {
  // Read in windows that overlap by a page's largest size, so a page across a window's end is still whole in one.
  for (let at = from; at < fileSize; at += CHUNK) {
    const window = Buffer.alloc(Math.min(fileSize - at, CHUNK + MAX_PAGE_BYTES));
    const { bytesRead } = await fh.read(window, 0, window.length, at);
    const bytes = window.subarray(0, bytesRead);
    for (let i = bytes.indexOf('OggS'); i >= 0 && i < CHUNK; i = bytes.indexOf('OggS', i + 1)) {
      if (parseOggPage(bytes, i).kind === 'page') return true;
    }
  }
  return false;
}

/** Scan a whole file (page headers, CRCs and packet durations); throws MediaFormatError with a clear message for bad input. */
export async function scanOggOpus(path: string): Promise<OggOpusScan> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize === 0) throw new MediaFormatError('empty file');
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.toString('latin1') !== 'OggS') throw new MediaFormatError('not an Ogg file');
    const stream = new OpusStreamScan();
    for await (const ev of pagesOf(fh, 0, fileSize)) {
      if (ev.kind === 'torn') return stream.finish(fileSize, ev.offset);
      stream.push(ev.page);
    }
    return stream.finish(fileSize, null);
  } finally {
    await fh.close();
  }
}

/** Every whole page of a file in file order, of any stream; then, when the file ends in other bytes, where those begin. */
export async function* oggPages(path: string): AsyncGenerator<PageEvent> {
  const fh = await open(path, 'r');
  try {
    yield* pagesOf(fh, 0, (await fh.stat()).size);
  } finally {
    await fh.close();
  }
}

/** Open an Ogg Opus file: headers and length now, packets streamed on demand. */
export async function openOggOpus(path: string): Promise<OggOpusFile> {
  return oggOpusFromScan(path, await scanOggOpus(path));
}

/** The file `scan` describes, without reading it again (a decoding thread is handed the scan its caller made). */
export function oggOpusFromScan(path: string, scan: OggOpusScan): OggOpusFile {
  return {
    head: scan.head,
    vendor: scan.vendor,
    comments: scan.comments,
    truncated: scan.truncated,
    totalSamples: scan.totalSamples,
    warnings: scan.warnings,
    packets: () => audioPackets(path, scan),
  };
}

async function* audioPackets(path: string, scan: OggOpusScan): AsyncGenerator<AudioPacket> {
  const fh = await open(path, 'r');
  try {
    const packets = new PacketAssembler(scan.serial);
    for await (const ev of pagesOf(fh, scan.audioStart, scan.fileSize)) {
      if (ev.kind === 'torn' || ev.page.offset >= scan.lastWhole.end) return;
      yield* packets.push(ev.page);
      if (packets.ended) return;
    }
  } finally {
    await fh.close();
  }
}
