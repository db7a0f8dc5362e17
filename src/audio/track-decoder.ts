// An Ogg Opus file as a gap-free run of positioned PCM blocks on the track's own timeline (sample 0 =
// first sample after pre-skip), following RFC 7845 §4.2 (pre-skip), §5.1 (output gain) and §4.5 (end
// trimming by the final granule position).
//
// Discord tracks are mostly silence: the recorder fills every pause with exact-silence packets
// (opus-silence.ts). Those are not decoded; they become `pcm: null` blocks, which the mixer skips. Only
// the first silence packet after audio (it carries the MDCT overlap tail of the last word) and the last
// one before audio resumes are really decoded: a CELT silence frame resets the band energies to a fixed
// floor, so after those two the decoder is in the state a full decode would have left it in.
import { oggOpusFromScan, openOggOpus, type OggOpusFile } from './ogg-opus-reader.ts';
import type { OggOpusScan } from './ogg-opus-stream.ts';
import { createOpusDecoder, type OpusDecoder } from './opus-codec.ts';

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
  /** Length after pre-skip and end trimming, from the packets (the granules are believed only where they agree). */
  totalSamples: number;
  truncated: boolean;
  /** What was read differently from what the file says, one sentence each (ogg-opus-stream.ts). */
  warnings: string[];
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
  return trackOf(path, await openOggOpus(path));
}

/** The track `scan` describes, without reading the file again (scanOggOpus made it). */
export function trackFromScan(path: string, scan: OggOpusScan): DecodedTrack {
  return trackOf(path, oggOpusFromScan(path, scan));
}

function trackOf(path: string, file: OggOpusFile): DecodedTrack {
  const channels: 1 | 2 = file.head.channels === 1 ? 1 : 2;
  return {
    path,
    channels,
    headGain: 10 ** (file.head.outputGain / 256 / 20),
    totalSamples: file.totalSamples,
    truncated: file.truncated,
    warnings: file.warnings,
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

const SILENCE_20MS = Buffer.from([0xf8, 0xff, 0xfe]);
const SILENCE_FRAME = 960;

export function newStats(): DecodeStats {
  return { decodedPackets: 0, skippedPackets: 0, undecodablePackets: 0 };
}

async function* trackBlocks(file: OggOpusFile, channels: 1 | 2, decodeSilence: boolean, stats: DecodeStats): AsyncGenerator<TrackBlock> {
  const blocks = new PacketBlockDecoder({ channels, preSkip: file.head.preSkip, end: file.totalSamples, decodeSilence, stats });
  for await (const packet of file.packets()) yield* blocks.push(packet.data, packet.samples);
  yield* blocks.finish();
}

/**
 * Packets in, positioned blocks out, one packet at a time: the decoding behind `blocks()`, usable on a file
 * that is still growing (track-tail.ts). Blocks come out in order and without gaps, but may lag the packets
 * pushed: a skipped silence packet is held until it is known whether audio follows, and zeros are merged.
 */
export class PacketBlockDecoder {
  #decoder: OpusDecoder;
  #channels: 1 | 2;
  #preSkip: number;
  #decodeSilence: boolean;
  #stats: DecodeStats;
  /** Track length after end trimming; null while unknown (a growing file). */
  end: number | null;
  // Decoder timeline position (pre-skip included) of the next packet.
  #pos = 0;
  #previousWasAudio = true;
  // A skipped silence packet held back: if audio follows, it is decoded to prime the decoder.
  #held: { data: Buffer; at: number; samples: number } | null = null;
  // Zeros not yet emitted, merged so a long pause is one block.
  #zeroFrom = 0;
  #zeroFrames = 0;
  // Silence decoded ahead of the file (decodeSilenceAhead) that the next packets must cover.
  #ahead = 0;
  #diverged = false;

  constructor(opts: { channels: 1 | 2; preSkip: number; end: number | null; decodeSilence: boolean; stats: DecodeStats }) {
    this.#decoder = createOpusDecoder(opts.channels);
    this.#channels = opts.channels;
    this.#preSkip = opts.preSkip;
    this.end = opts.end;
    this.#decodeSilence = opts.decodeSilence;
    this.#stats = opts.stats;
  }

  /** Track position (pre-skip removed) the packets pushed so far reach. */
  get reached(): number {
    return Math.max(0, this.#pos - this.#preSkip);
  }

  /**
   * For a growing track known to continue with silence (the recorder fills a pause with exact-silence
   * packets, largest first, so 20 ms frames first): decodes that first 20 ms now, as the fill will be
   * decoded. It is the one silence frame whose output is not zero: it carries the overlap tail of the last
   * word. The fill, when it is pushed, is shortened by what was decoded ahead. Returns the blocks.
   */
  decodeSilenceAhead(): TrackBlock[] {
    const out: TrackBlock[] = [];
    if (!this.#previousWasAudio || this.#held || this.#decodeSilence) return out;
    this.#place(out, this.#pos, SILENCE_FRAME, this.#decode(SILENCE_20MS, SILENCE_FRAME));
    this.#pos += SILENCE_FRAME;
    this.#ahead += SILENCE_FRAME;
    this.#previousWasAudio = false;
    return out;
  }

  /** A packet came where silence was decoded ahead (the silence guarantee was broken): blocks after it are off. */
  get diverged(): boolean {
    return this.#diverged;
  }

  push(data: Buffer, packetSamples: number): TrackBlock[] {
    const out: TrackBlock[] = [];
    const silent = !this.#decodeSilence && isExactSilencePacket(data);
    let samples = packetSamples;
    if (this.#ahead > 0) {
      if (!silent || samples < this.#ahead) this.#diverged = true;
      const covered = Math.min(samples, this.#ahead);
      samples -= covered;
      this.#ahead -= covered;
      if (samples === 0) return out;
    }
    if (silent && !this.#previousWasAudio) {
      if (this.#held) this.#place(out, this.#held.at, this.#held.samples, null);
      this.#stats.skippedPackets++;
      this.#held = { data, at: this.#pos, samples };
      this.#pos += samples;
      return out;
    }
    if (this.#held) {
      this.#stats.skippedPackets--;
      this.#place(out, this.#held.at, this.#held.samples, this.#decode(this.#held.data, this.#held.samples));
      this.#held = null;
    }
    this.#place(out, this.#pos, samples, this.#decode(data, samples));
    this.#pos += samples;
    this.#previousWasAudio = !silent;
    return out;
  }

  /** The blocks still held back; call once, after the last packet. */
  finish(): TrackBlock[] {
    const out: TrackBlock[] = [];
    if (this.#held) this.#place(out, this.#held.at, this.#held.samples, null);
    this.#held = null;
    if (this.#zeroFrames > 0) out.push({ start: this.#zeroFrom, frames: this.#zeroFrames, pcm: null });
    this.#zeroFrames = 0;
    return out;
  }

  #decode(data: Buffer, samples: number): Int16Array | null {
    try {
      const pcm = this.#decoder.decode(data);
      this.#stats.decodedPackets++;
      return fitTo(pcm, samples, this.#channels);
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      this.#stats.undecodablePackets++;
      return null;
    }
  }

  // Maps decoder positions to track positions, cutting pre-skip at the head and trimming at the end.
  #place(out: TrackBlock[], at: number, frames: number, pcm: Int16Array | null): void {
    let from = at - this.#preSkip;
    let count = frames;
    let skip = 0;
    if (from < 0) {
      skip = Math.min(count, -from);
      from += skip;
      count -= skip;
    }
    if (this.end !== null && from + count > this.end) count = Math.max(0, this.end - from);
    if (count <= 0) return;
    if (pcm === null) {
      if (this.#zeroFrames > 0 && this.#zeroFrom + this.#zeroFrames === from) this.#zeroFrames += count;
      else {
        if (this.#zeroFrames > 0) out.push({ start: this.#zeroFrom, frames: this.#zeroFrames, pcm: null });
        this.#zeroFrom = from;
        this.#zeroFrames = count;
      }
      return;
    }
    if (this.#zeroFrames > 0) {
      out.push({ start: this.#zeroFrom, frames: this.#zeroFrames, pcm: null });
      this.#zeroFrames = 0;
    }
    const ch = this.#channels;
    out.push({ start: from, frames: count, pcm: skip === 0 && count === frames ? pcm : pcm.subarray(skip * ch, (skip + count) * ch) });
  }
}

// The decoder's output length is the packet's TOC duration; a mismatch means a broken packet slipped past
// the reader's checks, and the timeline must not shift because of it.
function fitTo(pcm: Int16Array, samples: number, channels: number): Int16Array {
  if (pcm.length === samples * channels) return pcm;
  const fixed = new Int16Array(samples * channels);
  fixed.set(pcm.subarray(0, fixed.length));
  return fixed;
}
