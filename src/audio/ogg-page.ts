/**
 * Ogg page bytes (RFC 3533 §6): pure builders and parsers, no I/O.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1| Byte
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | capture_pattern: Magic number for page start "OggS"           | 0-3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | version       | header_type   | granule_position              | 4-7
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                                                               | 8-11
 * +                               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               | bitstream_serial_number       | 12-15
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               | page_sequence_number          | 16-19
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               | CRC_checksum                  | 20-23
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                               |page_segments  | segment_table | 24-27
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * | ...                                                           | 28-
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * All multi-byte fields are little-endian. header_type bits: 0x01 continued packet, 0x02 first page of
 * the logical bitstream (BOS), 0x04 last page (EOS). The segment table holds one lacing value per 255-byte
 * segment; a packet ends at the first lacing value < 255 (so a 510-byte packet is laced 255,255,0).
 * The CRC (ogg-crc.ts) covers the whole page with the CRC field zeroed. granule_position is -1 when no
 * packet ends on the page; for Opus it counts 48 kHz samples including pre-skip (RFC 7845 §4).
 */
import { oggCrc32 } from './ogg-crc.ts';

const OGG_CAPTURE = Buffer.from('OggS', 'latin1');
const OGG_HEADER_BYTES = 27;
export const MAX_SEGMENTS = 255;

export const FLAG_CONTINUED = 0x01;
export const FLAG_BOS = 0x02;
export const FLAG_EOS = 0x04;

export interface OggPageInput {
  serial: number;
  sequence: number;
  /** -1 when no packet completes on this page. */
  granule: bigint | number;
  bos?: boolean;
  eos?: boolean;
  /** The first packet is the tail of one begun on the previous page. */
  continued?: boolean;
  /** Whole packets; with `lastIncomplete`, the last one continues on the next page. */
  packets: readonly Uint8Array[];
  /** The last packet does not end here (its length must then be a multiple of 255). */
  lastIncomplete?: boolean;
}

/** Lacing values for one packet (RFC 3533 §6: a run of 255s, then the remainder, possibly 0). */
function lacingFor(length: number, terminated = true): number[] {
  const values: number[] = new Array<number>(Math.floor(length / 255)).fill(255);
  if (terminated) values.push(length % 255);
  else if (length % 255 !== 0) throw new RangeError('an unterminated packet fragment must be a multiple of 255 bytes');
  return values;
}

/** Number of segment-table entries a whole packet of `length` bytes needs. */
export function segmentsFor(length: number): number {
  return Math.floor(length / 255) + 1;
}

export function buildOggPage(input: OggPageInput): Buffer {
  const lacing: number[] = [];
  input.packets.forEach((p, i) => {
    const last = i === input.packets.length - 1;
    lacing.push(...lacingFor(p.length, !(last && input.lastIncomplete)));
  });
  if (lacing.length > MAX_SEGMENTS) throw new RangeError(`page needs ${lacing.length} segments, max ${MAX_SEGMENTS}`);
  const bodyLength = input.packets.reduce((n, p) => n + p.length, 0);
  const page = Buffer.alloc(OGG_HEADER_BYTES + lacing.length + bodyLength);
  OGG_CAPTURE.copy(page, 0);
  page[4] = 0;
  page[5] = (input.continued ? FLAG_CONTINUED : 0) | (input.bos ? FLAG_BOS : 0) | (input.eos ? FLAG_EOS : 0);
  page.writeBigInt64LE(BigInt(input.granule), 6);
  page.writeUInt32LE(input.serial >>> 0, 14);
  page.writeUInt32LE(input.sequence >>> 0, 18);
  page[26] = lacing.length;
  Buffer.from(lacing).copy(page, OGG_HEADER_BYTES);
  let at = OGG_HEADER_BYTES + lacing.length;
  for (const p of input.packets) {
    page.set(p, at);
    at += p.length;
  }
  page.writeUInt32LE(oggCrc32(page), 22);
  return page;
}

/**
 * The pages of one header packet that may exceed a page (OpusTags with big comments): cut at 255-byte multiples,
 * pages after the first continued, granule -1 until the last (RFC 7845 §5.2: header pages carry granule 0).
 */
export function headerPages(serial: number, firstSequence: number, packet: Buffer): Buffer[] {
  const pages: Buffer[] = [];
  const maxChunk = 255 * MAX_SEGMENTS - 255; // leaves room for the terminating lacing value
  let sequence = firstSequence;
  for (let at = 0; ; at += maxChunk) {
    const last = packet.length - at <= maxChunk;
    const chunk = packet.subarray(at, last ? packet.length : at + maxChunk);
    pages.push(
      buildOggPage({ serial, sequence: sequence++, granule: last ? 0 : -1, continued: at > 0, packets: [chunk], lastIncomplete: !last }),
    );
    if (last) return pages;
  }
}

/** Recompute and store the CRC of a page in place (after editing a header field). */
export function resealOggPage(page: Buffer): Buffer {
  page.writeUInt32LE(0, 22);
  page.writeUInt32LE(oggCrc32(page), 22);
  return page;
}

export interface OggPage {
  /** Byte offset of the page in its file or buffer. */
  offset: number;
  /** Total page length in bytes (header + segment table + body). */
  length: number;
  flags: number;
  granule: bigint;
  serial: number;
  sequence: number;
  lacing: Uint8Array;
  body: Buffer;
}

export type PageParse =
  | { kind: 'page'; page: OggPage }
  /** Not enough bytes for a whole page: `needed` total bytes from `offset` would be. */
  | { kind: 'incomplete'; needed: number }
  | { kind: 'bad-capture' }
  | { kind: 'bad-crc' };

const CRC_FIELD_ZEROS = new Uint8Array(4);

/** Parse the page starting at `offset` in `buf` (`baseOffset` is added to the reported offset). */
export function parseOggPage(buf: Buffer, offset = 0, baseOffset = 0): PageParse {
  if (buf.length - offset < OGG_HEADER_BYTES) {
    if (!OGG_CAPTURE.subarray(0, Math.min(4, buf.length - offset)).equals(buf.subarray(offset, offset + 4))) {
      return { kind: 'bad-capture' };
    }
    return { kind: 'incomplete', needed: OGG_HEADER_BYTES };
  }
  if (buf.readUInt32BE(offset) !== 0x4f676753 || buf[offset + 4] !== 0) return { kind: 'bad-capture' };
  const segments = buf[offset + 26]!;
  const headerLength = OGG_HEADER_BYTES + segments;
  if (buf.length - offset < headerLength) return { kind: 'incomplete', needed: headerLength };
  const lacing = buf.subarray(offset + OGG_HEADER_BYTES, offset + headerLength);
  let bodyLength = 0;
  for (const v of lacing) bodyLength += v;
  const length = headerLength + bodyLength;
  if (buf.length - offset < length) return { kind: 'incomplete', needed: length };
  const bytes = buf.subarray(offset, offset + length);
  const stored = bytes.readUInt32LE(22);
  // The CRC is taken with its own field as zeros: over the bytes around it, without copying the page.
  if (oggCrc32(bytes.subarray(26), oggCrc32(CRC_FIELD_ZEROS, oggCrc32(bytes.subarray(0, 22)))) !== stored) return { kind: 'bad-crc' };
  return {
    kind: 'page',
    page: {
      offset: baseOffset + offset,
      length,
      flags: bytes[5]!,
      granule: bytes.readBigInt64LE(6),
      serial: bytes.readUInt32LE(14),
      sequence: bytes.readUInt32LE(18),
      lacing: Uint8Array.from(lacing),
      body: Buffer.from(bytes.subarray(headerLength)),
    },
  };
}

/**
 * Split a page body into packet pieces by its lacing. The last piece is `complete: false` when the page's
 * last lacing value is 255 (the packet continues on the next page).
 */
export function pagePieces(page: OggPage): { data: Buffer; complete: boolean }[] {
  const pieces: { data: Buffer; complete: boolean }[] = [];
  let start = 0;
  let at = 0;
  for (const v of page.lacing) {
    at += v;
    if (v < 255) {
      pieces.push({ data: page.body.subarray(start, at), complete: true });
      start = at;
    }
  }
  if (page.lacing.length > 0 && page.lacing[page.lacing.length - 1] === 255) {
    pieces.push({ data: page.body.subarray(start, at), complete: false });
  }
  return pieces;
}
