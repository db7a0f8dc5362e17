/**
 * The held-packets journal: a sidecar file `<track>.held` that makes durable what placement holds in memory.
 * Nothing of a stream's first clock is written to the track for `learnMs` (2 s, placement.ts), so a crash
 * then would take a speaker's first words with it. While a track holds packets, every packet it accepts is
 * appended here as soon as the last append is written (a write(2) survives a SIGKILL); once the hold ends and
 * the track's pages are on disk, the file is removed. A track resumed from disk (a room resumed after a
 * restart, or a recording finished from disk) replays it through the same placement from where the hold
 * began and writes what the track lacks (`replayHeld`).
 *
 * File layout (little-endian):
 *
 *   [magic "RRHJ"][record: start][record: packet][record: packet] ... [a torn last record, after a crash]
 *
 *   record:  +------------+------------+-------------------+
 *            | length u32 | crc32 u32  | body (length B)   |   crc32: zlib's CRC-32 of the body
 *            +------------+------------+-------------------+
 *   start  body:  kind=0 u8 | head f64 (track samples, pre-skip included) | startMs f64 (the track's start)
 *   packet body:  kind=1 u8 | arrivalMs f64 | hasRtp u8 | [sequence u16 | timestamp u32 | ssrc u32] | Opus bytes
 *
 * A record that is cut short or fails its CRC ends what is read: a crash tears at most the last one, and
 * nothing after damage can be trusted. It is reported, never thrown.
 */
import { rm, readFile, type FileHandle } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { opusPacketSamples } from '../audio/opus-packet.ts';
import { writeAll } from '../audio/write-all.ts';
import { openPrivate } from '../storage/private-files.ts';
import {
  placementReducer,
  resumedPlacement,
  SAMPLES_PER_MS,
  type PlacementConfig,
  type PlacementOutput,
  type RtpInfo,
} from './placement.ts';

const MAGIC = Buffer.from('RRHJ');
const RECORD_HEADER = 8;
const KIND_START = 0;
const KIND_PACKET = 1;
/** Far above any Opus packet (RFC 6716 §3.4: 120 ms of 1275-byte frames): a larger length is damage. */
const MAX_BODY = 1 << 16;

/** Where the hold began: the placement it is replayed from. */
export interface HeldStart {
  /** The track's placed end when the hold began (placement's `head`). */
  head: number;
  /** The track's start (consent, or resume, time): nothing that arrived before it is placed. */
  startMs: number;
}

export interface HeldPacket {
  arrivalMs: number;
  rtp?: RtpInfo | undefined;
  opus: Buffer;
}

export interface HeldJournalContents {
  /** Null when not even the first record is whole: nothing can be replayed. */
  start: HeldStart | null;
  packets: HeldPacket[];
  /** Bytes after the last whole record, left out. */
  ignoredBytes: number;
  /** Why they were left out (a torn record, a CRC failure), for the log. */
  problem: string | null;
}

/** The journal of the track at `trackPath`. */
export function heldJournalPath(trackPath: string): string {
  return `${trackPath}.held`;
}

function record(body: Buffer): Buffer {
  const header = Buffer.alloc(RECORD_HEADER);
  header.writeUInt32LE(body.length, 0);
  header.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

/** The file's first bytes: the magic and the start record. */
export function encodeHeldStart(start: HeldStart): Buffer {
  const body = Buffer.alloc(17);
  body.writeUInt8(KIND_START, 0);
  body.writeDoubleLE(start.head, 1);
  body.writeDoubleLE(start.startMs, 9);
  return Buffer.concat([MAGIC, record(body)]);
}

export function encodeHeldPacket(p: HeldPacket): Buffer {
  const fixed = Buffer.alloc(p.rtp ? 20 : 10);
  fixed.writeUInt8(KIND_PACKET, 0);
  fixed.writeDoubleLE(p.arrivalMs, 1);
  fixed.writeUInt8(p.rtp ? 1 : 0, 9);
  if (p.rtp) {
    fixed.writeUInt16LE(p.rtp.sequence & 0xffff, 10);
    fixed.writeUInt32LE(p.rtp.timestamp >>> 0, 12);
    fixed.writeUInt32LE(p.rtp.ssrc >>> 0, 16);
  }
  return record(Buffer.concat([fixed, p.opus]));
}

type Body = { kind: 'start'; start: HeldStart } | { kind: 'packet'; packet: HeldPacket };

function parseBody(body: Buffer): Body | null {
  const kind = body[0];
  if (kind === KIND_START && body.length === 17) {
    return { kind: 'start', start: { head: body.readDoubleLE(1), startMs: body.readDoubleLE(9) } };
  }
  if (kind !== KIND_PACKET || body.length < 10) return null;
  const arrivalMs = body.readDoubleLE(1);
  const hasRtp = body[9] === 1;
  if (hasRtp && body.length < 20) return null;
  const rtp = hasRtp ? { sequence: body.readUInt16LE(10), timestamp: body.readUInt32LE(12), ssrc: body.readUInt32LE(16) } : undefined;
  // A copy: the journal's buffer is not kept alive by one packet.
  const opus = Buffer.from(body.subarray(hasRtp ? 20 : 10));
  return { kind: 'packet', packet: { arrivalMs, ...(rtp && { rtp }), opus } };
}

/** Reads a journal's bytes: every whole record up to the first that is torn or damaged. */
export function decodeHeldJournal(bytes: Buffer): HeldJournalContents {
  const out: HeldJournalContents = { start: null, packets: [], ignoredBytes: 0, problem: null };
  const stop = (at: number, problem: string): HeldJournalContents => ({ ...out, ignoredBytes: bytes.length - at, problem });
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    return bytes.length === 0 ? out : stop(0, 'not a held-packets journal (no magic)');
  }
  for (let at = MAGIC.length; at < bytes.length;) {
    if (bytes.length - at < RECORD_HEADER) return stop(at, `torn record header at byte ${at}`);
    const length = bytes.readUInt32LE(at);
    if (length === 0 || length > MAX_BODY) return stop(at, `impossible record length ${length} at byte ${at}`);
    if (bytes.length - at - RECORD_HEADER < length) return stop(at, `torn record at byte ${at}`);
    const body = bytes.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length);
    if (crc32(body) !== bytes.readUInt32LE(at + 4)) return stop(at, `CRC failure in the record at byte ${at}`);
    const parsed = parseBody(body);
    const expected = out.start === null ? 'start' : 'packet';
    if (parsed?.kind !== expected) return stop(at, `unexpected record at byte ${at}`);
    if (parsed.kind === 'start') out.start = parsed.start;
    else out.packets.push(parsed.packet);
    at += RECORD_HEADER + length;
  }
  return out;
}

/** The journal of `trackPath` as on disk; null when there is none. */
export async function readHeldJournal(trackPath: string): Promise<HeldJournalContents | null> {
  const bytes = await readFile(heldJournalPath(trackPath)).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  });
  return bytes && decodeHeldJournal(bytes);
}

/** Recording ms where the audio a journal holds ends (its last arrival, plus that packet): 0 when it holds none. */
export function heldEndMs(journal: HeldJournalContents): number {
  let end = 0;
  for (const p of journal.packets) end = Math.max(end, p.arrivalMs + (opusPacketSamples(p.opus) ?? 0) / SAMPLES_PER_MS);
  return end;
}

/** What to append to a track whose pages on disk end at some position: silence, or a packet, in order. */
export type HeldWrite = { kind: 'silence'; samples: number } | { kind: 'packet'; samples: number; payload: Buffer };

/**
 * The journal's packets placed as the track that held them would have placed them (the same reducer, from where
 * the hold began, released once every packet is in), as appends to a track whose pages end at `diskHead`: what
 * the disk already holds (pages written before the crash, or after the hold ended) is skipped, and a slot only
 * partly on disk becomes silence, so the track never overlaps itself. `head` is the track's end afterwards.
 */
export function replayHeld(
  journal: HeldJournalContents,
  diskHead: number,
  config: Partial<PlacementConfig> = {},
): { writes: HeldWrite[]; head: number } {
  if (!journal.start) return { writes: [], head: diskHead };
  let state = resumedPlacement<Buffer>(journal.start.head, journal.start.startMs, config);
  const placed: PlacementOutput<Buffer>[] = [];
  for (const p of journal.packets) {
    const samples = opusPacketSamples(p.opus);
    if (samples === null) continue;
    const step = placementReducer(state, { type: 'packet', arrivalMs: p.arrivalMs, samples, rtp: p.rtp, bytes: p.opus, payload: p.opus });
    state = step.state;
    placed.push(...step.out);
  }
  // Once its stream's clock is learned and its reorder window passed, every packet is released.
  const { learnMs, reorderWindowMs } = state.config;
  placed.push(...placementReducer(state, { type: 'tick', nowMs: state.nowMs + learnMs + reorderWindowMs + 1 }).out);
  const writes: HeldWrite[] = [];
  let at = diskHead;
  for (const o of placed) {
    if (o.kind !== 'silence' && o.kind !== 'packet') continue;
    const end = o.pos + o.samples;
    if (end <= at) continue;
    if (o.kind === 'packet' && o.pos >= at) {
      if (o.pos > at) writes.push({ kind: 'silence', samples: o.pos - at });
      writes.push({ kind: 'packet', samples: o.samples, payload: o.payload });
    } else writes.push({ kind: 'silence', samples: end - at });
    at = end;
  }
  return { writes, head: at };
}

export interface JournalLog {
  warn(o: object, m?: string): void;
}

/**
 * One hold's journal being written: created (0600) when the hold begins, appended to while it lasts, removed
 * once what it held is on the track's disk. Appends are written as soon as the previous write is done, all that
 * came meanwhile in one write. Never throws: an I/O error is logged once and ends this journal's writes (the
 * track itself goes on; only a crash before the hold ends would then lose its first words).
 */
export class HeldJournal {
  readonly path: string;
  #log: JournalLog | undefined;
  #queue: Promise<void>;
  #fh: FileHandle | null = null;
  #size = 0;
  #buffered: Buffer[] = [];
  #writeQueued = false;
  #failed = false;

  /** Starts a journal once `after` (the previous journal of the same track, going away) has settled. */
  constructor(trackPath: string, start: HeldStart, after: Promise<void>, log?: JournalLog) {
    this.path = heldJournalPath(trackPath);
    this.#log = log;
    this.#buffered.push(encodeHeldStart(start));
    this.#queue = after.then(() =>
      this.#attempt('create', async () => {
        this.#fh = await openPrivate(this.path, 'w');
      }),
    );
    this.#queueWrite();
  }

  append(packet: HeldPacket): void {
    if (this.#failed) return;
    this.#buffered.push(encodeHeldPacket(packet));
    this.#queueWrite();
  }

  /** Settles once everything appended so far is written (or could not be). */
  written(): Promise<void> {
    return this.#queue;
  }

  /**
   * After what was appended is written, and `onDisk` says the track holds it all (its pages written), the
   * journal is closed and removed; it stays (and is replayed harmlessly, as it is on the track) when not.
   */
  end(onDisk: () => Promise<boolean>): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      const remove = await onDisk().catch(() => false);
      await this.#attempt('close', async () => {
        await this.#fh?.close();
        this.#fh = null;
        if (remove) await rm(this.path, { force: true });
      });
    });
    return this.#queue;
  }

  #queueWrite(): void {
    if (this.#writeQueued) return;
    this.#writeQueued = true;
    this.#queue = this.#queue.then(() => {
      this.#writeQueued = false;
      const data = Buffer.concat(this.#buffered);
      this.#buffered = [];
      return this.#attempt('write', async () => {
        if (!this.#fh || data.length === 0) return;
        await writeAll(this.#fh, data, this.#size);
        this.#size += data.length;
      });
    });
  }

  async #attempt(what: string, work: () => Promise<void>): Promise<void> {
    if (this.#failed && what !== 'close') return;
    try {
      await work();
    } catch (err) {
      if (!this.#failed) this.#log?.warn({ path: this.path, err }, `could not ${what} the held-packets journal`);
      this.#failed = true;
      this.#buffered = [];
    }
  }
}
