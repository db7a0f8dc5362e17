/**
 * Ogg Opus header packets (RFC 7845 §5).
 *
 * Identification header, §5.1 (19 bytes for channel mapping family 0):
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      'O'      |      'p'      |      'u'      |      's'      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      'H'      |      'e'      |      'a'      |      'd'      |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  Version = 1  | Channel Count |           Pre-skip            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Input Sample Rate (Hz)                    |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   Output Gain (Q7.8 in dB)    | Mapping Family|               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+               :
 * :               Optional Channel Mapping Table...               :
 *
 * Comment header, §5.2: 'OpusTags', vendor string length (u32 LE), vendor (UTF-8), comment count (u32 LE),
 * then per comment a u32 LE length and a UTF-8 "KEY=value" string. All integers little-endian.
 */

export interface OpusHeadInfo {
  version: number;
  channels: number;
  preSkip: number;
  inputSampleRate: number;
  outputGain: number;
  mappingFamily: number;
}

const HEAD_MAGIC = Buffer.from('OpusHead', 'latin1');
const TAGS_MAGIC = Buffer.from('OpusTags', 'latin1');

export function buildOpusHead(opts: { channels: 1 | 2; preSkip: number; inputSampleRate?: number; outputGain?: number }): Buffer {
  const b = Buffer.alloc(19);
  HEAD_MAGIC.copy(b, 0);
  b[8] = 1;
  b[9] = opts.channels;
  b.writeUInt16LE(opts.preSkip, 10);
  b.writeUInt32LE(opts.inputSampleRate ?? 48000, 12);
  b.writeInt16LE(opts.outputGain ?? 0, 16);
  b[18] = 0; // family 0: mono/stereo, no mapping table
  return b;
}

/** Parse an identification header; null when the packet is not an OpusHead (callers word the error). */
export function parseOpusHead(packet: Buffer): OpusHeadInfo | null {
  if (packet.length < 19 || !packet.subarray(0, 8).equals(HEAD_MAGIC)) return null;
  const version = packet[8]!;
  // §5.1: major version (upper 4 bits) 0 is the only one defined; minor versions stay compatible.
  if (version >> 4 !== 0) return null;
  const channels = packet[9]!;
  if (channels === 0) return null;
  const mappingFamily = packet[18]!;
  if (mappingFamily !== 0 && packet.length < 21 + channels) return null;
  return {
    version,
    channels,
    preSkip: packet.readUInt16LE(10),
    inputSampleRate: packet.readUInt32LE(12),
    outputGain: packet.readInt16LE(16),
    mappingFamily,
  };
}

export function buildOpusTags(vendor: string, comments: Record<string, string>): Buffer {
  const parts: Buffer[] = [TAGS_MAGIC];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n, 0);
    return b;
  };
  const v = Buffer.from(vendor, 'utf8');
  parts.push(u32(v.length), v);
  const entries = Object.entries(comments);
  parts.push(u32(entries.length));
  for (const [key, value] of entries) {
    // §5.2 defers to Vorbis comments: field names are ASCII 0x20-0x7D without '='.
    if (!/^[\x20-\x3C\x3E-\x7D]+$/.test(key)) throw new RangeError(`invalid comment field name: ${JSON.stringify(key)}`);
    const c = Buffer.from(`${key}=${value}`, 'utf8');
    parts.push(u32(c.length), c);
  }
  return Buffer.concat(parts);
}

/** Parse a comment header; field names are upper-cased (they are case-insensitive). Null when malformed. */
export function parseOpusTags(packet: Buffer): { vendor: string; comments: Record<string, string> } | null {
  if (packet.length < 16 || !packet.subarray(0, 8).equals(TAGS_MAGIC)) return null;
  let at = 8;
  const take = (n: number): Buffer | null => {
    if (at + n > packet.length) return null;
    const b = packet.subarray(at, at + n);
    at += n;
    return b;
  };
  const vlen = take(4);
  if (!vlen) return null;
  const vendorBytes = take(vlen.readUInt32LE(0));
  const count = take(4);
  if (!vendorBytes || !count) return null;
  const comments: Record<string, string> = {};
  for (let i = 0, n = count.readUInt32LE(0); i < n; i++) {
    const len = take(4);
    const entry = len && take(len.readUInt32LE(0));
    if (!entry) return null;
    const text = entry.toString('utf8');
    const eq = text.indexOf('=');
    if (eq > 0) comments[text.slice(0, eq).toUpperCase()] = text.slice(eq + 1);
  }
  return { vendor: vendorBytes.toString('utf8'), comments };
}
