/**
 * Streaming, crash-tolerant Ogg Opus writer (RFC 7845). Packets are stored exactly as given; the writer
 * only frames them. Append-only: page N is never touched once written, so a crash leaves every complete
 * page valid (ogg-opus-reader.ts reads up to the last one, track-repair.ts finalises the file).
 *
 * Page layout: page 0 = OpusHead (BOS), page 1 = OpusTags, then audio pages holding whole packets only
 * (no packet spans pages), each with the granule position at its last packet's end (§4).
 *
 * A full disk (ENOSPC, EDQUOT) is not an error but a state: the page that did not fit is cut back off the file
 * (which so always ends at a complete page), pages wait in memory and are retried every flush interval, and once
 * the waiting audio exceeds `diskFullBufferMs` what comes next is kept only as its duration, written as exact
 * silence when the disk has room again, so the track stays aligned with the others.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { randomInt } from 'node:crypto';
import { openPrivate } from '../storage/private-files.ts';
import { buildOggPage, FLAG_EOS, headerPages, MAX_SEGMENTS, parseOggPage, resealOggPage, segmentsFor } from './ogg-page.ts';
import { buildOpusHead, buildOpusTags } from './opus-head.ts';
import { scanOggOpus } from './ogg-opus-reader.ts';
import { silencePackets } from './opus-silence.ts';
import { writeAll } from './write-all.ts';

/**
 * Half a second, so that a crash loses at most about 1 s of a speaker (issue 10: ≤ 1 s): with a page every second
 * the crash matrix lost 1.05–1.15 s on a starved machine (the page interval + the 80 ms reorder window + the
 * process's own delays). It costs one more page header a second: +27 bytes/s, about 0.3 % of speech.
 */
const PAGE_INTERVAL_MS = 500;

/** Writes all of `data` at `position` or rejects (write-all.ts); injected so that tests can fill the disk. */
export type PageWrite = (fh: FileHandle, data: Uint8Array, position: number) => Promise<void>;

/** The disk is full, or the quota used up: writes can succeed again once space is freed. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

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
  /**
   * A page is written at least this often while packets arrive (default PAGE_INTERVAL_MS): what a crash can
   * lose of a speaker, together with the reorder window and the process's own delays.
   */
  flushIntervalMs?: number;
  serial?: number;
  /**
   * Milliseconds, monotonic: the one clock the ≥1 page-per-interval rule reads (default performance.now()).
   * Injected so that tests drive time instead of waiting, and so a recording can share its own clock.
   */
  now?: () => number;
  /** Called once with the first I/O error (it is also kept in `error` and rejects flush/close). */
  onError?: (err: Error) => void;
  /** Called when writes start failing for a full disk (with that error), and when they succeed again. */
  onDiskFull?: (full: boolean, err?: Error) => void;
  /** Audio kept in memory while the disk is full, beyond which it becomes silence. Default 5000 ms. */
  diskFullBufferMs?: number;
  /** Default writeAll. */
  write?: PageWrite;
}

type WriterHooks = Pick<OggOpusWriterOptions, 'flushIntervalMs' | 'now' | 'onError' | 'onDiskFull' | 'diskFullBufferMs' | 'write'>;

/** Not on disk yet: a page's packets, or a stretch of audio dropped while the disk was full (silence). */
type Unwritten =
  | { kind: 'page'; packets: Buffer[]; samples: number; granule: number; eos: boolean }
  | { kind: 'gap'; samples: number }
  /** The header pages of a file created while the disk was full: written first, as soon as there is room. */
  | { kind: 'headers'; bytes: Buffer; pages: number; samples: 0 };

/** Silence packets per page when a gap is written: about a second each, like the pages of speech. */
const GAP_PACKETS_PER_PAGE = 8;

interface WriterInit {
  fh: FileHandle;
  path: string;
  serial: number;
  sequence: number;
  granule: number;
  preSkip: number;
  size: number;
  hooks: WriterHooks;
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
  /** Bytes on disk: the file ends at a complete page there, and the next page goes there. */
  #size: number;
  #pending: Buffer[] = [];
  #pendingSegments = 0;
  #pendingSamples = 0;
  /** In order, what is waiting to be written (more than one page only while the disk is full). */
  #unwritten: Unwritten[] = [];
  #diskFull: Error | null = null;
  #retry: NodeJS.Timeout | null = null;
  #droppedSamples = 0;
  #diskFullBufferSamples: number;
  #write: PageWrite;
  #onDiskFull: ((full: boolean, err?: Error) => void) | undefined;
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
    const hooks = init.hooks;
    this.#flushIntervalMs = hooks.flushIntervalMs ?? PAGE_INTERVAL_MS;
    this.#now = hooks.now ?? monotonicNow;
    this.#lastPageAt = this.#now();
    this.#onError = hooks.onError;
    this.#onDiskFull = hooks.onDiskFull;
    this.#diskFullBufferSamples = (hooks.diskFullBufferMs ?? 5000) * 48;
    this.#write = hooks.write ?? writeAll;
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
    const tagPages = headerPages(serial, 1, buildOpusTags(opts.vendor ?? 'roomrec', opts.comments ?? {}));
    const sequence = 1 + tagPages.length;
    const headers = Buffer.concat([head, ...tagPages]);
    const init = { fh, path: opts.path, serial, granule: 0, preSkip, hooks: opts };
    try {
      await (opts.write ?? writeAll)(fh, headers, 0);
    } catch (err) {
      // Torn headers (a full disk) would read as a corrupt file; an empty one reads as a track with no audio yet.
      await fh.truncate(0).catch(() => undefined);
      if (!isDiskFull(err)) {
        await fh.close();
        throw err;
      }
      // A speaker who consents while the disk is full is recorded like one who was talking when it filled: the
      // headers wait with the audio, in order, and everything is written once there is room.
      const writer = new OggOpusWriter({ ...init, sequence: 0, size: 0 });
      writer.#unwritten.push({ kind: 'headers', bytes: headers, pages: sequence, samples: 0 });
      await writer.#failedWrite(err as Error);
      return writer;
    }
    return new OggOpusWriter({ ...init, sequence, size: headers.length });
  }

  /**
   * Reopen a file written by this writer (possibly cut off by a crash): the torn tail is cut off, an EOS
   * flag from a clean close is cleared (the only rewrite: that page's flag byte and CRC), and the page
   * sequence and granule continue.
   */
  static async resume(path: string, opts: WriterHooks = {}): Promise<OggOpusWriter> {
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
      hooks: opts,
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

  /** The first I/O error, if any. A full disk is not one: see `diskFull`. */
  get error(): Error | null {
    return this.#error;
  }

  /** The write error while the disk is full, null once a page fits again. */
  get diskFull(): Error | null {
    return this.#diskFull;
  }

  /** Audio that did not fit in memory while the disk was full, written (or to be written) as silence. */
  get droppedSamples(): number {
    return this.#droppedSamples;
  }

  /** Append a packet lasting `samples` (48 kHz). Throws after close or after an I/O error. */
  writePacket(packet: Buffer, samples: number): void {
    if (this.#closed) throw new Error(`writer for ${this.path} is closed`);
    if (this.#error) throw this.#error;
    if (!Number.isInteger(samples) || samples <= 0) throw new RangeError(`packet duration must be a positive integer, got ${samples}`);
    const segments = segmentsFor(packet.length);
    if (segments > MAX_SEGMENTS) throw new RangeError(`packet of ${packet.length} bytes is larger than an Opus packet can be`);
    if (this.#diskFull && this.#waitingSamples() + samples > this.#diskFullBufferSamples) {
      this.#drop(samples);
      return;
    }
    // Emit before adding, so the newest packet is always pending and close() can carry EOS on it.
    if (
      this.#pending.length > 0 &&
      (this.#pendingSegments + segments > MAX_SEGMENTS || this.#now() - this.#lastPageAt >= this.#flushIntervalMs)
    ) {
      this.#emitPage(false);
    }
    this.#pending.push(Buffer.from(packet));
    this.#pendingSegments += segments;
    this.#pendingSamples += samples;
    this.#granule += samples;
    // The backstop for when packets stop arriving (a speaker falls silent): nothing but a timer can wake the
    // writer then, and "on disk within a second" is a promise about real time, so it runs on real time.
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      if (this.#pending.length > 0 && !this.#closed) this.#emitPage(false);
    }, this.#flushIntervalMs).unref();
  }

  /**
   * Write pending packets as a page and wait until the data is on disk. Rejects on any I/O error, and with the
   * disk's error while it is full (the pages wait in memory; a later flush writes them).
   */
  async flush(): Promise<void> {
    if (this.#pending.length > 0 && !this.#closed) this.#emitPage(false);
    else if (this.#unwritten.length > 0) this.#drain();
    await this.#queue;
    this.#throwIfFailed();
    await this.#fh.datasync().catch((err: Error) => this.#fail(err));
    this.#throwIfFailed();
  }

  /** The first I/O error, or the full disk's (read afresh: it may be set while we awaited). */
  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
    if (this.#diskFull) throw this.#diskFull;
  }

  /**
   * Write the final page with EOS and close the file. Rejects with the first I/O error, if any, or with the full
   * disk's when what waited could not all be written: the file then ends at its last complete page, without EOS
   * (track-repair.ts finalises it).
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (!this.#error) {
      if (this.#pending.length === 0) {
        this.#pending.push(EOS_FILLER);
        this.#pendingSegments = 1;
        this.#pendingSamples = 120;
        this.#granule += 120;
      }
      this.#emitPage(true);
    }
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = null;
    if (!this.#error) await this.#fh.datasync().catch((err: Error) => this.#fail(err));
    await this.#fh.close().catch((err: Error) => this.#fail(err));
    this.#throwIfFailed();
  }

  #emitPage(eos: boolean): void {
    this.#unwritten.push({ kind: 'page', packets: this.#pending, samples: this.#pendingSamples, granule: this.#granule, eos });
    this.#pending = [];
    this.#pendingSegments = 0;
    this.#pendingSamples = 0;
    this.#lastPageAt = this.#now();
    this.#drain();
  }

  /** Audio past the memory budget while the disk is full: only its duration is kept, to be written as silence. */
  #drop(samples: number): void {
    if (this.#pending.length > 0) this.#emitPage(false);
    const last = this.#unwritten.at(-1);
    if (last?.kind === 'gap') last.samples += samples;
    else this.#unwritten.push({ kind: 'gap', samples });
    this.#granule += samples;
    this.#droppedSamples += samples;
  }

  /** Samples not on disk yet that are kept as packets (what the memory budget bounds). */
  #waitingSamples(): number {
    return this.#unwritten.reduce((sum, u) => sum + (u.kind === 'page' ? u.samples : 0), this.#pendingSamples);
  }

  #drain(): void {
    this.#queue = this.#queue.then(() => this.#writeUnwritten());
  }

  /** Writes what waits, in order, until done or the disk is full (then retried in a flush interval). */
  async #writeUnwritten(): Promise<void> {
    while (this.#unwritten.length > 0 && !this.#error) {
      const next = this.#unwritten[0]!;
      let page: { bytes: Buffer; samples: number };
      try {
        page = this.#pageOf(next);
        await this.#write(this.#fh, page.bytes, this.#size);
      } catch (err) {
        await this.#failedWrite(err as Error);
        return;
      }
      this.#size += page.bytes.length;
      this.#sequence += next.kind === 'headers' ? next.pages : 1;
      if (next.kind !== 'gap' || page.samples === next.samples) this.#unwritten.shift();
      else next.samples -= page.samples;
      if (this.#diskFull) {
        this.#diskFull = null;
        this.#onDiskFull?.(false);
      }
    }
  }

  /** The next page to write for `u`: all of a page, the first ~second of a gap. */
  #pageOf(u: Unwritten): { bytes: Buffer; samples: number } {
    const common = { serial: this.#serial, sequence: this.#sequence };
    if (u.kind === 'headers') return { bytes: u.bytes, samples: 0 };
    if (u.kind === 'page')
      return { bytes: buildOggPage({ ...common, granule: u.granule, eos: u.eos, packets: u.packets }), samples: u.samples };
    const silence = silencePackets(u.samples).slice(0, GAP_PACKETS_PER_PAGE);
    const samples = silence.reduce((sum, p) => sum + p.samples, 0);
    const granule = this.#granuleOnDisk() + samples;
    return { bytes: buildOggPage({ ...common, granule, eos: false, packets: silence.map((p) => p.packet) }), samples };
  }

  /** The granule at the end of what is on disk: the current one less everything still waiting. */
  #granuleOnDisk(): number {
    return this.#unwritten.reduce((g, u) => g - u.samples, this.#granule - this.#pendingSamples);
  }

  async #failedWrite(err: Error): Promise<void> {
    if (!isDiskFull(err)) return this.#fail(err);
    // Part of the page may have reached the file: cut it off, so the file always ends at a complete page.
    try {
      await this.#fh.truncate(this.#size);
    } catch (truncateErr) {
      return this.#fail(truncateErr as Error);
    }
    if (!this.#diskFull) {
      this.#diskFull = err;
      this.#onDiskFull?.(true, err);
    }
    if (!this.#closed) {
      this.#retry ??= setTimeout(() => {
        this.#retry = null;
        // A closing writer has had its last try (close waits on the queue as it was).
        if (this.#unwritten.length > 0 && !this.#closed) this.#drain();
      }, this.#flushIntervalMs).unref();
    }
  }

  #fail(err: Error): void {
    if (this.#error) return;
    this.#error = err;
    this.#onError?.(err);
  }
}
