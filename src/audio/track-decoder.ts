// An Ogg Opus file as a gap-free run of positioned PCM blocks on the track's own timeline (sample 0 =
// first sample after pre-skip), following RFC 7845 §4.2 (pre-skip), §5.1 (output gain) and §4.5 (end
// trimming by the final granule position).
//
// Discord tracks are mostly silence: the recorder fills every pause with exact-silence packets
// (opus-silence.ts). Those are not decoded; they become `pcm: null` blocks, which the mixer skips. Only
// the first silence packet after audio (it carries the MDCT overlap tail of the last word) and the last
// one before audio resumes are really decoded: a CELT silence frame resets the band energies to a fixed
// floor, so after those two the decoder is in the state a full decode would have left it in.
import { openOggOpus, type OggOpusFile } from './ogg-opus-reader.ts';
import { createOpusDecoder } from './opus-codec.ts';

export interface TrackBlock {
  /** First sample of the block on the track timeline (after pre-skip). */
  start: number;
  frames: number;
  /** Interleaved int16 with `channels` channels, or null for exact digital silence. */
  pcm: Int16Array | null;
}

export interface DecodedTrack {
  path: string;
  channels: 1 | 2;
  /** Linear gain from the OpusHead output gain (§5.1); 1 for nearly every file. */
  headGain: number;
  /** Length after end trimming when the file says (last granule - pre-skip), else null. */
  totalSamples: number | null;
  truncated: boolean;
  comments: Record<string, string>;
  /** Contiguous blocks from sample 0 to the end of the track. */
  blocks(options?: BlockOptions): AsyncIterable<TrackBlock>;
}

export interface DecodeStats {
  decodedPackets: number;
  /** Exact-silence packets turned into zeros without decoding. */
  skippedPackets: number;
  /** Packets libopus rejected: played as silence of their TOC duration, so later audio keeps its place. */
  undecodablePackets: number;
}

export interface BlockOptions {
  /** Decode exact-silence packets too (for comparison tests); default false. */
  decodeSilence?: boolean;
  /** Filled in while the blocks are read. */
  stats?: DecodeStats;
}

export async function openTrack(path: string): Promise<DecodedTrack> {
  const file = await openOggOpus(path);
  const channels: 1 | 2 = file.head.channels === 1 ? 1 : 2;
  return {
    path,
    channels,
    headGain: 10 ** (file.head.outputGain / 256 / 20),
    totalSamples: file.totalSamples,
    truncated: file.truncated,
    comments: file.comments,
    blocks: (options) => trackBlocks(file, channels, options?.decodeSilence ?? false, options?.stats ?? newStats()),
  };
}

/**
 * Whether `packet` is one of the exact-silence packets: CELT-only TOC (config 16-31, RFC 6716 §3.1)
 * whose every frame is the 2-byte 0xFF 0xFE (silence flag set, §4.3 Table 56), as one frame (code 0),
 * two (code 1) or M equal frames without padding (code 3, §3.2.5).
 */
export function isExactSilencePacket(p: Uint8Array): boolean {
  if (p.length < 3 || p[0]! >> 3 < 16) return false;
  let at: number;
  switch (p[0]! & 3) {
    case 0:
      if (p.length !== 3) return false;
      at = 1;
      break;
    case 1:
      if (p.length !== 5) return false;
      at = 1;
      break;
    case 3: {
      const count = p[1]! & 0x3f;
      if ((p[1]! & 0xc0) !== 0 || count === 0 || p.length !== 2 + 2 * count) return false;
      at = 2;
      break;
    }
    default:
      return false;
  }
  for (; at < p.length; at += 2) if (p[at] !== 0xff || p[at + 1] !== 0xfe) return false;
  return true;
}

export function newStats(): DecodeStats {
  return { decodedPackets: 0, skippedPackets: 0, undecodablePackets: 0 };
}

async function* trackBlocks(file: OggOpusFile, channels: 1 | 2, decodeSilence: boolean, stats: DecodeStats): AsyncGenerator<TrackBlock> {
  const decoder = createOpusDecoder(channels);
  const decode = (data: Buffer, samples: number): Int16Array | null => {
    try {
      const pcm = decoder.decode(data);
      stats.decodedPackets++;
      return fitTo(pcm, samples, channels);
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      stats.undecodablePackets++;
      return null;
    }
  };
  const preSkip = file.head.preSkip;
  const end = file.totalSamples;
  // Decoder timeline position (pre-skip included) of the next packet.
  let pos = 0;
  let previousWasAudio = true;
  // A skipped silence packet held back: if audio follows, it is decoded to prime the decoder.
  let held: { data: Buffer; at: number; samples: number } | null = null;
  // Zeros not yet emitted, merged so a long pause is one block.
  let zeroFrom = 0;
  let zeroFrames = 0;

  function* place(at: number, frames: number, pcm: Int16Array | null): Generator<TrackBlock> {
    // Map decoder positions to track positions, cutting pre-skip at the head and trimming at the end.
    let from = at - preSkip;
    let count = frames;
    let skip = 0;
    if (from < 0) {
      skip = Math.min(count, -from);
      from += skip;
      count -= skip;
    }
    if (end !== null && from + count > end) count = Math.max(0, end - from);
    if (count <= 0) return;
    if (pcm === null) {
      if (zeroFrames > 0 && zeroFrom + zeroFrames === from) zeroFrames += count;
      else {
        if (zeroFrames > 0) yield { start: zeroFrom, frames: zeroFrames, pcm: null };
        zeroFrom = from;
        zeroFrames = count;
      }
      return;
    }
    if (zeroFrames > 0) {
      yield { start: zeroFrom, frames: zeroFrames, pcm: null };
      zeroFrames = 0;
    }
    yield { start: from, frames: count, pcm: skip === 0 && count === frames ? pcm : pcm.subarray(skip * channels, (skip + count) * channels) };
  }

  for await (const packet of file.packets()) {
    const silent = !decodeSilence && isExactSilencePacket(packet.data);
    if (silent && !previousWasAudio) {
      if (held) yield* place(held.at, held.samples, null);
      stats.skippedPackets++;
      held = { data: packet.data, at: pos, samples: packet.samples };
      pos += packet.samples;
      continue;
    }
    if (held) {
      stats.skippedPackets--;
      yield* place(held.at, held.samples, decode(held.data, held.samples));
      held = null;
    }
    yield* place(pos, packet.samples, decode(packet.data, packet.samples));
    pos += packet.samples;
    previousWasAudio = !silent;
  }
  if (held) yield* place(held.at, held.samples, null);
  if (zeroFrames > 0) yield { start: zeroFrom, frames: zeroFrames, pcm: null };
}

// The decoder's output length is the packet's TOC duration; a mismatch means a broken packet slipped past
// the reader's checks, and the timeline must not shift because of it.
function fitTo(pcm: Int16Array, samples: number, channels: number): Int16Array {
  if (pcm.length === samples * channels) return pcm;
  const fixed = new Int16Array(samples * channels);
  fixed.set(pcm.subarray(0, fixed.length));
  return fixed;
}
