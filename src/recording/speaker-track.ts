/**
 * One consenting speaker's track: received Opus packets -> validated -> placed in time (placement.ts) ->
 * gaps filled with Opus silence -> Ogg Opus file (ogg-opus-writer.ts). Packets are stored as received.
 * While placement holds a new stream's first packets (learning its clock), they are journaled beside the track
 * (held-journal.ts), so that a crash then loses no more than at any other moment.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isDiskFull, OggOpusWriter, type OggOpusWriterOptions } from '../audio/ogg-opus-writer.ts';
import { MediaFormatError } from '../audio/ogg-opus-reader.ts';
import { opusPacketSamples } from '../audio/opus-packet.ts';
import { silencePackets } from '../audio/opus-silence.ts';
import { HeldJournal, heldJournalPath, readHeldJournal, replayHeld } from './held-journal.ts';
import {
  initialPlacement,
  isHolding,
  msToGrid,
  SAMPLES_PER_MS,
  placementReducer,
  resumedPlacement,
  type PlacementEvent,
  type PlacementState,
  type PlacementStep,
  type RtpInfo,
} from './placement.ts';
import { countSequence, lostFrames, NO_SEQUENCE_LOSS, type SequenceLoss } from './rtp-loss.ts';

export interface ReceivedPacket {
  opus: Buffer;
  /** ms since the recording's time zero, from the recording's injected clock. */
  arrivalMs: number;
  /** Present when the voice layer exposes the RTP header. */
  rtp?: RtpInfo;
}

export interface TrackLog {
  debug(o: object, m?: string): void;
  warn(o: object, m?: string): void;
}

export interface SpeakerTrackOptions {
  path: string;
  recordingId: string;
  userId: string;
  speakerName: string;
  /** Recording-relative time the track begins (consent time); silence is written from 0 to here. */
  startMs: number;
  /** More OpusTags comments for a new track's header (the speaker's choice of reuse, consent-choice.ts). */
  comments?: Record<string, string>;
  /** Default 80. */
  reorderWindowMs?: number;
  log?: TrackLog;
  /**
   * Told when the disk fills (writes fail with ENOSPC or EDQUOT) and when the track is written again. Meanwhile
   * a few seconds wait in memory (`diskFullBufferMs`), then the audio becomes silence: the track stays aligned.
   */
  onDiskFull?: OggOpusWriterOptions['onDiskFull'];
  diskFullBufferMs?: number;
  /** The file-system write; injected by tests to fill the disk. */
  write?: OggOpusWriterOptions['write'];
}

export interface SpeakerTrackStats {
  /** Frames handed to the track (push), whatever became of them. */
  received: number;
  /**
   * Frames that never reached the track, by gaps in their RTP sequence (rtp-loss.ts): lost on the way, or a
   * datagram the voice layer could not decrypt. Frames that came without a header cannot be told apart from
   * the gaps they sit in, so each one is taken off the count: it errs low, never high.
   */
  lost: number;
  written: number;
  silenceSamples: number;
  dropped: { invalid: number; duplicate: number; late: number };
  reordered: number;
  /** Audio that did not fit in memory while the disk was full: written as silence (ogg-opus-writer.ts). */
  diskFullSamples: number;
}

export class SpeakerTrack {
  readonly path: string;
  #writer: OggOpusWriter;
  #state: PlacementState<Buffer>;
  #log: TrackLog | undefined;
  #write: SpeakerTrackOptions['write'];
  #stats: Omit<SpeakerTrackStats, 'lost' | 'diskFullSamples'> = {
    received: 0,
    written: 0,
    silenceSamples: 0,
    dropped: { invalid: 0, duplicate: 0, late: 0 },
    reordered: 0,
  };
  #sequence: SequenceLoss = NO_SEQUENCE_LOSS;
  /** Frames that came without an RTP header (see `lost`). */
  #bare = 0;
  #error: Error | null = null;
  #closed = false;
  #startMs: number;
  /** The journal of the packets placement holds right now, if it holds any. */
  #journal: HeldJournal | null = null;
  /** Settles once the journal of the last hold has been dealt with (removed, or kept). */
  #journalGone: Promise<void> = Promise.resolve();

  private constructor(writer: OggOpusWriter, state: PlacementState<Buffer>, opts: SpeakerTrackOptions) {
    this.path = opts.path;
    this.#writer = writer;
    this.#state = state;
    this.#log = opts.log;
    this.#write = opts.write;
    this.#startMs = opts.startMs;
  }

  static async create(opts: SpeakerTrackOptions): Promise<SpeakerTrack> {
    // A journal with no track beside it belongs to nothing that is still there.
    await rm(heldJournalPath(opts.path), { force: true });
    const writer = await OggOpusWriter.create({
      ...writerHooks(opts),
      path: opts.path,
      channels: 2,
      comments: {
        TITLE: `${opts.speakerName} (recording ${opts.recordingId})`,
        ARTIST: opts.speakerName,
        ROOMREC_RECORDING: opts.recordingId,
        ROOMREC_USER: opts.userId,
        ...opts.comments,
      },
    });
    const track = new SpeakerTrack(writer, initialPlacement<Buffer>(opts.startMs, config(opts)), opts);
    track.#writeSilence(msToGrid(Math.max(0, opts.startMs)));
    // A disk that fills just now is waited out like any other moment (the headers are on disk).
    await track.#writer.flush().catch((err: unknown) => {
      if (!isDiskFull(err)) throw err;
    });
    return track;
  }

  /**
   * Continue an existing track after a bot restart (a torn tail from a crash is cut off); the downtime
   * becomes silence when the next packet arrives. What a crash caught held in memory (its journal) is
   * written first, where it would have gone. Starts a new file when none exists, or when the crash came
   * before the headers were complete (then no audio was in it).
   */
  static async resume(opts: SpeakerTrackOptions): Promise<SpeakerTrack> {
    if (!existsSync(opts.path)) return SpeakerTrack.create(opts);
    let writer: OggOpusWriter;
    try {
      writer = await OggOpusWriter.resume(opts.path, writerHooks(opts));
    } catch (err) {
      if (hasNoHeaders(err)) {
        opts.log?.warn({ path: opts.path, err: err.message }, 'track had no complete headers; starting it again');
        await rm(opts.path);
        return SpeakerTrack.create(opts);
      }
      throw err;
    }
    const track = new SpeakerTrack(writer, resumedPlacement<Buffer>(writer.granulePosition, opts.startMs, config(opts)), opts);
    await track.#replayHeld(config(opts));
    const head = track.#state.head;
    const start = msToGrid(Math.max(0, opts.startMs));
    if (start > head) {
      track.#writeSilence(start - head);
      track.#state = { ...track.#state, head: start };
    }
    return track;
  }

  /** Writes the packets the journal beside the track holds (a crash came during a hold), then removes it. */
  async #replayHeld(placement: { reorderWindowMs?: number }): Promise<void> {
    const file = heldJournalPath(this.path);
    const journal = await readHeldJournal(this.path).catch((err: unknown) => {
      this.#log?.warn({ path: file, err }, 'could not read the held-packets journal; its packets are lost');
      return null;
    });
    if (journal?.problem) {
      this.#log?.warn(
        { path: file, problem: journal.problem, ignoredBytes: journal.ignoredBytes },
        'ignored the end of the held-packets journal',
      );
    }
    if (journal) {
      const { writes, head } = replayHeld(journal, this.#state.head, placement);
      for (const w of writes) {
        if (w.kind === 'silence') this.#writeSilence(w.samples);
        else {
          this.#writer.writePacket(w.payload, w.samples);
          this.#stats.written++;
        }
      }
      this.#state = { ...this.#state, head };
      this.#log?.debug({ path: file, packets: journal.packets.length }, 'wrote the packets held when the bot stopped');
      // Until they are on disk, the journal still holds them (replaying it again skips what the track has).
      const onDisk = await this.#writer.flush().then(
        () => true,
        (err: unknown) => {
          if (!isDiskFull(err)) throw err;
          return false;
        },
      );
      if (!onDisk) return;
    }
    await rm(file, { force: true }).catch((err: unknown) => {
      this.#log?.warn({ path: file, err }, 'could not remove the held-packets journal');
    });
  }

  /** Never throws: invalid Opus is dropped and counted; an I/O error is kept and logged, a full disk waited out. */
  push(p: ReceivedPacket): void {
    if (this.#closed) return;
    this.#stats.received++;
    const samples = Buffer.isBuffer(p.opus) ? opusPacketSamples(p.opus) : null;
    if (samples === null || !Number.isFinite(p.arrivalMs)) {
      this.#stats.dropped.invalid++;
      this.#log?.debug({ path: this.path, bytes: Buffer.isBuffer(p.opus) ? p.opus.length : null }, 'dropped an invalid Opus packet');
      // It did arrive: its sequence number is no gap.
      this.#arrived(p.rtp);
      return;
    }
    const decision = this.#apply({ type: 'packet', arrivalMs: p.arrivalMs, samples, rtp: p.rtp, bytes: p.opus, payload: p.opus });
    if (decision?.kind === 'accepted') this.#journal?.append(p);
    if (decision?.kind !== 'dropped' || decision.reason !== 'duplicate') this.#arrived(p.rtp);
  }

  #arrived(rtp: RtpInfo | undefined): void {
    if (rtp) this.#sequence = countSequence(this.#sequence, rtp);
    else this.#bare++;
  }

  /** Let the arrival clock move without a packet (call every few hundred ms) so a spurt's end is written promptly. */
  tick(nowMs: number): void {
    if (!this.#closed) this.#apply({ type: 'tick', nowMs });
  }

  /**
   * Put everything placed so far on disk, and what placement holds in its journal (the writer also does this by
   * itself at least every half second, the journal as soon as a packet is held).
   */
  async flush(): Promise<void> {
    await this.#writer.flush();
    await this.#journalGone;
    await this.#journal?.written();
    if (this.#error) throw this.#error;
  }

  stats(): SpeakerTrackStats {
    const lost = Math.max(0, lostFrames(this.#sequence) - this.#bare);
    return { ...this.#stats, lost, dropped: { ...this.#stats.dropped }, diskFullSamples: this.#writer.droppedSamples };
  }

  get error(): Error | null {
    return this.#error ?? this.#writer.error;
  }

  /**
   * Flush the reorder window, pad silence to endMs, write EOS. When that cannot all be written (a write failed,
   * the disk is still full), the track is finalised from what is on disk, as after a crash: it ends earlier, but
   * whole; if even its end page does not fit, it ends at its last whole page, which the mixer reads. Never
   * rejects for I/O.
   */
  async close(endMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The end of the last hold's journal flushes the writer: done before the track's last page is begun, which
    // that flush would otherwise write as a page of its own (the end page then needing a filler packet).
    await this.#journalGone;
    // Pad past endMs by the pre-skip so the decoded track (pre-skip removed) lasts endMs.
    this.#apply({ type: 'end', endMs: endMs + this.#writer.preSkip / SAMPLES_PER_MS });
    const failed = await this.#writer.close().then(
      () => this.#error,
      (err: unknown) => this.#error ?? (err as Error),
    );
    // Whatever became of the track, it is final now: a journal beside it would only be replayed into it later.
    await this.#journal?.end(() => Promise.resolve(true));
    await rm(heldJournalPath(this.path), { force: true }).catch((err: unknown) => {
      this.#log?.warn({ path: this.path, err }, 'could not remove the held-packets journal');
    });
    if (!failed) return;
    this.#log?.warn({ path: this.path, err: failed }, 'the track could not be closed; finalising it from what is on disk');
    try {
      // As after a crash (finishInterrupted): reopened, any torn tail cut off, and closed with an end page.
      const writer = await OggOpusWriter.resume(this.path, this.#write ? { write: this.#write } : {});
      await writer.close();
    } catch (repairErr) {
      // A disk still full may refuse even the small end page: the file still ends at a whole page.
      this.#log?.warn({ path: this.path, err: repairErr }, 'could not add the end page to the track');
    }
  }

  #apply(event: PlacementEvent<Buffer>): PlacementStep<Buffer>['decision'] {
    if (this.#error) return undefined;
    const step = placementReducer(this.#state, event);
    this.#state = step.state;
    if (step.decision?.kind === 'dropped') this.#stats.dropped[step.decision.reason]++;
    if (step.decision?.kind === 'accepted' && step.decision.reordered) this.#stats.reordered++;
    try {
      for (const o of step.out) {
        if (o.kind === 'silence') this.#writeSilence(o.samples);
        else if (o.kind === 'late') this.#stats.dropped.late++;
        else if (o.kind === 'packet') {
          this.#writer.writePacket(o.payload, o.samples);
          this.#stats.written++;
        }
      }
    } catch (err) {
      this.#error = err as Error;
      this.#log?.warn({ path: this.path, err }, 'writing the track failed');
    }
    this.#journalHold();
    return step.decision;
  }

  /** A hold begins: its journal is created; it ends: once the track's pages are on disk, the journal goes. */
  #journalHold(): void {
    // Closing: the track is final once its writer is closed, and close() removes the journal then.
    if (this.#closed) return;
    const holding = isHolding(this.#state);
    if (holding && !this.#journal) {
      this.#journal = new HeldJournal(this.path, { head: this.#state.head, startMs: this.#startMs }, this.#journalGone, this.#log);
    } else if (!holding && this.#journal) {
      const journal = this.#journal;
      this.#journal = null;
      this.#journalGone = journal.end(() =>
        this.#writer.flush().then(
          () => true,
          () => false,
        ),
      );
    }
  }

  #writeSilence(samples: number): void {
    for (const s of silencePackets(samples)) this.#writer.writePacket(s.packet, s.samples);
    this.#stats.silenceSamples += samples;
  }
}

/** Deletes a track and the held-packets journal that may be beside it. */
export async function removeTrackFiles(file: string): Promise<void> {
  await Promise.all([rm(file, { force: true }), rm(heldJournalPath(file), { force: true })]);
}

/** The track's file was cut off (a crash, a full disk) before its headers were whole: no audio is in it. */
export function hasNoHeaders(err: unknown): err is MediaFormatError {
  return err instanceof MediaFormatError && /before the Opus headers are complete|empty file/.test(err.message);
}

function writerHooks(opts: SpeakerTrackOptions): Pick<OggOpusWriterOptions, 'onDiskFull' | 'diskFullBufferMs' | 'write'> {
  const { onDiskFull, diskFullBufferMs, write } = opts;
  return { ...(onDiskFull && { onDiskFull }), ...(diskFullBufferMs !== undefined && { diskFullBufferMs }), ...(write && { write }) };
}

function config(opts: SpeakerTrackOptions): { reorderWindowMs?: number } {
  return opts.reorderWindowMs === undefined ? {} : { reorderWindowMs: opts.reorderWindowMs };
}
