/**
 * Streaming, crash-tolerant Ogg Opus writer (RFC 7845). Packets are stored exactly as given; the writer
 * only frames them. Append-only: page N is never touched once written, so a crash leaves every complete
 * page valid (ogg-opus-reader.ts reads up to the last one, track-repair.ts finalises the file).
 *
 * Page layout: page 0 = OpusHead (BOS), page 1 = OpusTags, then audio pages holding whole packets only
 * (no packet spans pages), each with the granule position at its last packet's end (§4).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { openPrivate } from '../storage/private-files.ts';
import { buildOggPage, FLAG_EOS, MAX_SEGMENTS, parseOggPage, resealOggPage, segmentsFor } from './ogg-page.ts';
import { buildOpusHead, buildOpusTags } from './opus-head.ts';
import { scanOggOpus } from './ogg-opus-reader.ts';
import { writeAll } from './write-all.ts';

export interface OggOpusWriterOptions {
  path: string;
  /** Default 2. */
  channels?: 1 | 2;
  /** Default 312, the lookahead of libopus at 48 kHz (what Discord clients use). */
  preSkip?: number;
  /** Default 'roomrec'. */
  vendor?: string;
  /** e.g. { TITLE, ARTIST: speaker name, ROOMREC_RECORDING: id, ROOMREC_USER: userId } */
  comments?: Record<string, string>;
  /** Default 1000: a page is written at least this often while packets arrive. */
  flushIntervalMs?: number;
  serial?: number;
  /**
   * Milliseconds, monotonic: the one clock the ≥1 page-per-interval rule reads (default performance.now()).
   * Injected so that tests drive time instead of waiting, and so a recording can share its own clock.
   */
  now?: () => number;
  /** Called once with the first I/O error (it is also kept in `error` and rejects flush/close). */
  onError?: (err: Error) => void;
}

interface WriterInit {
  fh: FileHandle;
  path: string;
  serial: number;
  sequence: number;
  granule: number;
  preSkip: number;
  size: number;
  flushIntervalMs: number;
  now: () => number;
  onError: ((err: Error) => void) | undefined;
}

const monotonicNow = (): number => performance.now();

/** A 2.5 ms CELT silence frame: the smallest packet that can carry the EOS flag when nothing is pending. */
const EOS_FILLER = Buffer.from([28 << 3, 0xff, 0xfe]);

export class OggOpusWriter {
  readonly path: string;
  #fh: FileHandle;
  #serial: number;
  #sequence: number;
  /** Decoder position (includes pre-skip) at the end of the last packet accepted. */
  #granule: number;
  #preSkip: number;
  /** Bytes committed to the write queue (the offset where the next page goes). */
  #size: number;
  #pending: Buffer[] = [];
  #pendingSegments = 0;
  #now: () => number;
  #lastPageAt: number;
  #timer: NodeJS.Timeout | null = null;
  #queue: Promise<void> = Promise.resolve();
  #error: Error | null = null;
  #closed = false;
  #flushIntervalMs: number;
  #onError: ((err: Error) => void) | undefined;

  private constructor(init: WriterInit) {
    this.path = init.path;
    this.#fh = init.fh;
    this.#serial = init.serial;
    this.#sequence = init.sequence;
    this.#granule = init.granule;
    this.#preSkip = init.preSkip;
    this.#size = init.size;
    this.#flushIntervalMs = init.flushIntervalMs;
    this.#now = init.now;
    this.#lastPageAt = init.now();
    this.#onError = init.onError;
  }

  /** Create a new file (fails if it exists; private: 0600) and write the two header pages. */
  static async create(opts: OggOpusWriterOptions): Promise<OggOpusWriter> {
    const fh = await openPrivate(opts.path, 'wx');
    const serial = opts.serial ?? randomInt(0, 2 ** 32 - 1);
    const preSkip = opts.preSkip ?? 312;
    const head = buildOggPage({
      serial,
      sequence: 0,
      granule: 0,
      bos: true,
      packets: [buildOpusHead({ channels: opts.channels ?? 2, preSkip })],
    });
    const tagsPacket = buildOpusTags(opts.vendor ?? 'roomrec', opts.comments ?? {});
    // OpusTags may exceed one page (big comments): split at 255-byte multiples, continued pages after the first.
    const tagPages: Buffer[] = [];
    const maxChunk = 255 * MAX_SEGMENTS - 255; // leaves room for the terminating lacing value
    let sequence = 1;
    for (let at = 0; ; at += maxChunk) {
      const last = tagsPacket.length - at <= maxChunk;
      const chunk = tagsPacket.subarray(at, last ? tagsPacket.length : at + maxChunk);
      tagPages.push(
        buildOggPage({ serial, sequence: sequence++, granule: last ? 0 : -1, continued: at > 0, packets: [chunk], lastIncomplete: !last }),
      );
      if (last) break;
    }
    const headers = Buffer.concat([head, ...tagPages]);
    try {
      await writeAll(fh, headers, 0);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new OggOpusWriter({
      fh,
      path: opts.path,
      serial,
      sequence,
      granule: 0,
      preSkip,
      size: headers.length,
      flushIntervalMs: opts.flushIntervalMs ?? 1000,
      now: opts.now ?? monotonicNow,
      onError: opts.onError,
    });
  }

  /**
   * Reopen a file written by this writer (possibly cut off by a crash): the torn tail is cut off, an EOS
   * flag from a clean close is cleared (the only rewrite: that page's flag byte and CRC), and the page
   * sequence and granule continue.
   */
  static async resume(path: string, opts: Pick<OggOpusWriterOptions, 'flushIntervalMs' | 'now' | 'onError'> = {}): Promise<OggOpusWriter> {
    const scan = await scanOggOpus(path);
    const fh = await open(path, 'r+');
    try {
      if (scan.tailBytes > 0) await fh.truncate(scan.lastWhole.end);
      if (scan.lastWhole.eos) {
        const page = Buffer.alloc(scan.lastWhole.end - scan.lastWhole.offset);
        await fh.read(page, 0, page.length, scan.lastWhole.offset);
        if (parseOggPage(page).kind !== 'page') throw new Error(`cannot re-read the last page of ${path}`);
        page[5] = page[5]! & ~FLAG_EOS;
        resealOggPage(page);
        await writeAll(fh, page, scan.lastWhole.offset);
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new OggOpusWriter({
      fh,
      path,
      serial: scan.serial,
      sequence: scan.lastWhole.sequence + 1,
      granule: Math.max(0, Number(scan.lastWhole.granule)),
      preSkip: scan.head.preSkip,
      size: scan.lastWhole.end,
      flushIntervalMs: opts.flushIntervalMs ?? 1000,
      now: opts.now ?? monotonicNow,
      onError: opts.onError,
    });
  }

  /** PCM position after pre-skip, in 48 kHz samples. */
  get samplesWritten(): number {
    return Math.max(0, this.#granule - this.#preSkip);
  }

  /** Decoder position including pre-skip (the granule the next page will carry). */
  get granulePosition(): number {
    return this.#granule;
  }

  get preSkip(): number {
    return this.#preSkip;
  }

  /** The first I/O error, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Append a packet lasting `samples` (48 kHz). Throws after close or after an I/O error. */
  writePacket(packet: Buffer, samples: number): void {
    if (this.#closed) throw new Error(`writer for ${this.path} is closed`);
    if (this.#error) throw this.#error;
    if (!Number.isInteger(samples) || samples <= 0) throw new RangeError(`packet duration must be a positive integer, got ${samples}`);
    const segments = segmentsFor(packet.length);
    if (segments > MAX_SEGMENTS) throw new RangeError(`packet of ${packet.length} bytes is larger than an Opus packet can be`);
    // Emit before adding, so the newest packet is always pending and close() can carry EOS on it.
    if (
      this.#pending.length > 0 &&
      (this.#pendingSegments + segments > MAX_SEGMENTS || this.#now() - this.#lastPageAt >= this.#flushIntervalMs)
    ) {
      this.#emitPage(false);
    }
    this.#pending.push(Buffer.from(packet));
    this.#pendingSegments += segments;
    this.#granule += samples;
    // The backstop for when packets stop arriving (a speaker falls silent): nothing but a timer can wake the
    // writer then, and "on disk within a second" is a promise about real time, so it runs on real time.
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      if (this.#pending.length > 0 && !this.#closed) this.#emitPage(false);
    }, this.#flushIntervalMs).unref();
  }

  /** Write pending packets as a page and wait until the data is on disk. Rejects on any I/O error. */
  async flush(): Promise<void> {
    if (this.#pending.length > 0 && !this.#closed) this.#emitPage(false);
    await this.#queue;
    this.#throwIfFailed();
    await this.#fh.datasync().catch((err: Error) => this.#fail(err));
    this.#throwIfFailed();
  }

  /** The first I/O error, if one happened (read afresh: it may be set while we awaited). */
  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  /** Write the final page with EOS and close the file. Rejects with the first I/O error, if any. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#error) {
      if (this.#pending.length === 0) {
        this.#pending.push(EOS_FILLER);
        this.#pendingSegments = 1;
        this.#granule += 120;
      }
      this.#emitPage(true);
    }
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue;
    if (!this.#error) await this.#fh.datasync().catch((err: Error) => this.#fail(err));
    await this.#fh.close().catch((err: Error) => this.#fail(err));
    if (this.#error) throw this.#error;
  }

  #emitPage(eos: boolean): void {
    const page = buildOggPage({ serial: this.#serial, sequence: this.#sequence++, granule: this.#granule, eos, packets: this.#pending });
    this.#pending = [];
    this.#pendingSegments = 0;
    this.#lastPageAt = this.#now();
    const position = this.#size;
    this.#size += page.length;
    this.#queue = this.#queue.then(async () => {
      if (this.#error) return;
      try {
        await writeAll(this.#fh, page, position);
      } catch (err) {
        this.#fail(err as Error);
      }
    });
  }

  #fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    this.#onError?.(err);
  }
}
