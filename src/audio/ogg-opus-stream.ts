/**
 * One Ogg Opus stream read from its pages, pure (the reader, ogg-opus-reader.ts, does the I/O). Nothing a page
 * says is taken on trust:
 *
 * - Order: pages must come in sequence (RFC 3533 §6, page_sequence_number). A page that comes too early or
 *   twice is refused (PageOrderError: sorting the pages by sequence, as track-repair.ts does, repairs it); a
 *   gap means pages were lost, which is read on, with a warning.
 * - One stream per file: a second logical stream, chained after the first or multiplexed with it, is refused.
 * - Length: the packets say how long the stream is (the TOC of each, RFC 6716 §3.1). The last granule position
 *   is believed only as end trimming (RFC 7845 §4.4): on the page that ends the stream, by no more than that
 *   page's own packets, and not below pre-skip. Any other last granule (2^62, 100 hours, 0) is not believed,
 *   and a warning says so. A first granule above its page's packets is a start offset (a stream cut from a
 *   longer one, §4.5): the audio is still read from the start of the track, as every track starts at sample
 *   0, and a warning names the offset. The granules in between are not used.
 *
 *   granule positions:   origin ......... origin + packets (- trim on the last page)
 *   track samples:       0 ..... pre-skip ..... packets - trim
 */
import { FLAG_BOS, FLAG_CONTINUED, FLAG_EOS, pagePieces, type OggPage } from './ogg-page.ts';
import { parseOpusHead, parseOpusTags, type OpusHeadInfo } from './opus-head.ts';
import { opusPacketSamples } from './opus-packet.ts';

export class MediaFormatError extends Error {
  override name = 'MediaFormatError';
}

/** The pages of the stream are out of order or repeated: the audio may all be there, in the wrong order. */
export class PageOrderError extends MediaFormatError {
  override name = 'PageOrderError';
}

export interface AudioPacket {
  data: Buffer;
  /** Duration from the TOC, 48 kHz samples. */
  samples: number;
}

/** The most audio one page can complete: 255 packets (one lacing value each) of 120 ms. */
const MAX_PACKET_SAMPLES = 5760;
const MAX_PAGE_SAMPLES = 255 * MAX_PACKET_SAMPLES;
const RATE = 48_000;

/** Seconds, for messages (granule arithmetic is in bigint: a granule can be up to 2^63). */
function seconds(samples: bigint | number): string {
  return (Number(samples) / RATE).toFixed(3);
}

function endsWhole(page: OggPage): boolean {
  return page.lacing.length === 0 || page.lacing[page.lacing.length - 1] !== 255;
}

const REORDER_HINT = ': the pages are out of order (scripts/finalise-track.ts writes a copy in order)';

/** Checks that the pages of one stream come in sequence (wrap-safe: the field is 32 bits). */
export class PageSequence {
  #last: number | null = null;

  /** Pages missing just before `page` (0 when it follows the last one); throws PageOrderError when it comes early or again. */
  next(page: OggPage): number {
    const last = this.#last;
    this.#last = page.sequence;
    if (last === null) return 0;
    const ahead = (page.sequence - last) >>> 0;
    if (ahead === 0) throw new PageOrderError(`page ${page.sequence} at byte ${page.offset} repeats the page before it${REORDER_HINT}`);
    if (ahead >= 2 ** 31) throw new PageOrderError(`page ${page.sequence} at byte ${page.offset} comes after page ${last}${REORDER_HINT}`);
    return ahead - 1;
  }
}

/** Audio pages of one logical stream in, whole Opus packets out (packets may span pages). */
export class PacketAssembler {
  readonly serial: number;
  /** The end-of-stream page was pushed: later pages are ignored. */
  ended = false;
  #partial: Buffer[] = [];
  /** The sequence number the next page should carry. */
  #next: number | null = null;

  constructor(serial: number) {
    this.serial = serial;
  }

  push(page: OggPage): AudioPacket[] {
    const out: AudioPacket[] = [];
    if (page.serial !== this.serial || this.ended) return out;
    const pieces = pagePieces(page);
    const continued = (page.flags & FLAG_CONTINUED) !== 0;
    const afterGap = this.#next !== null && page.sequence !== this.#next;
    this.#next = (page.sequence + 1) >>> 0;
    // A packet left unfinished lost its end when a page went missing or when this page does not continue it;
    // a continuation with nothing pending lost its head. Neither is glued to another packet: both are dropped.
    if (!continued || afterGap) this.#partial = [];
    if (continued && this.#partial.length === 0) pieces.shift();
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

interface StreamLengthResult {
  /** Track length in 48 kHz samples: packets, less pre-skip, less the end trimming when it is believed. */
  length: number;
  /** The granule position the last whole page should carry (origin + packets - trim). */
  granule: bigint;
  /** Set when the last whole page's own granule was not believed: the one it should carry. */
  correctedGranule: bigint | null;
  warnings: string[];
}

interface WholePage {
  packetSamples: number;
  /** Its own granule position; -1 when it has none. */
  granule: bigint;
  /** Samples of the packets that complete on it. */
  pageSamples: number;
  eos: boolean;
  origin: bigint;
}

/** The length of a stream from its packets, with what its granule positions add when the packets back them up. */
export class StreamLength {
  readonly #preSkip: number;
  #packetSamples = 0;
  /** Granule position before the first packet, from the first page that has one (RFC 7845 §4.5). */
  #origin: bigint | null = null;
  #startOrigin: bigint | null = null;
  #gap: { pages: number; at: number } | null = null;
  #gapWarnings: string[] = [];
  #whole: WholePage | null = null;

  constructor(preSkip: number) {
    this.#preSkip = preSkip;
  }

  /** One audio page, in stream order, with the packets that end on it; `missingBefore` pages were lost just before it. */
  addPage(page: OggPage, packets: readonly AudioPacket[], missingBefore: number): void {
    if (missingBefore > 0) this.#gap = { pages: (this.#gap?.pages ?? 0) + missingBefore, at: this.#gap?.at ?? page.offset };
    const completed = packets.reduce((sum, p) => sum + p.samples, 0);
    this.#packetSamples += completed;
    const granule = completed > 0 && page.granule >= 0n ? page.granule : -1n;
    const eos = (page.flags & FLAG_EOS) !== 0;
    if (granule >= 0n) this.#place(granule, eos);
    if (endsWhole(page)) {
      this.#whole = { packetSamples: this.#packetSamples, granule, pageSamples: completed, eos, origin: this.#origin ?? 0n };
    }
  }

  #place(granule: bigint, eos: boolean): void {
    const origin = granule - BigInt(this.#packetSamples);
    if (this.#origin === null) {
      // A first page that also ends the stream trims its end with a smaller granule; the origin is then 0 (§4.5).
      this.#origin = origin < 0n && eos ? 0n : origin;
      this.#startOrigin = this.#origin;
      this.#closeGap(null);
    } else if (this.#gap) {
      // After lost pages the granules tell how much audio was lost, when the amount is one those pages could hold.
      const lost = origin - this.#origin;
      const plausible = lost >= 0n && lost <= BigInt(this.#gap.pages * MAX_PAGE_SAMPLES + MAX_PACKET_SAMPLES);
      if (plausible) this.#origin = origin;
      this.#closeGap(plausible ? lost : null);
    }
  }

  #closeGap(lost: bigint | null): void {
    if (!this.#gap) return;
    const { pages, at } = this.#gap;
    const missing = pages === 1 ? '1 page is missing' : `${pages} pages are missing`;
    this.#gapWarnings.push(
      `${missing} before byte ${at}: the audio after the gap plays ${lost === null ? 'early by the length lost' : `${seconds(lost)} s early`}`,
    );
    this.#gap = null;
  }

  result(): StreamLengthResult {
    this.#closeGap(null);
    const warnings = [...this.#gapWarnings];
    const origin = this.#startOrigin ?? 0n;
    if (origin !== 0n) {
      warnings.unshift(
        `its granule positions count from ${seconds(origin)} s, not 0 (a stream cut from a longer one?): its audio is read from the start of the track`,
      );
    }
    const whole = this.#whole;
    if (!whole) return { length: 0, granule: 0n, correctedGranule: null, warnings };
    const packets = BigInt(whole.packetSamples);
    const preSkip = BigInt(this.#preSkip);
    const end = whole.origin + packets;
    let trim = 0n;
    let correctedGranule: bigint | null = null;
    if (whole.granule >= 0n) {
      const wanted = end - whole.granule;
      // End trimming (§4.4) is for the page that ends the stream, and only within that page's own packets.
      const trims = whole.eos && wanted >= 0n && wanted <= BigInt(whole.pageSamples) && packets - wanted >= preSkip;
      if (trims) trim = wanted;
      else if (wanted !== 0n) {
        const held = seconds(packets - preSkip);
        const says = whole.granule - whole.origin - preSkip;
        warnings.push(
          `its last granule position says ${seconds(says > 0n ? says : 0n)} s but its packets hold ${held} s: read as ${held} s`,
        );
        correctedGranule = end;
      }
    }
    const length = Math.max(0, whole.packetSamples - Number(trim) - this.#preSkip);
    return { length, granule: end - trim, correctedGranule, warnings };
  }
}

/** Everything a reader, a resuming writer or the repair tool needs to know about a file. */
export interface OggOpusScan {
  serial: number;
  head: OpusHeadInfo;
  vendor: string;
  comments: Record<string, string>;
  /** Byte offset where the first audio page begins. */
  audioStart: number;
  /**
   * The last page of the stream that ends on a packet boundary: cutting the file after it loses nothing whole.
   * `granule` is the position its packets reach (StreamLength), which is the one it carries unless
   * `correctedGranule` is set.
   */
  lastWhole: { offset: number; end: number; granule: bigint; sequence: number; eos: boolean };
  /** Track length from the packets up to lastWhole (pre-skip removed, end trimming applied when believed). */
  totalSamples: number;
  /** Set when lastWhole's own granule position is not believed: the one it should carry. */
  correctedGranule: bigint | null;
  fileSize: number;
  /** Bytes after `lastWhole.end` (torn page, partial packet, or pages after EOS). */
  tailBytes: number;
  /** Ended mid-page, mid-packet or without an EOS page (e.g. the recorder crashed). */
  truncated: boolean;
  /** What was read differently from what the file says, one sentence each, for the user. */
  warnings: string[];
}

/** The pages of a file in file order in, the facts of its one Opus stream out; throws MediaFormatError for bad input. */
export class OpusStreamScan {
  #serial: number | null = null;
  #sequence = new PageSequence();
  #headers: Buffer[] = [];
  #headerPartial: Buffer[] = [];
  #audioStart = -1;
  #packets: PacketAssembler | null = null;
  #length: StreamLength | null = null;
  #lastWhole: Omit<OggOpusScan['lastWhole'], 'granule'> | null = null;
  #ended = false;

  push(page: OggPage): void {
    this.#serial ??= page.serial;
    // A stream that begins once this one has ended is chained to it (whatever its serial); any other page of
    // another serial belongs to a stream multiplexed with this one.
    const chained = this.#ended && (page.flags & FLAG_BOS) !== 0;
    if (chained || page.serial !== this.#serial) {
      const how = chained ? 'is chained after' : 'is multiplexed with';
      throw new MediaFormatError(`a second stream (from byte ${page.offset}) ${how} the first: roomrec reads one stream per file`);
    }
    const missing = this.#sequence.next(page);
    if (this.#ended) return;
    if (this.#headers.length < 2) this.#addHeaderPage(page);
    else this.#length!.addPage(page, this.#packets!.push(page), missing);
    if (this.#headers.length >= 2 && endsWhole(page)) {
      this.#lastWhole = {
        offset: page.offset,
        end: page.offset + page.length,
        sequence: page.sequence,
        eos: (page.flags & FLAG_EOS) !== 0,
      };
    }
    if (page.flags & FLAG_EOS) this.#ended = true;
  }

  #addHeaderPage(page: OggPage): void {
    for (const piece of pagePieces(page)) {
      this.#headerPartial.push(piece.data);
      if (!piece.complete) continue;
      this.#headers.push(Buffer.concat(this.#headerPartial));
      this.#headerPartial = [];
      if (this.#headers.length === 1) checkHead(this.#headers[0]!);
    }
    if (this.#headers.length >= 2) {
      this.#audioStart = page.offset + page.length;
      this.#packets = new PacketAssembler(page.serial);
      this.#length = new StreamLength(parseOpusHead(this.#headers[0]!)!.preSkip);
    }
  }

  /** `tornAt`: where the bytes that are not a whole valid page begin, if the file ends in such bytes. */
  finish(fileSize: number, tornAt: number | null): OggOpusScan {
    if (this.#headers.length === 0) throw new MediaFormatError(tornAt === null ? 'not an Ogg file' : `corrupt page at byte ${tornAt}`);
    const lastWhole = this.#lastWhole;
    if (this.#headers.length < 2 || !lastWhole || this.#serial === null || !this.#length) {
      throw new MediaFormatError('file ends before the Opus headers are complete');
    }
    const head = parseOpusHead(this.#headers[0]!)!;
    const tags = parseOpusTags(this.#headers[1]!);
    if (!tags) throw new MediaFormatError('Ogg Opus file with a malformed OpusTags header');
    const length = this.#length.result();
    const tailBytes = fileSize - lastWhole.end;
    const warnings = length.warnings;
    if (lastWhole.eos && tailBytes > 0) warnings.push(`${tailBytes} bytes after the end of its stream (byte ${lastWhole.end}) are ignored`);
    return {
      serial: this.#serial,
      head,
      vendor: tags.vendor,
      comments: tags.comments,
      audioStart: this.#audioStart,
      lastWhole: { ...lastWhole, granule: length.granule },
      totalSamples: length.length,
      correctedGranule: length.correctedGranule,
      fileSize,
      tailBytes,
      truncated: !lastWhole.eos,
      warnings,
    };
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
