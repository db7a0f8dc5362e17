// One room being recorded: consent in and out, a track per consenting speaker, the voice connection kept alive,
// auto-stop conditions, and stop → mix → ready. Composes the pieces; owns no Discord UI (the bot layer posts
// messages and reads reactions, then calls grantConsent / withdrawConsent / setHumansInRoom / stop).
//
// Time: one recording clock (ms since time zero) derived from the injected monotonic clock. Time zero is
// anchored to wall time once, at start (startedAt, stored) or at resume (startedAt read back), so a restart
// continues on the same time base: the downtime becomes silence and every track stays aligned.
//
// Consent-first: nobody is subscribed to the voice receiver before their consent is stored; a withdrawal
// unsubscribes synchronously; a resumed room subscribes only those whose ✅ is still there.
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { entersState, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { mixTracks } from '../audio/mixer.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { createKeyedMutex, type KeyedMutex } from '../storage/keyed-mutex.ts';
import { mkdirPrivate } from '../storage/private-files.ts';
import type { NewRecording, Note, Recording, Store } from '../storage/store.ts';
import type { BackgroundWork } from './background-work.ts';
import { recordingClock, type Clock } from './clock.ts';
import { autoStopDue, type AutoStopReason } from './room-autostop.ts';
import { consentingSpeakers, findSpeaker, missingConsentEvents, withGrant, withWithdrawal } from './room-speakers.ts';
import { agreementOf, reuseComments, withAgreement } from './consent-choice.ts';
import { refusedForDave, watchVoice, type RejoinPolicy, type VoiceChange, type VoiceWatch } from './room-voice.ts';
import { lastSignOfLife, withdrawWhileAway } from './room-downtime.ts';
import { RoomLiveMix, type LiveMixSettings, type LiveMixStatus } from './room-live-mix.ts';
import { removeTrackFiles, SpeakerTrack, type ReceivedPacket, type SpeakerTrackOptions, type SpeakerTrackStats } from './speaker-track.ts';
import { DiskFullWatch, type DiskFullChange, type DiskFullSpan } from './disk-full.ts';
import {
  discardLiveMix,
  runStopPipeline,
  type MixFunction,
  type StopOutcome,
  type StopPipelineDeps,
  type StopProgress,
} from './stop-pipeline.ts';
import type { StopReason } from './recording-state.ts';
import { lifecycleOf, nextLifecycle, type RoomLifecycle, type RoomLifecycleEvent } from './room-lifecycle.ts';
import { createVoiceReceive, type ReceiveStats, type ReceiveSubscription, type VoiceReceive } from './voice-receive.ts';
import { readE2ee, waitForE2eeGroup, type E2eeState } from './voice-e2ee.ts';
import { e2eeAtStart, observeE2ee, type StoredE2ee } from './e2ee-record.ts';
import { addStats, NO_STATS, statsOf, withSpeakerStats, type SpeakerStats } from './speaker-integrity.ts';

export interface RoomDeps {
  store: Store;
  /** Monotonic milliseconds (clock.ts); the room's recording clock is derived from it. */
  clock: Clock;
  /** Epoch milliseconds, read once at start and at resume to anchor time zero. Default Date.now. */
  wallNow?: () => number;
  log: Logger;
  config: Pick<Config, 'recording' | 'mix' | 'retention'>;
  /** Default: the project's mixer. */
  mix?: MixFunction;
  rejoin?: RejoinPolicy;
  /**
   * How long start/resume wait for the voice connection to be ready, and then as long again for the bot to join
   * the room's end-to-end encryption group when it has one. Default 20 s.
   */
  readyTimeoutMs?: number;
  /** How often open tracks are told the time (so a spurt's end is written promptly) and auto-stop is checked. */
  tickMs?: number;
  /**
   * How often the speakers' integrity figures are stored while recording, so a crash loses at most this much of
   * them (a resumed recording counts on from what was stored). Default 10 s.
   */
  statsCheckpointMs?: number;
  /**
   * Mix while the room runs, so a stop only mixes the last seconds (room-live-mix.ts). Default on, unless a
   * custom `mix` is given (then that function makes the mix). `false` turns it off.
   */
  liveMix?: false | LiveMixSettings;
  /** The tracks' file-system write (speaker-track.ts); injected by tests to fill the disk. */
  trackWrite?: SpeakerTrackOptions['write'];
  /** Where what is made after a recording is ready runs (the levelled mix); absent: the stop waits for it. */
  background?: BackgroundWork;
}

interface RoomSpeakerStatus {
  userId: string;
  name: string;
  /** Being recorded right now. */
  recording: boolean;
  consentedAt: number;
  withdrawnAt?: number;
  includeInMix: boolean;
  trackFile: string;
  bytes: number;
  track?: SpeakerTrackStats;
  receive?: ReceiveStats;
  /** Integrity figures over all of their track so far (speaker-integrity.ts), what the stop stores. */
  stats: SpeakerStats;
}

export interface RoomStatus {
  recordingId: string;
  state: Recording['state'];
  startedAt: number;
  durationMs: number;
  voice: VoiceConnectionStatus;
  reconnects: number;
  humansInRoom: number | undefined;
  speakers: RoomSpeakerStatus[];
  bytes: number;
  /** Over every subscription of the room: packets delivered, paired with RTP, malformed and dropped. */
  receive: ReceiveStats;
  /** The mix being made while the room runs, when on. */
  liveMix?: LiveMixStatus;
  /** End-to-end encryption: the current voice privacy code and transitions so far; null when the room is not E2EE. */
  e2ee: StoredE2ee;
}

export type RoomEvents = {
  /** Who is being recorded changed (the bot updates the consent message). */
  speakers: [speakers: { userId: string; name: string; reuse: boolean }[]];
  /** A note was added (the bot updates the consent message). */
  notes: [notes: readonly Note[]];
  /** The room should stop; the bot calls stop(reason) and tells the host why. Emitted once per room. */
  autoStop: [reason: LostReason];
  voice: [change: VoiceChange];
  stopped: [outcome: StopOutcome];
  /** Each step of the room's life (room-lifecycle.ts), as it happens. */
  lifecycle: [life: RoomLifecycle];
  /** The disk filled (tracks wait, then record silence) or has room again (disk-full.ts). */
  diskFull: [change: DiskFullChange];
};

class RoomNotRecordingError extends Error {
  constructor(recordingId: string, what: string) {
    super(`recording ${recordingId} is no longer recording: cannot ${what}`);
    this.name = 'RoomNotRecordingError';
  }
}

export class VoiceNotReadyError extends Error {
  constructor(timeoutMs: number, options?: ErrorOptions) {
    super(`the voice connection did not become ready within ${timeoutMs / 1000} s`, options);
    this.name = 'VoiceNotReadyError';
  }
}

interface LiveSpeaker {
  name: string;
  /** Undefined until their consent is stored. */
  subscription: ReceiveSubscription | undefined;
  /** Undefined while the track is being opened; packets wait in `queue` meanwhile (memory only). */
  track: SpeakerTrack | undefined;
  queue: ReceivedPacket[];
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
/** How often every open track is ticked, so a talk spurt's end is written without waiting for the next packet. */
export const DEFAULT_TICK_MS = 200;
const DEFAULT_STATS_CHECKPOINT_MS = 10_000;

/** Why a room stops by itself. */
type LostReason = AutoStopReason | 'voice-lost' | 'e2ee-lost';

export class RoomRecorder extends EventEmitter<RoomEvents> {
  readonly id: string;
  readonly startedAt: number;
  #recording: Recording;
  #deps: RoomDeps;
  #log: Logger;
  /** ms since time zero */
  #now: Clock;
  #connection: VoiceConnection;
  #receive: VoiceReceive;
  #voiceWatch: VoiceWatch;
  #speakers = new Map<string, LiveSpeaker>();
  #mutex: KeyedMutex = createKeyedMutex();
  #inFlight = new Set<Promise<unknown>>();
  #ticker: NodeJS.Timeout;
  #humans: number | undefined;
  #emptySinceMs: number | undefined;
  /** Moved only by #advance. A recorder exists once the room is audible, so it starts out recording. */
  #life: RoomLifecycle = { phase: 'recording' };
  #autoStopSent = false;
  #reconnects = 0;
  #stopping: Promise<StopOutcome> | undefined;
  #liveMix: RoomLiveMix | null;
  /** Per speaker, the figures of stretches of their track already closed (a withdrawal, a previous process). */
  #banked = new Map<string, SpeakerStats>();
  #e2ee: StoredE2ee;
  /** Recording ms of the last figures checkpoint, and whether one is being written. */
  #checkpointedAtMs = 0;
  #checkpointing = false;
  #onTransitioned = (): void => this.#observeE2ee(true);
  /** Recording ms since when a ready E2EE connection has had no group (it cannot decrypt anyone). */
  #outOfGroupSinceMs: number | undefined;
  #diskFull = new DiskFullWatch();

  /** Waits for the voice connection, then creates the recording: its time zero is now. */
  static async start(opts: { meta: Omit<NewRecording, 'startedAt'>; connection: VoiceConnection; deps: RoomDeps }): Promise<RoomRecorder> {
    const { deps } = opts;
    // Nothing is created until the bot can hear the room: a refusal (E2eeJoinError) leaves no recording behind.
    const e2ee = await waitAudible(opts.connection, deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    const zero = deps.clock.now();
    const startedAt = (deps.wallNow ?? Date.now)();
    const recording = await deps.store.createRecording({ ...opts.meta, startedAt, e2ee: e2eeAtStart(e2ee) });
    return new RoomRecorder(recording, opts.connection, deps, zero);
  }

  /**
   * Continues a recording the bot was running when it stopped (state 'recording' in the store), on the same
   * time base: the time the bot was away is silence. `consenting` is who still reacts with ✅ now, read by the
   * bot BEFORE calling this: a stored speaker missing from it withdrew while the bot was down, and that is
   * stored (room-downtime.ts) before anyone is subscribed, so not one packet of theirs is kept after the crash.
   * Only speakers whose stored consent stands and who are in `consenting` are subscribed.
   */
  static async resume(opts: {
    recording: Recording;
    consenting: ReadonlySet<string>;
    connection: VoiceConnection;
    deps: RoomDeps;
  }): Promise<RoomRecorder> {
    const { deps } = opts;
    if (lifecycleOf(opts.recording).phase !== 'recording') {
      throw new Error(`recording ${opts.recording.id} is ${opts.recording.state}, only a recording in progress can resume`);
    }
    const wallNow = deps.wallNow ?? Date.now;
    await restoreConsentLog(opts.recording, deps);
    const recording = await withdrawWhileAway(opts.recording, opts.consenting, {
      store: deps.store,
      log: deps.log,
      now: wallNow(),
      deleteWithdrawnTracks: deps.config.recording.deleteWithdrawnTracks,
    });
    // Failing here (voice, or the encryption group) leaves the stored recording 'recording': it can be resumed
    // again or finished from disk.
    const e2ee = await waitAudible(opts.connection, deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    // The new connection's privacy code joins the stored ones (null and unknown stay as they are).
    const observed = observeE2ee(recording.e2ee, e2ee, { at: wallNow(), transition: false });
    const resumed = observed ? await deps.store.updateRecording(recording.id, (r) => ({ ...r, e2ee: observed })) : recording;
    const zero = deps.clock.now() - (wallNow() - resumed.startedAt);
    const room = new RoomRecorder(resumed, opts.connection, deps, zero);
    room.#log.info({ elapsedMs: Math.round(room.#now.now()) }, 'resuming a recording');
    try {
      for (const s of consentingSpeakers(resumed)) {
        if (opts.consenting.has(s.userId)) await room.#track(room.#begin(s.userId, s.name));
      }
    } catch (error) {
      // The stored recording stays 'recording': finishInterrupted (or another resume) can still complete it.
      room.#halt();
      throw error;
    }
    room.#syncLiveMix();
    if (room.#speakers.size > 0) room.emit('speakers', room.recordingSpeakers());
    return room;
  }

  private constructor(recording: Recording, connection: VoiceConnection, deps: RoomDeps, zero: number) {
    super();
    this.id = recording.id;
    this.startedAt = recording.startedAt;
    this.#recording = recording;
    this.#deps = deps;
    this.#log = deps.log.child({ recordingId: recording.id });
    this.#now = recordingClock(deps.clock, zero);
    this.#connection = connection;
    this.#receive = createVoiceReceive(connection, { clock: this.#now, log: this.#log });
    this.#voiceWatch = watchVoice(connection, {
      log: this.#log,
      policy: deps.rejoin,
      onChange: (change) => this.#onVoice(change),
    });
    const live = deps.liveMix ?? (deps.mix ? false : {});
    const format = deps.config.mix.format;
    this.#liveMix =
      live === false
        ? null
        : new RoomLiveMix({
            ...live,
            output: deps.store.layout.mixFile(recording.id, format),
            format,
            tags: { ROOMREC_RECORDING: recording.id },
            now: () => this.#now.now(),
            log: this.#log,
          });
    this.#ticker = setInterval(() => this.#tick(), deps.tickMs ?? DEFAULT_TICK_MS);
    // Figures stored before (a resumed recording) are carried on, not counted again from zero.
    for (const s of recording.speakers) if (s.stats) this.#banked.set(s.userId, s.stats);
    this.#e2ee = recording.e2ee;
    connection.on('transitioned', this.#onTransitioned);
    // A transition between joining the group and this listener would otherwise go unseen until the next one.
    this.#observeE2ee(false);
  }

  /** Where the room is in its life (room-lifecycle.ts); 'stopped' once the stop pipeline is done. */
  get lifecycle(): RoomLifecycle {
    return this.#life;
  }

  get #recordingNow(): boolean {
    return this.#life.phase === 'recording';
  }

  /** The one place the room's life moves; every listener of 'lifecycle' sees each step. */
  #advance(event: RoomLifecycleEvent): void {
    this.#life = nextLifecycle(this.#life, event);
    this.emit('lifecycle', this.#life);
  }

  /** The stored recording as last written by this room. */
  get recording(): Recording {
    return this.#recording;
  }

  /** ms since time zero on the recording clock. */
  elapsedMs(): number {
    return this.#now.now();
  }

  /** When the disk was full, on the recording clock: what the tracks hold as silence (at most a few seconds less). */
  diskFullSpans(): readonly DiskFullSpan[] {
    return this.#diskFull.spans();
  }

  /** End-to-end encryption as recorded so far: the current voice privacy code, transitions; null when not E2EE. */
  e2ee(): StoredE2ee {
    return this.#e2ee;
  }

  /** Notes added so far, oldest first. */
  notes(): readonly Note[] {
    return this.#recording.notes ?? [];
  }

  /** Stores a note at this moment of the recording (who may add one is the caller's rule: notes.ts). */
  async addNote(by: { userId: string; name: string }, text: string): Promise<Note> {
    if (!this.#recordingNow) throw new RoomNotRecordingError(this.id, 'add a note');
    const note: Note = { at: Math.max(0, Math.round(this.#now.now())), by: by.userId, byName: by.name, text };
    this.#recording = await this.#track(this.#deps.store.updateRecording(this.id, (r) => ({ ...r, notes: [...(r.notes ?? []), note] })));
    this.#log.info({ userId: by.userId, atMs: note.at }, 'note added');
    this.emit('notes', this.notes());
    return note;
  }

  /**
   * Records `userId` from this moment. Their consent is stored before any of their audio is kept; a speaker
   * who withdrew earlier continues their own track, the time in between silent. Idempotent. `reuse`: they chose
   * 📣 (also OK to publish or reuse), not ✅ (host only); stored with the wording they agreed to.
   */
  grantConsent(who: { userId: string; name: string; reuse?: boolean }): Promise<void> {
    if (!this.#recordingNow) return Promise.reject(new RoomNotRecordingError(this.id, 'grant consent'));
    if (this.#speakers.has(who.userId)) return Promise.resolve();
    const atMs = this.#now.now();
    // Registered at once, unsubscribed, so a withdrawal arriving before the consent is stored finds (and
    // cancels) it; nobody is subscribed to the receiver until their consent is stored.
    const speaker: LiveSpeaker = { name: who.name, subscription: undefined, track: undefined, queue: [] };
    this.#speakers.set(who.userId, speaker);
    return this.#track(
      this.#mutex.run(who.userId, async () => {
        const at = this.#epoch(atMs);
        const agreed = agreementOf(who.reuse === true, at);
        const grant = { userId: who.userId, name: who.name, at };
        try {
          this.#recording = await this.#deps.store.updateRecording(this.id, (r) => withAgreement(withGrant(r, grant), who.userId, agreed));
          await this.#deps.store.appendConsentEvent({
            recordingId: this.id,
            userId: who.userId,
            name: who.name,
            event: 'granted',
            at,
            sha256: agreed.sha256,
          });
          // Withdrawn (or stopped) while the consent was being stored: never subscribed. The track is still
          // opened and at once closed, so the file the stored consent names exists (silence only).
          if (this.#speakers.get(who.userId) === speaker && this.#recordingNow) this.#subscribe(who.userId, speaker);
          await this.#open(speaker, who.userId, atMs);
        } catch (error) {
          speaker.subscription?.unsubscribe();
          if (this.#speakers.get(who.userId) === speaker) this.#speakers.delete(who.userId);
          throw error;
        }
        this.#syncLiveMix();
        this.#log.info({ userId: who.userId }, 'consent granted: recording speaker');
        this.emit('speakers', this.recordingSpeakers());
      }),
    );
  }

  /**
   * Stops recording `userId` at once (synchronously: not one more packet is kept), then closes their track,
   * stores the withdrawal and leaves them out of the mix; their track is deleted when DELETE_WITHDRAWN_TRACKS.
   * Resolves false when they were not being recorded.
   */
  withdrawConsent(userId: string): Promise<boolean> {
    const speaker = this.#speakers.get(userId);
    if (!speaker || !this.#recordingNow) return Promise.resolve(false);
    speaker.subscription?.unsubscribe();
    this.#speakers.delete(userId);
    const atMs = this.#now.now();
    return this.#track(
      this.#mutex.run(userId, async () => {
        const at = this.#epoch(atMs);
        await speaker.track?.close(atMs);
        // A closed track waits for no disk.
        this.#onDiskFull(userId, false);
        // Their figures up to the withdrawal are kept (and stored with it); a re-grant counts on from them.
        const figures = this.#bank(userId, speaker);
        this.#recording = await this.#deps.store.updateRecording(this.id, (r) =>
          withSpeakerStats(withWithdrawal(r, userId, at), new Map([[userId, figures]])),
        );
        // Out of the whole mix: the live mix starts again without them.
        this.#syncLiveMix();
        await this.#deps.store.appendConsentEvent({ recordingId: this.id, userId, name: speaker.name, event: 'withdrawn', at });
        const stored = findSpeaker(this.#recording, userId);
        if (this.#deps.config.recording.deleteWithdrawnTracks && stored) {
          await removeTrackFiles(this.#deps.store.layout.file(this.id, stored.trackFile));
        }
        this.#log.info({ userId }, 'consent withdrawn: speaker no longer recorded');
        this.emit('speakers', this.recordingSpeakers());
        return true;
      }),
    );
  }

  /**
   * Changes whether someone being recorded allows reuse (📣 added or removed, or `reuse on|off`). Stored with the
   * wording they now agree to; their track's tags are brought in line when it is closed (after-stop/reuse-tags.ts).
   * Resolves false when they are not being recorded or already chose so.
   */
  setReuse(userId: string, reuse: boolean): Promise<boolean> {
    const speaker = this.#speakers.get(userId);
    if (!speaker || !this.#recordingNow) return Promise.resolve(false);
    const at = this.#epoch(this.#now.now());
    return this.#track(
      this.#mutex.run(userId, async () => {
        if (findSpeaker(this.#recording, userId)?.agreed?.reuse === reuse) return false;
        const agreed = agreementOf(reuse, at);
        this.#recording = await this.#deps.store.updateRecording(this.id, (r) => withAgreement(r, userId, agreed));
        const event = reuse ? 'reuse-granted' : 'reuse-withdrawn';
        await this.#deps.store.appendConsentEvent({ recordingId: this.id, userId, name: speaker.name, event, at, sha256: agreed.sha256 });
        this.#log.info({ userId, reuse }, 'reuse choice changed');
        this.emit('speakers', this.recordingSpeakers());
        return true;
      }),
    );
  }

  /** Who is being recorded right now, and whether each allows reuse. */
  recordingSpeakers(): { userId: string; name: string; reuse: boolean }[] {
    return [...this.#speakers].map(([userId, s]) => ({
      userId,
      name: s.name,
      reuse: findSpeaker(this.#recording, userId)?.agreed?.reuse === true,
    }));
  }

  /** The bot reports how many humans are in the voice channel (not counting bots); 0 starts the empty-room timer. */
  setHumansInRoom(count: number): void {
    this.#humans = count;
    if (count > 0) this.#emptySinceMs = undefined;
    else this.#emptySinceMs ??= this.#now.now();
  }

  async status(): Promise<RoomStatus> {
    const layout = this.#deps.store.layout;
    const speakers = await Promise.all(
      this.#recording.speakers.map(async (s): Promise<RoomSpeakerStatus> => {
        const live = this.#speakers.get(s.userId);
        const bytes = await stat(layout.file(this.id, s.trackFile)).then(
          (st) => st.size,
          () => 0,
        );
        return {
          userId: s.userId,
          name: s.name,
          recording: live !== undefined,
          consentedAt: s.consentedAt,
          ...(s.withdrawnAt === undefined ? {} : { withdrawnAt: s.withdrawnAt }),
          includeInMix: s.includeInMix,
          trackFile: s.trackFile,
          bytes,
          ...(live?.track ? { track: live.track.stats() } : {}),
          ...(live?.subscription ? { receive: live.subscription.stats() } : {}),
          // Not live (withdrawn, or stopped): what is stored for them is the whole of it.
          stats: live ? this.#figures(s.userId, live) : (s.stats ?? this.#figures(s.userId, undefined)),
        };
      }),
    );
    const stoppedAt = this.#recording.stoppedAt;
    return {
      recordingId: this.id,
      state: this.#recording.state,
      startedAt: this.startedAt,
      durationMs: Math.round(stoppedAt === undefined ? this.#now.now() : stoppedAt - this.startedAt),
      voice: this.#connection.state.status,
      reconnects: this.#reconnects,
      humansInRoom: this.#humans,
      speakers,
      bytes: speakers.reduce((sum, s) => sum + s.bytes, 0),
      receive: this.#receive.stats(),
      ...(this.#liveMix ? { liveMix: this.#liveMix.status() } : {}),
      e2ee: this.#e2ee,
    };
  }

  /** Resolves when the live mix has done the work queued so far (a catch-up after a withdrawal or resume). */
  async liveMixIdle(): Promise<void> {
    await this.#liveMix?.idle();
  }

  /**
   * Stops the room: nobody is heard from this instant, the bot leaves the voice channel, every track ends at
   * the same position, then the consenting speakers are mixed and the receipt written. Resolves with the final
   * metadata (state 'ready', or 'failed' with the error) and where the time went. Calling it again returns the
   * same promise. `beforeLeaving` runs after the last packet is heard and before the bot leaves the voice
   * channel (what only a connected bot can do, such as clearing the channel's status).
   */
  stop(
    reason: StopReason,
    opts: { onProgress?: (p: StopProgress) => void; beforeLeaving?: () => Promise<void> } = {},
  ): Promise<StopOutcome> {
    if (!this.#stopping) {
      // Synchronously: from this instant consent changes are refused and nobody is heard.
      this.#advance({ type: 'stop', reason });
      this.#stopping = this.#stop(reason, this.#now.now(), opts);
    }
    return this.#stopping;
  }

  async #stop(
    reason: StopReason,
    endMs: number,
    opts: { onProgress?: (p: StopProgress) => void; beforeLeaving?: () => Promise<void> },
  ): Promise<StopOutcome> {
    const { onProgress } = opts;
    this.#stopHearing();
    // Consent changes already under way finish first, so their tracks are among those closed below.
    await Promise.allSettled([...this.#inFlight]);
    await opts
      .beforeLeaving?.()
      .catch((error: unknown) => this.#log.warn({ err: error }, 'a step before leaving the voice channel failed'));
    this.#halt();

    const deps = pipelineDeps(this.#deps, this.#log);
    const tracks = [...this.#speakers.values()].flatMap((s) => (s.track ? [s.track] : []));
    let outcome: StopOutcome;
    try {
      outcome = await runStopPipeline(
        {
          recordingId: this.id,
          reason,
          stoppedAt: this.#epoch(endMs),
          closeTracks: async () => {
            await Promise.all(tracks.map((t) => t.close(endMs)));
          },
          speakerStats: () => new Map([...this.#speakers].map(([userId, s]) => [userId, this.#figures(userId, s)])),
          ...(this.#liveMix ? { liveMix: this.#liveMix } : {}),
          ...(onProgress ? { onProgress } : {}),
        },
        deps,
      );
    } finally {
      // The pipeline finishes or drops the live mix; this covers a stop that failed before it got there.
      if (this.#liveMix) await discardLiveMix(this.#liveMix, this.#log, this.id);
    }
    this.#recording = outcome.recording;
    this.#speakers.clear();
    this.#advance({ type: 'stopped', result: outcome.recording.state === 'ready' ? 'ready' : 'failed' });
    this.emit('stopped', outcome);
    return outcome;
  }

  /** Nobody's packets are kept from now on. */
  #stopHearing(): void {
    for (const s of this.#speakers.values()) s.subscription?.unsubscribe();
    this.#receive.close();
  }

  /** Hear nobody, stop the timers and leave the voice channel. */
  #halt(): void {
    this.#stopHearing();
    this.#connection.off('transitioned', this.#onTransitioned);
    this.#voiceWatch.dispose();
    clearInterval(this.#ticker);
    if (this.#connection.state.status !== VoiceConnectionStatus.Destroyed) this.#connection.destroy();
  }

  /** Tells the live mix who is in the mix now: included speakers whose track is open. */
  #syncLiveMix(): void {
    if (!this.#liveMix) return;
    const layout = this.#deps.store.layout;
    const inputs = this.#recording.speakers
      .filter((s) => s.includeInMix && this.#speakers.get(s.userId)?.track !== undefined)
      .map((s) => ({ path: layout.file(this.id, s.trackFile), label: s.name }));
    this.#liveMix.setInputs(inputs);
  }

  /** Their figures so far: the banked stretches plus the open one's counters. */
  #figures(userId: string, live: LiveSpeaker | undefined): SpeakerStats {
    const banked = this.#banked.get(userId) ?? NO_STATS;
    return live ? addStats(banked, statsOf(live.track?.stats(), live.subscription?.stats())) : banked;
  }

  /** Their open stretch has ended (withdrawal): its counters join the banked figures. Returns the new total. */
  #bank(userId: string, speaker: LiveSpeaker): SpeakerStats {
    const total = this.#figures(userId, speaker);
    this.#banked.set(userId, total);
    return total;
  }

  /**
   * Stores everyone's figures so far (banked + open stretch), and the heartbeat: if the bot dies, a finish from
   * disk ends the recording at the later of it and the tracks' last audio (room-downtime.ts), so a room that
   * went quiet is not cut short, nor padded to whenever the bot came back. The banked figures in memory stay as
   * they are: a resumed recording banks what was stored, and its new tracks count from zero, so nothing is
   * counted twice.
   */
  #checkpointStats(nowMs: number): void {
    this.#checkpointedAtMs = nowMs;
    if (this.#checkpointing || !this.#recordingNow) return;
    this.#checkpointing = true;
    const aliveAt = this.#epoch(nowMs);
    void this.#track(
      this.#deps.store.updateRecording(this.id, (r) => ({
        // Read when the write runs, so it is never older than a withdrawal stored just before it.
        ...withSpeakerStats(r, new Map([...this.#speakers].map(([userId, s]) => [userId, this.#figures(userId, s)]))),
        aliveAt,
      })),
    ).then(
      (recording) => {
        this.#recording = recording;
        this.#checkpointing = false;
      },
      (error: unknown) => {
        this.#checkpointing = false;
        this.#log.warn({ err: error }, 'could not store the integrity figures');
      },
    );
  }

  /** Reads the connection's E2EE state; a change (a new privacy code, a downgrade, a transition) is stored. */
  #observeE2ee(transition: boolean): void {
    const next = observeE2ee(this.#e2ee, readE2ee(this.#connection), { at: this.#epoch(this.#now.now()), transition });
    if (JSON.stringify(next) === JSON.stringify(this.#e2ee)) return;
    this.#e2ee = next;
    if (transition) this.#log.info({ e2ee: next }, 'end-to-end encryption group changed');
    // Stored at once, so a restart keeps the codes people may have compared; the latest value when the write runs.
    void this.#track(this.#deps.store.updateRecording(this.id, (r) => ({ ...r, e2ee: this.#e2ee }))).then(
      (recording) => {
        this.#recording = recording;
      },
      (error: unknown) => this.#log.warn({ err: error }, 'could not store the end-to-end encryption state'),
    );
  }

  #epoch(recordingMs: number): number {
    return this.startedAt + Math.round(recordingMs);
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = (): void => {
      this.#inFlight.delete(work);
    };
    work.then(forget, forget);
    return work;
  }

  /** Resume path (consent is already stored): subscribes, then opens the track. */
  async #begin(userId: string, name: string): Promise<void> {
    const speaker: LiveSpeaker = { name, subscription: undefined, track: undefined, queue: [] };
    this.#speakers.set(userId, speaker);
    this.#subscribe(userId, speaker);
    await this.#open(speaker, userId, this.#now.now());
  }

  /** From now on their packets reach their track (or wait in memory until it is open). */
  #subscribe(userId: string, speaker: LiveSpeaker): void {
    speaker.subscription = this.#receive.subscribe(userId, (packet) => {
      if (speaker.track) speaker.track.push(packet);
      else speaker.queue.push(packet);
    });
  }

  async #open(speaker: LiveSpeaker, userId: string, startMs: number): Promise<void> {
    const stored = findSpeaker(this.#recording, userId);
    if (!stored) throw new Error(`speaker ${userId} has no stored consent`);
    const file = this.#deps.store.layout.file(this.id, stored.trackFile);
    await mkdirPrivate(path.dirname(file));
    const track = await SpeakerTrack.resume({
      path: file,
      recordingId: this.id,
      userId,
      speakerName: speaker.name,
      startMs,
      comments: reuseComments(stored),
      log: this.#log,
      onDiskFull: (full, err) => this.#onDiskFull(userId, full, err),
      ...(this.#deps.trackWrite && { write: this.#deps.trackWrite }),
    });
    for (const packet of speaker.queue) track.push(packet);
    speaker.queue = [];
    speaker.track = track;
    // Withdrawn while the file was being opened: end the track where the withdrawal happened.
    if (this.#speakers.get(userId) !== speaker && this.#recordingNow) await track.close(this.#now.now());
  }

  #onDiskFull(userId: string, full: boolean, err?: Error): void {
    const change = this.#diskFull.change(userId, full, this.#now.now());
    // Once stopping, a track that closes is no news for the room: the link DM tells what was lost.
    if (!change || !this.#recordingNow) return;
    if (change.full)
      this.#log.error({ err, atMs: Math.round(change.atMs) }, 'the disk is full: the tracks wait in memory, then record silence');
    else this.#log.warn({ atMs: Math.round(change.atMs), spans: this.#diskFull.spans() }, 'the disk has room again: recording resumed');
    this.emit('diskFull', change);
  }

  #tick(): void {
    const nowMs = this.#now.now();
    for (const s of this.#speakers.values()) s.track?.tick(nowMs);
    this.#liveMix?.tick();
    if (nowMs - this.#checkpointedAtMs >= (this.#deps.statsCheckpointMs ?? DEFAULT_STATS_CHECKPOINT_MS)) this.#checkpointStats(nowMs);
    if (this.#autoStopSent) return;
    if (this.#outOfGroupTooLong(nowMs)) {
      this.#log.warn({ sinceMs: this.#outOfGroupSinceMs }, 'not in the end-to-end encryption group for too long');
      this.#autoStop('e2ee-lost');
      return;
    }
    const due = autoStopDue({
      nowMs,
      emptySinceMs: this.#emptySinceMs,
      maxHours: this.#deps.config.recording.maxHours,
      emptyRoomMinutes: this.#deps.config.recording.emptyRoomMinutes,
    });
    if (due) this.#autoStop(due);
  }

  #autoStop(reason: LostReason): void {
    if (this.#autoStopSent || !this.#recordingNow) return;
    this.#autoStopSent = true;
    this.#log.info({ reason }, 'auto-stop due');
    this.emit('autoStop', reason);
  }

  /**
   * A connection that is up but whose DAVE session has no group (after a rejoin, or while it recovers through
   * op 31) hears nothing but ciphertext. That is normal for a moment; for longer than start allows, the room
   * would record silence, so it stops and says why.
   */
  #outOfGroupTooLong(nowMs: number): boolean {
    const e2ee = readE2ee(this.#connection);
    // Alone in the call there is nobody to form a group with, and nobody to hear: the empty-room rule applies.
    const alone = this.#humans === 0;
    if (alone || this.#connection.state.status !== VoiceConnectionStatus.Ready || e2ee === null || e2ee.privacyCode !== '') {
      this.#outOfGroupSinceMs = undefined;
      return false;
    }
    this.#outOfGroupSinceMs ??= nowMs;
    return nowMs - this.#outOfGroupSinceMs > (this.#deps.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  }

  #onVoice(change: VoiceChange): void {
    if (change.status === 'reconnected') this.#reconnects++;
    this.emit('voice', change);
    // Refused for its encryption (4017), the room is out of the E2EE call for good: the host is told that.
    if (change.status === 'lost') this.#autoStop(change.daveRequired ? 'e2ee-lost' : 'voice-lost');
  }
}

/**
 * Resolves when the bot can hear the room: the connection is ready (else VoiceNotReadyError) and, in an
 * end-to-end encrypted room, the bot is in its group (else E2eeJoinError), each within `timeoutMs`. Resolves
 * with the E2EE state then, null when the room is not E2EE.
 */
async function waitAudible(connection: VoiceConnection, timeoutMs: number): Promise<E2eeState | null> {
  // A 4017 refusal is final: say so at once rather than after the whole timeout.
  const dave = refusedForDave(connection);
  try {
    await Promise.race([
      entersState(connection, VoiceConnectionStatus.Ready, timeoutMs).catch((error: unknown) => {
        throw new VoiceNotReadyError(timeoutMs, { cause: error });
      }),
      dave.refused,
    ]);
    return await Promise.race([waitForE2eeGroup(connection, timeoutMs), dave.refused]);
  } finally {
    dave.dispose();
  }
}

/**
 * Finishes a recording the bot was running (or stopping, or mixing) when it died, without rejoining the room:
 * tracks of speakers whose consent stood are finalised on disk (a torn tail cut off) and padded to the stop
 * time, then the usual stop pipeline mixes them. The stop time is when it was stopped; one that never was ends
 * at the last sign of life of the process that died in it (room-downtime.ts), never at the restart: a bot that
 * comes back hours later still finishes the recording at its real length.
 */
export async function finishInterrupted(
  recording: Recording,
  deps: Omit<RoomDeps, 'rejoin' | 'readyTimeoutMs' | 'tickMs'>,
  opts: { reason?: StopReason; onProgress?: (p: StopProgress) => void } = {},
): Promise<StopOutcome> {
  const stoppedAt = recording.stoppedAt ?? (await lastSignOfLife(recording, deps.store.layout));
  const endMs = stoppedAt - recording.startedAt;
  const log = deps.log.child({ recordingId: recording.id });
  await restoreConsentLog(recording, deps);
  return runStopPipeline(
    {
      recordingId: recording.id,
      reason: opts.reason ?? 'interrupted',
      stoppedAt,
      closeTracks: async () => {
        await Promise.all(
          consentingSpeakers(recording).map(async (s) => {
            const file = deps.store.layout.file(recording.id, s.trackFile);
            const track = await SpeakerTrack.resume({
              path: file,
              recordingId: recording.id,
              userId: s.userId,
              speakerName: s.name,
              startMs: endMs,
              log,
            });
            await track.close(endMs);
          }),
        );
      },
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    },
    pipelineDeps(deps, log),
  );
}

/** What the stop pipeline needs of a room's deps, for a recording finished or completed from disk. */
export function pipelineDeps(
  deps: Pick<RoomDeps, 'store' | 'clock' | 'log' | 'config' | 'mix' | 'background'>,
  log = deps.log,
): StopPipelineDeps {
  return {
    store: deps.store,
    clock: deps.clock,
    log,
    config: deps.config,
    mix: deps.mix ?? mixTracks,
    ...(deps.background ? { background: deps.background } : {}),
  };
}

/** Appends what a crash between a consent's two writes kept out of the consent log (missingConsentEvents). */
async function restoreConsentLog(recording: Recording, deps: Pick<RoomDeps, 'store' | 'log'>): Promise<void> {
  const missing = missingConsentEvents(recording, await deps.store.consentEvents(recording.id));
  for (const event of missing) await deps.store.appendConsentEvent(event);
  if (missing.length > 0) {
    deps.log.warn(
      { recordingId: recording.id, events: missing.map((e) => ({ userId: e.userId, event: e.event, at: e.at })) },
      'restored consent events a crash kept out of the log',
    );
  }
}
