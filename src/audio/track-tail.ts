// A track that is still being written, read as it grows: readUntil() picks up the whole pages appended
// since the last call and turns them into positioned blocks (the same decoding as track-decoder.ts, so a
// track read this way gives exactly the samples a read of the finished file gives).
//
//   file: [headers][page][page]...[page][torn page being written]
//                   ^audioStart          ^#offset: the next page starts here; a torn page is "not yet"
//
// A page that fails its CRC although all its bytes are there is corruption, not a write in progress.
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseOggPage, type OggPage } from './ogg-page.ts';
import { scanOggOpus } from './ogg-opus-reader.ts';
import { MediaFormatError, PacketAssembler, PageSequence, StreamLength } from './ogg-opus-stream.ts';
import { PacketBlockDecoder, type DecodeStats, type TrackBlock } from './track-decoder.ts';

const CHUNK = 1 << 16;

export class TrackTail {
  readonly path: string;
  readonly channels: 1 | 2;
  /** Linear gain from the OpusHead output gain (RFC 7845 §5.1). */
  readonly headGain: number;
  readonly comments: Record<string, string>;
  #fh: FileHandle;
  /** File offset of #buf[0]: the first byte not yet consumed as a page. */
  #offset: number;
  #buf: Buffer = Buffer.alloc(0);
  #sequence = new PageSequence();
  #packets: PacketAssembler;
  // The final length comes from the packets, as when the finished file is read (a granule is not taken on trust).
  #length: StreamLength;
  #decoder: PacketBlockDecoder;

  private constructor(path: string, fh: FileHandle, scan: Awaited<ReturnType<typeof scanOggOpus>>, stats: DecodeStats) {
    this.path = path;
    this.#fh = fh;
    this.channels = scan.head.channels === 1 ? 1 : 2;
    this.headGain = 10 ** (scan.head.outputGain / 256 / 20);
    this.comments = scan.comments;
    this.#offset = scan.audioStart;
    this.#packets = new PacketAssembler(scan.serial);
    this.#length = new StreamLength(scan.head.preSkip);
    this.#decoder = new PacketBlockDecoder({ channels: this.channels, preSkip: scan.head.preSkip, end: null, decodeSilence: false, stats });
  }

  /** Opens a track whose headers are on disk (the track writer flushes them when it creates the file). */
  static async open(path: string, stats: DecodeStats): Promise<TrackTail> {
    const scan = await scanOggOpus(path);
    const fh = await open(path, 'r');
    return new TrackTail(path, fh, scan, stats);
  }

  /** The end-of-stream page has been read: the track is complete. */
  get ended(): boolean {
    return this.#packets.ended;
  }

  /** Track position (samples, pre-skip removed) that the pages read so far reach. */
  get reached(): number {
    return this.#decoder.reached;
  }

  /** See PacketBlockDecoder.decodeSilenceAhead: only for a track known to be silent from here on. */
  decodeSilenceAhead(): TrackBlock[] {
    return this.ended ? [] : this.#decoder.decodeSilenceAhead();
  }

  /** Audio came where silence was decoded ahead: what is read from here on is not what the file says. */
  get diverged(): boolean {
    return this.#decoder.diverged;
  }

  /** Final length once ended (RFC 7845 §4.5 end trimming applied), else null. */
  get length(): number | null {
    return this.ended ? this.#decoder.end : null;
  }

  /**
   * Blocks decoded from the pages on disk, stopping once the track reaches `position` (a page at a time,
   * so memory stays at about a page of PCM however far behind the reader is). Returns fewer when the file
   * does not reach that far yet; all remaining blocks once the end-of-stream page is read.
   */
  async readUntil(position: number): Promise<TrackBlock[]> {
    const out: TrackBlock[] = [];
    while (!this.ended && this.#decoder.reached < position) {
      const page = await this.#nextPage();
      if (!page) break;
      if (page.serial !== this.#packets.serial) continue;
      const missing = this.#sequence.next(page);
      const packets = this.#packets.push(page);
      this.#length.addPage(page, packets, missing);
      // The end is known before the last page's packets are decoded, so they are trimmed as they come out.
      if (this.ended) this.#decoder.end = this.#length.result().length;
      for (const p of packets) out.push(...this.#decoder.push(p.data, p.samples));
      if (this.ended) out.push(...this.#decoder.finish());
    }
    return out;
  }

  /** The next whole page after #offset, or null when the file does not hold one yet. */
  async #nextPage(): Promise<OggPage | null> {
    for (;;) {
      const parsed = parseOggPage(this.#buf, 0, this.#offset);
      if (parsed.kind === 'page') {
        this.#buf = this.#buf.subarray(parsed.page.length);
        this.#offset += parsed.page.length;
        return parsed.page;
      }
      if (parsed.kind !== 'incomplete') throw new MediaFormatError(`${basename(this.path)}: corrupt page at byte ${this.#offset}`);
      const chunk = Buffer.alloc(Math.max(CHUNK, parsed.needed - this.#buf.length));
      const { bytesRead } = await this.#fh.read(chunk, 0, chunk.length, this.#offset + this.#buf.length);
      if (bytesRead === 0) return null;
      this.#buf = Buffer.concat([this.#buf, chunk.subarray(0, bytesRead)]);
    }
  }

  async close(): Promise<void> {
    await this.#fh.close();
  }
}
