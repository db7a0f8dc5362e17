/**
 * Ogg Opus reader (RFC 7845 over RFC 3533): streams pages from disk, reassembles packets that span pages
 * (255-lacing), and tells a torn tail (crash) from corruption. Reads files from roomrec, opusenc and ffmpeg.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { FLAG_CONTINUED, FLAG_EOS, pagePieces, parseOggPage, type OggPage } from './ogg-page.ts';
import { parseOpusHead, parseOpusTags, type OpusHeadInfo } from './opus-head.ts';
import { opusPacketSamples } from './opus-packet.ts';

export class MediaFormatError extends Error {
  override name = 'MediaFormatError';
}

export interface OggOpusFile {
  head: OpusHeadInfo;
  vendor: string;
  comments: Record<string, string>;
  /** Ended mid-page, mid-packet or without an EOS page (e.g. the recorder crashed). */
  truncated: boolean;
  /** Audio packets in order; samples = duration from the TOC (48 kHz). */
  packets(): AsyncIterable<{ data: Buffer; samples: number }>;
  /** Last known granule minus pre-skip (the decoded length after end trimming), else null. */
  totalSamples: number | null;
}

const CHUNK = 1 << 16;

type PageEvent =
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
  if (from >= fileSize) return false;
  const rest = Buffer.alloc(fileSize - from);
  await fh.read(rest, 0, rest.length, from);
  for (let i = rest.indexOf('OggS'); i >= 0; i = rest.indexOf('OggS', i + 1)) {
    if (parseOggPage(rest, i).kind === 'page') return true;
  }
  return false;
}

/** Everything a reader, a resuming writer or the repair tool needs to know about a file. */
export interface OggOpusScan {
  serial: number;
  head: OpusHeadInfo;
  vendor: string;
  comments: Record<string, string>;
  /** Byte offset where the first audio page begins. */
  audioStart: number;
  /** The last page of the stream that ends on a packet boundary: cutting the file after it loses nothing whole. */
  lastWhole: { offset: number; end: number; granule: bigint; sequence: number; eos: boolean };
  fileSize: number;
  /** Bytes after `lastWhole.end` (torn page, partial packet, or pages after EOS). */
  tailBytes: number;
  truncated: boolean;
}

/** Scan a whole file (page headers and CRCs); throws MediaFormatError with a clear message for bad input. */
export async function scanOggOpus(path: string): Promise<OggOpusScan> {
  const fh = await open(path, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    if (fileSize === 0) throw new MediaFormatError('empty file');
    const magic = Buffer.alloc(4);
    await fh.read(magic, 0, 4, 0);
    if (magic.toString('latin1') !== 'OggS') throw new MediaFormatError('not an Ogg file');

    let serial: number | null = null;
    const headerPackets: Buffer[] = [];
    let partial: Buffer[] = [];
    let audioStart = -1;
    let lastWhole: OggOpusScan['lastWhole'] | null = null;
    let eosSeen = false;
    let tornAt: number | null = null;
    for await (const ev of pagesOf(fh, 0, fileSize)) {
      if (ev.kind === 'torn') {
        tornAt = ev.offset;
        break;
      }
      const page = ev.page;
      if (serial === null) serial = page.serial;
      if (page.serial !== serial || eosSeen) continue; // other multiplexed streams, or chained ones after EOS
      if (headerPackets.length < 2) {
        for (const piece of pagePieces(page)) {
          partial.push(piece.data);
          if (piece.complete) {
            headerPackets.push(Buffer.concat(partial));
            partial = [];
            if (headerPackets.length === 1) checkHead(headerPackets[0]!);
          }
        }
        if (headerPackets.length >= 2) audioStart = page.offset + page.length;
      }
      const endsWhole = page.lacing.length === 0 || page.lacing[page.lacing.length - 1] !== 255;
      if (headerPackets.length >= 2 && endsWhole) {
        lastWhole = {
          offset: page.offset,
          end: page.offset + page.length,
          granule: page.granule,
          sequence: page.sequence,
          eos: (page.flags & FLAG_EOS) !== 0,
        };
      }
      if (page.flags & FLAG_EOS) eosSeen = true;
    }
    if (headerPackets.length === 0) throw new MediaFormatError(tornAt === null ? 'not an Ogg file' : `corrupt page at byte ${tornAt}`);
    if (headerPackets.length < 2 || !lastWhole || serial === null) {
      throw new MediaFormatError('file ends before the Opus headers are complete');
    }
    const head = parseOpusHead(headerPackets[0]!)!;
    const tags = parseOpusTags(headerPackets[1]!);
    if (!tags) throw new MediaFormatError('Ogg Opus file with a malformed OpusTags header');
    const tailBytes = fileSize - lastWhole.end;
    return {
      serial,
      head,
      vendor: tags.vendor,
      comments: tags.comments,
      audioStart,
      lastWhole,
      fileSize,
      tailBytes,
      truncated: !lastWhole.eos || tornAt !== null,
    };
  } finally {
    await fh.close();
  }
}

function checkHead(first: Buffer): void {
  if (first.subarray(0, 7).equals(Buffer.from('\x01vorbis', 'latin1'))) throw new MediaFormatError('Ogg but not Opus (Vorbis?)');
  if (first.subarray(0, 8).toString('latin1') === 'OpusHead') {
    const head = parseOpusHead(first);
    if (!head) throw new MediaFormatError('Ogg Opus file with an unsupported or malformed OpusHead');
    if (head.mappingFamily !== 0 && head.channels > 2) {
      throw new MediaFormatError(`Ogg Opus with ${head.channels} channels (mapping family ${head.mappingFamily}) is not supported`);
    }
    return;
  }
  const kind = ['FLAC', 'Speex', 'theora'].find((k) => first.includes(Buffer.from(k, 'latin1')));
  throw new MediaFormatError(`Ogg but not Opus${kind ? ` (${kind}?)` : ''}`);
}

/** Open an Ogg Opus file: headers and length now, packets streamed on demand. */
export async function openOggOpus(path: string): Promise<OggOpusFile> {
  const scan = await scanOggOpus(path);
  const granule = Number(scan.lastWhole.granule);
  return {
    head: scan.head,
    vendor: scan.vendor,
    comments: scan.comments,
    truncated: scan.truncated,
    totalSamples: granule >= scan.head.preSkip ? granule - scan.head.preSkip : granule >= 0 ? 0 : null,
    packets: () => audioPackets(path, scan),
  };
}

async function* audioPackets(path: string, scan: OggOpusScan): AsyncGenerator<{ data: Buffer; samples: number }> {
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

/** Audio pages of one logical stream in, whole Opus packets out (packets may span pages). */
export class PacketAssembler {
  readonly serial: number;
  /** The end-of-stream page was pushed: later pages are ignored. */
  ended = false;
  #partial: Buffer[] = [];

  constructor(serial: number) {
    this.serial = serial;
  }

  push(page: OggPage): { data: Buffer; samples: number }[] {
    const out: { data: Buffer; samples: number }[] = [];
    if (page.serial !== this.serial || this.ended) return out;
    const pieces = pagePieces(page);
    // A continuation with nothing pending follows a lost page: that packet's head is gone, drop the rest.
    if ((page.flags & FLAG_CONTINUED) !== 0 && this.#partial.length === 0) pieces.shift();
    for (const piece of pieces) {
      this.#partial.push(piece.data);
      if (!piece.complete) continue;
      const data = this.#partial.length === 1 ? this.#partial[0]! : Buffer.concat(this.#partial);
      this.#partial = [];
      const samples = opusPacketSamples(data);
      if (samples === null) throw new MediaFormatError(`invalid Opus packet in the page at byte ${page.offset}`);
      out.push({ data, samples });
    }
    if (page.flags & FLAG_EOS) this.ended = true;
    return out;
  }
}
