// One live room, from `/record start` (or a resume after a restart) until its host has been told it stopped:
// the recorder, the consent message and its reactions, the indicator, the stop's progress message. Its life is
// the recorder's lifecycle (room-lifecycle.ts: starting → recording → stopping → stopped), moved in one place
// (RoomRecorder#advance) and stored as the recording's state; before there is a recorder, it is starting.
//
// rooms.ts keeps the sessions and hands each the gateway events of its room; restart-recovery.ts resumes them.
import type { Client, Guild, Message, PartialUser, User, VoiceBasedChannel } from 'discord.js';
import type { Logger } from '../log.ts';
import { mayAddNote, noteText } from '../recording/notes.ts';
import type { StopReason } from '../recording/recording-state.ts';
import type { RoomLifecycle } from '../recording/room-lifecycle.ts';
import type { ReuseChange } from '../recording/reuse-change.ts';
import { RoomRecorder, type RoomDeps } from '../recording/room-recorder.ts';
import type { StopProgress } from '../recording/stop-pipeline.ts';
import { deletionTime } from '../storage/retention.ts';
import type { Note, Recording } from '../storage/store.ts';
import { createCoalescingEditor, type CoalescingEditor } from './coalescing-editor.ts';
import { CONSENT_EMOJI, consentComponents, isConsentEmoji, judgeReaction, renderConsentMessage } from './consent.ts';
import { isReuseEmoji, reactionAction, REUSE_EMOJI } from './reuse-reactions.ts';
import { createIndicator, type Indicator } from './indicator.ts';
import { NOTHING_RECORDED, UserFacingError } from './errors.ts';
import { createProgressMessage } from './progress-message.ts';
import { consentReactors, humansIn, joinRoom, voiceChannel } from './room-voice-channel.ts';
import type { RoomSummary, StartRequest, StoppingSummary } from './services.ts';
import { startRefusal } from './start-errors.ts';
import { diskFullNotice, diskOkNotice, progressDoneLine, progressLine, stoppingStatusLine } from './stop-notice.ts';
import { stopAndTell, type TellHostDeps } from './tell-host.ts';

const INDICATOR_OFF_CAP_MS = 1000;
const STARTING: RoomLifecycle = { phase: 'starting' };

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export type SessionDeps = TellHostDeps & {
  client: Client;
  /** What RoomRecorder needs (store, clocks, config, mixer). */
  recorder: RoomDeps;
  /** Removes the recording a failed start leaves behind. */
  removeRecording: (recording: Recording) => Promise<void>;
  retentionDays: number;
  /** Epoch ms. */
  now: () => number;
  /** Show a progress message when preparing the recording takes longer than this. */
  progressAfterMs: number;
  /** Minimum time between edits of the consent and progress messages. */
  editIntervalMs: number;
  voiceGroup: string | undefined;
  /** The session is over (stopped and the host told, or its start failed): the registry forgets it. */
  closed: (session: RoomSession, report: StopReport | undefined) => void;
};

/** How long a stop took to reach the host: from the request to the DM (or the channel notice). */
export type StopReport = {
  recordingId: string;
  reason: StopReason;
  state: Recording['state'];
  linkSent: boolean;
  /** The link went out before the mix was done (a short DM followed once it was). */
  linkBeforeMix: boolean;
  /** To the first link DM (or the channel notice when it could not be sent). */
  stopToLinkMs: number;
  pipeline: Record<string, number>;
};

/** What a session has once it records: everything the Discord side of a live room needs. */
type Live = {
  guild: Guild;
  recorder: RoomRecorder;
  consent: Message;
  consentEditor: CoalescingEditor;
  indicator: Indicator;
  log: Logger;
};

export type ResumeResult = 'resumed' | 'voice-unavailable';

export class RoomSession {
  readonly guildId: string;
  readonly channelId: string;
  readonly hostId: string;
  #deps: SessionDeps;
  /** Fetched by start, given to resume. */
  #guild: Guild | undefined;
  #live: Live | undefined;
  #stopping: Promise<StopReport> | undefined;
  /** While stopping: the pipeline's latest progress, and whether the host already has the link. */
  #stopProgress: StopProgress | undefined;
  #linkSent = false;

  constructor(deps: SessionDeps, room: { guildId: string; channelId: string; hostId: string }) {
    this.#deps = deps;
    this.guildId = room.guildId;
    this.channelId = room.channelId;
    this.hostId = room.hostId;
  }

  get lifecycle(): RoomLifecycle {
    return this.#live?.recorder.lifecycle ?? STARTING;
  }

  get recordingId(): string | undefined {
    return this.#live?.recorder.id;
  }

  get consentMessageId(): string | undefined {
    return this.#live?.consent.id;
  }

  /** Joins, waits until the room is audible, posts the consent message and records. Throws UserFacingError for refusals. */
  async start(request: StartRequest): Promise<RoomSummary> {
    const deps = this.#deps;
    try {
      const guild = (this.#guild = await deps.client.guilds.fetch(this.guildId));
      const channel = voiceChannel(guild, this.channelId);
      const connection = joinRoom(guild, channel.id, { voiceGroup: deps.voiceGroup, log: deps.log });
      let recorder: RoomRecorder;
      try {
        recorder = await RoomRecorder.start({ meta: { ...request, textChannelId: channel.id }, connection, deps: deps.recorder });
      } catch (error) {
        // Leaves voice whatever the reason, so a refused start leaves no trace in the room.
        connection.destroy();
        throw startRefusal(error, channel.id) ?? error;
      }
      let consent: Message;
      try {
        consent = await this.#postConsent(channel, recorder);
      } catch (error) {
        // Nobody could have consented without the message: discard the empty recording.
        const outcome = await recorder.stop('command');
        await deps.removeRecording(outcome.recording);
        throw error;
      }
      const live = this.#attach(recorder, consent);
      await live.indicator.on();
      await this.#reconcile(live);
      live.log.info({ channelId: channel.id, hostId: request.hostId }, 'room recording');
      return this.summary();
    } catch (error) {
      if (!this.#live) deps.closed(this, undefined);
      throw error;
    }
  }

  /**
   * Continues a recording the bot was running when it went down, in the same room. Who still consents is read
   * BEFORE anyone is subscribed: a ✅ removed while the bot was down is a withdrawal, and not one packet of that
   * speaker may be written after the crash. 'voice-unavailable': the room could not be rejoined (the stored
   * recording is left for a finish from disk).
   */
  async resume(guild: Guild, recording: Recording, consent: Message): Promise<ResumeResult> {
    const deps = this.#deps;
    this.#guild = guild;
    try {
      const consenting = new Set((await consentReactors(consent)).keys());
      const connection = joinRoom(guild, this.channelId, { voiceGroup: deps.voiceGroup, log: deps.log });
      let recorder: RoomRecorder;
      try {
        recorder = await RoomRecorder.resume({ recording, consenting, connection, deps: deps.recorder });
      } catch (error) {
        connection.destroy();
        deps.log.warn({ err: error, recordingId: recording.id }, 'cannot resume: voice unavailable');
        deps.closed(this, undefined);
        return 'voice-unavailable';
      }
      const live = this.#attach(recorder, consent);
      await live.indicator.on();
      // Again after attaching: reactions that changed while voice was connecting, and people who opted in while
      // the bot was down (only those in the room count).
      await this.#reconcile(live);
      live.consentEditor.update(this.#consentText());
      live.log.info({ speakers: recorder.recordingSpeakers().length }, 'recording resumed after restart');
      return 'resumed';
    } catch (error) {
      if (!this.#live) deps.closed(this, undefined);
      throw error;
    }
  }

  /** The room as commands see it while it records. */
  summary(): RoomSummary {
    const recorder = this.#need().recorder;
    return {
      recordingId: recorder.id,
      guildId: this.guildId,
      channelId: this.channelId,
      hostId: this.hostId,
      startedAt: recorder.startedAt,
      recording: recorder.recordingSpeakers().map((s) => s.name),
      reusing: recorder.recordingSpeakers().flatMap((s) => (s.reuse ? [s.name] : [])),
      e2ee: recorder.e2ee(),
      notes: recorder.notes(),
    };
  }

  /** Throws why `userId` cannot add a note now, if they cannot; returns the recorder they would add it to. */
  checkNote(userId: string): RoomRecorder {
    const live = this.#live;
    if (!live || this.lifecycle.phase !== 'recording') throw new UserFacingError(NOTHING_RECORDED);
    if (!mayAddNote(userId, { hostId: this.hostId, recording: live.recorder.recordingSpeakers() })) {
      throw new UserFacingError(`Only the host (<@${this.hostId}>) or someone being recorded can add a note to this recording.`);
    }
    return live.recorder;
  }

  /** `/note`: a marker at this moment, by the host or someone being recorded. */
  async note(by: { userId: string; name: string }, raw: string): Promise<Note> {
    const recorder = this.checkNote(by.userId);
    const text = noteText(raw);
    if (text === null) throw new UserFacingError('A note needs some text, for example `/note Intro done`.');
    return recorder.addNote(by, text);
  }

  /** `/record status` while the room is being stopped; undefined unless it is. */
  stoppingSummary(): StoppingSummary | undefined {
    if (!this.#stopping || !this.#live) return undefined;
    const progress = this.#stopProgress ? { progress: this.#stopProgress } : {};
    const view = { channelId: this.channelId, hostId: this.hostId, linkSent: this.#linkSent, ...progress };
    return { recordingId: this.#live.recorder.id, ...view, text: stoppingStatusLine(view) };
  }

  /** A ✅ or 📣 added or removed on this room's consent message (reuse-reactions.ts says what each does). */
  async onReaction(rawUser: User | PartialUser, emoji: string | null, added: boolean): Promise<void> {
    const live = this.#live;
    const which = isConsentEmoji(emoji) ? 'consent' : isReuseEmoji(emoji) ? 'reuse' : undefined;
    if (!live || this.lifecycle.phase !== 'recording' || which === undefined) return;
    const now = live.recorder.recordingSpeakers().find((s) => s.userId === rawUser.id);
    const action = reactionAction({ emoji: which, added }, { recorded: now !== undefined, reuse: now?.reuse === true });
    switch (action.kind) {
      case 'none':
        return;
      case 'withdraw':
        // A withdrawal always counts, wherever the person is now.
        await live.recorder.withdrawConsent(rawUser.id);
        return;
      case 'reuse':
        await live.recorder.setReuse(rawUser.id, action.reuse);
        return;
      case 'grant': {
        const user = rawUser.partial ? await rawUser.fetch() : rawUser;
        await this.#grantIfAllowed(live, user, emoji, action.reuse);
      }
    }
  }

  /** `reuse on|off` by DM while the room records; `withdrawn` when `userId` is not being recorded in it now. */
  async setReuse(userId: string, reuse: boolean): Promise<ReuseChange> {
    const live = this.#live;
    const recorded = live?.recorder.recordingSpeakers().some((s) => s.userId === userId) === true;
    if (!live || this.lifecycle.phase !== 'recording' || !recorded) return reuse ? 'withdrawn' : 'unchanged';
    return (await live.recorder.setReuse(userId, reuse)) ? 'changed' : 'unchanged';
  }

  /** Someone joined or left this room's voice channel. */
  onVoiceState(): void {
    if (this.lifecycle.phase !== 'recording') return;
    const live = this.#live;
    if (live) live.recorder.setHumansInRoom(humansIn(this.#deps.client, live.guild, this.channelId));
  }

  /** Stops the room, prepares the recording and tells the host; the same promise for every caller. */
  stop(reason: StopReason, stoppedBy: string | undefined): Promise<StopReport> {
    const live = this.#need();
    this.#stopping ??= this.#runStop(live, reason, stoppedBy).then(
      (report) => {
        this.#deps.closed(this, report);
        return report;
      },
      (error: unknown) => {
        this.#deps.closed(this, undefined);
        throw error;
      },
    );
    return this.#stopping;
  }

  #need(): Live {
    if (!this.#live) throw new Error('the room has not started recording yet');
    return this.#live;
  }

  async #postConsent(channel: VoiceBasedChannel, recorder: RoomRecorder): Promise<Message> {
    const message = await channel.send({
      content: this.#consentText(recorder),
      components: consentComponents(true),
      allowedMentions: { parse: [] },
    });
    await message.react(CONSENT_EMOJI);
    await message.react(REUSE_EMOJI);
    await this.#deps.store.updateRecording(recorder.id, (r) => {
      r.consentMessageId = message.id;
    });
    return message;
  }

  #consentText(recorder = this.#need().recorder): string {
    return renderConsentMessage({
      hostId: this.hostId,
      retentionDays: this.#deps.retentionDays,
      recording: recorder.recordingSpeakers().map((s) => s.name),
      reusing: recorder.recordingSpeakers().flatMap((s) => (s.reuse ? [s.name] : [])),
      notes: recorder.notes(),
    });
  }

  /** Wires a running recorder to its Discord room: from now on the session is recording. */
  #attach(recorder: RoomRecorder, consent: Message): Live {
    const deps = this.#deps;
    const guild = this.#guild;
    if (!guild) throw new Error('a session records in a guild it has');
    const log = deps.log.child({ recordingId: recorder.id, guildId: guild.id });
    const live: Live = {
      guild,
      recorder,
      consent,
      log,
      consentEditor: createCoalescingEditor({
        apply: async (text) => {
          // The note button goes with the last edit of a room that has ended.
          await consent.edit({
            content: text,
            components: consentComponents(this.lifecycle.phase === 'recording'),
            allowedMentions: { parse: [] },
          });
        },
        minIntervalMs: deps.editIntervalMs,
        now: () => deps.clock.now(),
        onError: (error) => log.warn({ err: error }, 'could not update the consent message'),
      }),
      indicator: createIndicator({ guild, voiceChannelId: this.channelId, log }),
    };
    this.#live = live;
    recorder.on('speakers', () => live.consentEditor.update(this.#consentText(recorder)));
    recorder.on('notes', () => live.consentEditor.update(this.#consentText(recorder)));
    recorder.on('autoStop', (reason) => {
      void this.stop(reason, undefined).catch((error: unknown) => log.error({ err: error, reason }, 'automatic stop failed'));
    });
    recorder.on('voice', (change) => log.info({ change }, 'voice connection change'));
    recorder.on('diskFull', (change) => {
      const span = recorder.diskFullSpans().at(-1);
      const text = change.full || !span ? diskFullNotice(this.hostId) : diskOkNotice(span);
      void this.#postInRoom(guild, text, [this.hostId]).catch((error: unknown) =>
        log.warn({ err: error }, 'could not tell the room about the full disk'),
      );
    });
    recorder.setHumansInRoom(humansIn(deps.client, guild, this.channelId));
    return live;
  }

  /** Posts in the room's chat (the voice channel's), mentioning only `mention`; nothing when it cannot. */
  async #postInRoom(guild: Guild, content: string, mention: string[]): Promise<void> {
    const channel = guild.channels.cache.get(this.channelId);
    if (channel?.isVoiceBased() && channel.isSendable()) await channel.send({ content, allowedMentions: { users: mention } });
  }

  /** Makes the recorder's consent set match the ✅ reactions of people in the room (start race, restart). */
  async #reconcile(live: Live): Promise<void> {
    const reacted = await consentReactors(await live.consent.fetch());
    for (const speaker of live.recorder.recordingSpeakers()) {
      if (!reacted.has(speaker.userId)) await live.recorder.withdrawConsent(speaker.userId);
    }
    const recordingNow = new Set(live.recorder.recordingSpeakers().map((s) => s.userId));
    for (const { user, reuse } of reacted.values()) {
      if (!recordingNow.has(user.id)) await this.#grantIfAllowed(live, user, reuse ? REUSE_EMOJI : CONSENT_EMOJI, reuse);
    }
  }

  async #grantIfAllowed(live: Live, user: User, emoji: string | null, reuse = false): Promise<void> {
    const inRoom = live.guild.voiceStates.cache.get(user.id)?.channelId === this.channelId;
    const decision = judgeReaction({ emoji, isBot: user.bot, inRoom });
    if (!decision.counts) {
      live.log.debug({ userId: user.id, why: decision.why }, 'reaction ignored');
      return;
    }
    const member = live.guild.members.cache.get(user.id);
    await live.recorder.grantConsent({ userId: user.id, name: member?.displayName ?? user.displayName, reuse });
  }

  /** The consent message's final text: the room ended, when its recording is deleted. */
  #endConsentMessage(live: Live, recording: Recording): void {
    const stoppedAt = recording.stoppedAt ?? this.#deps.now();
    const retentionDays = this.#deps.retentionDays;
    live.consentEditor.update(
      renderConsentMessage({
        hostId: this.hostId,
        retentionDays,
        recording: [],
        ended: { at: stoppedAt, deletesAt: deletionTime({ ...recording, stoppedAt }, retentionDays) },
      }),
    );
  }

  async #runStop(live: Live, reason: StopReason, stoppedBy: string | undefined): Promise<StopReport> {
    const deps = this.#deps;
    const t0 = deps.clock.now();
    const channel = live.guild.channels.cache.get(this.channelId);
    const voice = channel?.isVoiceBased() ? channel : undefined;
    // A long room shows its progress: a message appears if preparing takes more than progressAfterMs.
    const progress = createProgressMessage({
      post: async (text) => {
        if (!voice?.isSendable()) return undefined;
        const message = await voice.send({ content: text, allowedMentions: { parse: [] } });
        return async (next) => {
          await message.edit({ content: next, allowedMentions: { parse: [] } });
        };
      },
      initial: progressLine({ phase: 'stopping', doing: 'stopping', tracksClosed: false }),
      afterMs: deps.progressAfterMs,
      editIntervalMs: deps.editIntervalMs,
      now: () => deps.clock.now(),
      onError: (error, what) => live.log.warn({ err: error }, `could not ${what} the progress message`),
    });
    const showProgress = (): void => {
      if (this.#stopProgress) progress.update(progressLine(this.#stopProgress, this.#linkSent));
    };
    let told: Awaited<ReturnType<typeof stopAndTell>>;
    try {
      told = await stopAndTell(deps, {
        recordingId: live.recorder.id,
        since: t0,
        run: (onProgress) =>
          live.recorder.stop(reason, {
            onProgress,
            // The voice channel status can only be cleared while the bot is still connected; capped so a slow or
            // rate-limited API cannot hold the stop up.
            beforeLeaving: () => Promise.race([live.indicator.off(), delay(INDICATOR_OFF_CAP_MS)]),
          }),
        intro: { reason, stoppedBy, diskFull: () => live.recorder.diskFullSpans() },
        channel: voice,
        onProgress: (p) => {
          this.#stopProgress = p;
          showProgress();
        },
        onEarlyLink: (result, recording) => {
          this.#linkSent = result === 'sent';
          showProgress();
          // The consent message says the room ended as soon as the host has the link.
          this.#endConsentMessage(live, recording);
        },
      });
    } finally {
      progress.settle();
    }
    const { outcome, linkSent } = told;
    const recording = outcome.recording;
    this.#linkSent = linkSent;
    this.#endConsentMessage(live, recording);
    await live.consentEditor.flush();
    await progress.finish(progressDoneLine(recording, linkSent));
    const report: StopReport = {
      recordingId: recording.id,
      reason,
      state: recording.state,
      linkSent,
      linkBeforeMix: told.linkBeforeMix,
      stopToLinkMs: Math.round(told.linkAt - t0),
      pipeline: { ...outcome.timings },
    };
    live.log.info(report, 'room stopped; host told');
    return report;
  }
}
