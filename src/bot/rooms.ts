// The rooms this bot is recording, one per guild, and the Discord side of each: joining voice, the consent
// message and its reactions, the indicator, who is in the room, and the stop flow that ends with the host's
// DM. Recording itself (tracks, time, mixing) is src/recording's RoomRecorder; this module only calls it.
import { joinVoiceChannel, type VoiceConnection } from '@discordjs/voice';
import {
  Events,
  type Client,
  type Guild,
  type Message,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type User,
  type VoiceBasedChannel,
  type VoiceState,
} from 'discord.js';
import type { Logger } from '../log.ts';
import type { Clock } from '../recording/clock.ts';
import type { StopReason } from '../recording/recording-state.ts';
import { finishInterrupted, RoomRecorder, type RoomDeps } from '../recording/room-recorder.ts';
import { failInterrupted, type StopOutcome, type StopProgress } from '../recording/stop-pipeline.ts';
import { BUSY_STATES, type Recording, type Store } from '../storage/store.ts';
import { deletionTime } from '../storage/retention.ts';
import { createCoalescingEditor, realTimers, type CoalescingEditor, type Timers } from './coalescing-editor.ts';
import { CONSENT_EMOJI, isConsentEmoji, judgeReaction, renderConsentMessage } from './consent.ts';
import { UserFacingError } from './errors.ts';
import { createIndicator, type Indicator } from './indicator.ts';
import { createProgressMessage } from './progress-message.ts';
import { startRefusal } from './start-errors.ts';
import { logVoiceErrors } from '../recording/room-voice.ts';
import type { Library, RoomSummary, Rooms, StartRequest, StoppingSummary } from './services.ts';
import { deliverLink, stopAndDeliver, type DeliveryResult } from './stop-delivery.ts';
import {
  mixFinishedNote,
  preparingIntro,
  progressDoneLine,
  progressLine,
  readyIntro,
  stoppingStatusLine,
  unfinishableNotice,
  type StopLimits,
} from './stop-notice.ts';

const INDICATOR_OFF_CAP_MS = 1000;

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

export type RoomsOptions = {
  client: Client;
  store: Store;
  library: Library;
  /** What RoomRecorder needs (store, clocks, config, mixer). */
  recorder: RoomDeps;
  retentionDays: number;
  limits: StopLimits;
  /** Epoch ms. */
  now: () => number;
  /** Monotonic, for stop → link timings. */
  clock: Clock;
  log: Logger;
  /** Show a progress message when preparing the recording takes longer than this. Default 2 s. */
  progressAfterMs?: number;
  /** Minimum time between edits of the consent and progress messages. Default 1 s. */
  editIntervalMs?: number;
  /**
   * When the recording is not ready this long after a stop (a full re-mix after a withdrawal or a restart), the
   * host gets the link at once, with the mix still being made, and a short DM when it is done. Default 3 s.
   */
  earlyLinkAfterMs?: number;
  /** For the early-link timer. Default: the real ones. */
  timers?: Timers;
  /** @discordjs/voice keeps connections in a process-wide map keyed by group + guild; one group per bot. */
  voiceGroup?: string;
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

type LiveRoom = {
  guild: Guild;
  channelId: string;
  hostId: string;
  recorder: RoomRecorder;
  consent: Message;
  consentEditor: CoalescingEditor;
  indicator: Indicator;
  stopping: Promise<StopReport> | undefined;
  /** While stopping: the pipeline's latest progress, and whether the host already has the link. */
  stopProgress: StopProgress | undefined;
  linkSent: boolean;
};

export type RoomManager = Rooms & {
  /** Whether this process is writing the recording now; a busy recording that is not live can be deleted. */
  isLive(recordingId: string): boolean;
  /** Continues recordings that were running when the bot went down; finishes ones it cannot continue. */
  resumeAll(): Promise<void>;
  /** Stops every room (bot shutdown): each is mixed and its host gets the link. */
  stopAll(reason: StopReason): Promise<void>;
  /** Resolves with each finished stop, for the demo and tests. */
  onStopped(listener: (report: StopReport) => void): void;
  /** Called with each room that starts recording (not resumed ones), for the demo and tests. */
  onStarted(listener: (room: RoomSummary) => void): void;
  dispose(): void;
};

export function createRooms(options: RoomsOptions): RoomManager {
  const { client, store, library, log, now, clock, limits } = options;
  const progressAfterMs = options.progressAfterMs ?? 2000;
  const editIntervalMs = options.editIntervalMs ?? 1000;
  const earlyLinkAfterMs = options.earlyLinkAfterMs ?? 3000;
  const timers = options.timers ?? realTimers;
  const rooms = new Map<string, LiveRoom>();
  const starting = new Set<string>();
  /** Recordings being resumed or finished at start-up. */
  const recovering = new Set<string>();
  const stopListeners: ((report: StopReport) => void)[] = [];
  const startListeners: ((room: RoomSummary) => void)[] = [];

  /** Whether this process is writing the recording (recording, stopping, or finishing it after a restart). */
  const hasRoom = (recordingId: string): boolean => [...rooms.values()].some((r) => r.recorder.id === recordingId);
  const isLive = (recordingId: string): boolean => recovering.has(recordingId) || hasRoom(recordingId);

  const roomByMessage = (messageId: string) => [...rooms.values()].find((r) => r.consent.id === messageId);

  function summary(room: LiveRoom): RoomSummary {
    return {
      recordingId: room.recorder.id,
      guildId: room.guild.id,
      channelId: room.channelId,
      hostId: room.hostId,
      startedAt: room.recorder.startedAt,
      recording: room.recorder.recordingSpeakers().map((s) => s.name),
      e2ee: room.recorder.e2ee(),
    };
  }

  function humansIn(guild: Guild, channelId: string): number {
    return guild.voiceStates.cache.filter((s) => s.channelId === channelId && s.member?.user.bot !== true && s.id !== client.user?.id)
      .size;
  }

  function voiceChannel(guild: Guild, channelId: string): VoiceBasedChannel {
    const channel = guild.channels.cache.get(channelId);
    if (!channel?.isVoiceBased()) throw new UserFacingError(`<#${channelId}> is not a voice channel I can see.`);
    return channel;
  }

  function join(guild: Guild, channelId: string): VoiceConnection {
    const connection = joinVoiceChannel({
      guildId: guild.id,
      channelId,
      adapterCreator: guild.voiceAdapterCreator,
      selfDeaf: false,
      selfMute: true,
      ...(options.voiceGroup ? { group: options.voiceGroup } : {}),
    });
    logVoiceErrors(connection, log.child({ guildId: guild.id, channelId }));
    return connection;
  }

  function consentText(room: Pick<LiveRoom, 'hostId' | 'recorder'>): string {
    return renderConsentMessage({
      hostId: room.hostId,
      retentionDays: options.retentionDays,
      recording: room.recorder.recordingSpeakers().map((s) => s.name),
    });
  }

  /** Wires a running recorder to its Discord room and registers it. */
  function attach(guild: Guild, recorder: RoomRecorder, consent: Message): LiveRoom {
    const roomLog = log.child({ recordingId: recorder.id, guildId: guild.id });
    const room: LiveRoom = {
      guild,
      channelId: recorder.recording.channelId,
      hostId: recorder.recording.hostId,
      recorder,
      consent,
      consentEditor: createCoalescingEditor({
        apply: async (text) => {
          await consent.edit({ content: text, allowedMentions: { parse: [] } });
        },
        minIntervalMs: editIntervalMs,
        now: () => clock.now(),
        onError: (error) => roomLog.warn({ err: error }, 'could not update the consent message'),
      }),
      indicator: createIndicator({ guild, voiceChannelId: recorder.recording.channelId, log: roomLog }),
      stopping: undefined,
      stopProgress: undefined,
      linkSent: false,
    };
    recorder.on('speakers', () => room.consentEditor.update(consentText(room)));
    recorder.on('autoStop', (reason) => {
      void stopRoom(room, reason, undefined).catch((error: unknown) =>
        roomLog.error({ err: error, reason }, 'automatic stop failed'),
      );
    });
    recorder.on('voice', (change) => roomLog.info({ change }, 'voice connection change'));
    recorder.setHumansInRoom(humansIn(guild, room.channelId));
    rooms.set(guild.id, room);
    return room;
  }

  /** Everyone reacting with ✅ to the consent message now (every page of reactors). */
  async function consentReactors(message: Message): Promise<Map<string, User>> {
    const reaction = message.reactions.cache.find((r) => isConsentEmoji(r.emoji.name));
    const reacted = new Map<string, User>();
    if (!reaction) return reacted;
    let after: string | undefined;
    for (;;) {
      const page = await reaction.users.fetch({ limit: 100, ...(after ? { after } : {}) });
      for (const [id, user] of page) reacted.set(id, user);
      if (page.size < 100) break;
      after = page.lastKey();
    }
    return reacted;
  }

  /** Makes the recorder's consent set match the ✅ reactions of people in the room (start race, restart). */
  async function reconcile(room: LiveRoom): Promise<void> {
    const reacted = await consentReactors(await room.consent.fetch());
    for (const speaker of room.recorder.recordingSpeakers()) {
      if (!reacted.has(speaker.userId)) await room.recorder.withdrawConsent(speaker.userId);
    }
    const recordingNow = new Set(room.recorder.recordingSpeakers().map((s) => s.userId));
    for (const user of reacted.values()) {
      if (recordingNow.has(user.id)) continue;
      await grantIfAllowed(room, user, CONSENT_EMOJI);
    }
  }

  async function grantIfAllowed(room: LiveRoom, user: User, emoji: string | null): Promise<void> {
    const inRoom = room.guild.voiceStates.cache.get(user.id)?.channelId === room.channelId;
    const decision = judgeReaction({ emoji, isBot: user.bot, inRoom });
    if (!decision.counts) {
      log.debug({ userId: user.id, recordingId: room.recorder.id, why: decision.why }, 'reaction ignored');
      return;
    }
    const member = room.guild.members.cache.get(user.id);
    await room.recorder.grantConsent({ userId: user.id, name: member?.displayName ?? user.displayName });
  }

  async function onReaction(
    reaction: MessageReaction | PartialMessageReaction,
    rawUser: User | PartialUser,
    added: boolean,
  ): Promise<void> {
    const room = roomByMessage(reaction.message.id);
    if (!room || room.stopping) return;
    if (!isConsentEmoji(reaction.emoji.name)) return;
    if (!added) {
      // A withdrawal always counts, wherever the person is now.
      await room.recorder.withdrawConsent(rawUser.id);
      return;
    }
    const user = rawUser.partial ? await rawUser.fetch() : rawUser;
    await grantIfAllowed(room, user, reaction.emoji.name);
  }

  function onVoiceState(before: VoiceState, after: VoiceState): void {
    const room = rooms.get(after.guild.id);
    if (!room || room.stopping) return;
    if (before.channelId !== room.channelId && after.channelId !== room.channelId) return;
    room.recorder.setHumansInRoom(humansIn(room.guild, room.channelId));
  }

  const handlers = {
    reactionAdd: (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
      onReaction(reaction, user, true).catch((error: unknown) =>
        log.error({ err: error, userId: user.id, messageId: reaction.message.id }, 'consent reaction failed'),
      );
    },
    reactionRemove: (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => {
      onReaction(reaction, user, false).catch((error: unknown) =>
        log.error({ err: error, userId: user.id, messageId: reaction.message.id }, 'consent withdrawal failed'),
      );
    },
    voiceState: onVoiceState,
  };
  client.on(Events.MessageReactionAdd, handlers.reactionAdd);
  client.on(Events.MessageReactionRemove, handlers.reactionRemove);
  client.on(Events.VoiceStateUpdate, handlers.voiceState);

  async function postConsent(channel: VoiceBasedChannel, hostId: string, recorder: RoomRecorder): Promise<Message> {
    const message = await channel.send({ content: consentText({ hostId, recorder }), allowedMentions: { parse: [] } });
    await message.react(CONSENT_EMOJI);
    await store.updateRecording(recorder.id, (r) => {
      r.consentMessageId = message.id;
    });
    return message;
  }

  async function start(request: StartRequest): Promise<RoomSummary> {
    const previous = rooms.get(request.guildId);
    if (previous?.stopping) {
      throw new UserFacingError(
        `The last recording in this server is still being prepared (\`${previous.recorder.id}\`). Try again in a moment; \`/record status\` shows how far it got.`,
      );
    }
    if (previous || starting.has(request.guildId)) {
      throw new UserFacingError('A recording is already starting or running in this server. See `/record status`.');
    }
    starting.add(request.guildId);
    try {
      const guild = await client.guilds.fetch(request.guildId);
      const channel = voiceChannel(guild, request.channelId);
      const connection = join(guild, channel.id);
      let recorder: RoomRecorder;
      try {
        recorder = await RoomRecorder.start({
          meta: { ...request, textChannelId: channel.id },
          connection,
          deps: options.recorder,
        });
      } catch (error) {
        // Leaves voice whatever the reason, so a refused start leaves no trace in the room.
        connection.destroy();
        throw startRefusal(error, channel.id) ?? error;
      }
      let consent: Message;
      try {
        consent = await postConsent(channel, request.hostId, recorder);
      } catch (error) {
        // Nobody could have consented without the message: discard the empty recording.
        const outcome = await recorder.stop('command');
        await library.remove(outcome.recording);
        throw error;
      }
      const room = attach(guild, recorder, consent);
      await room.indicator.on();
      await reconcile(room);
      log.info({ recordingId: recorder.id, guildId: guild.id, channelId: channel.id, hostId: request.hostId }, 'room recording');
      const started = summary(room);
      for (const listener of startListeners) listener(started);
      return started;
    } finally {
      starting.delete(request.guildId);
    }
  }

  /** Tells the host: a DM with a fresh link, or (DMs closed, DM failed) a mention in the room's chat without it. */
  function deliver(recording: Recording, intro: string, channel: VoiceBasedChannel | undefined): Promise<DeliveryResult> {
    return deliverLink(
      {
        library,
        log,
        chat: async (content, mention) => {
          if (!channel?.isSendable()) return false;
          await channel.send({ content, allowedMentions: { users: [mention] } });
          return true;
        },
      },
      recording,
      intro,
    );
  }

  /**
   * Runs a stop (or a finish after a restart) and tells the host: one link DM when the recording is ready in
   * time, else the link at once and a short DM when the mix is done (stop-delivery.ts).
   */
  async function stopAndTell(opts: {
    recordingId: string;
    /** When the stop was asked for (monotonic): the early link is timed from there. */
    since: number;
    run: (onProgress: (p: StopProgress) => void) => Promise<StopOutcome>;
    intro: { reason: StopReason; stoppedBy: string | undefined };
    channel: VoiceBasedChannel | undefined;
    onProgress?: (p: StopProgress) => void;
    onEarlyLink?: (result: DeliveryResult, recording: Recording) => void;
  }): Promise<{ outcome: StopOutcome; linkSent: boolean; linkBeforeMix: boolean; linkAt: number }> {
    const { reason, stoppedBy } = opts.intro;
    let linkAt: number | undefined;
    const delivery = await stopAndDeliver(
      opts.run,
      {
        earlyAfterMs: Math.max(0, earlyLinkAfterMs - (clock.now() - opts.since)),
        timers,
        current: () => store.getRecording(opts.recordingId),
        sendLink: async (recording, when) => {
          const intro = when === 'early' ? preparingIntro(recording, reason, stoppedBy, limits) : readyIntro(recording, reason, stoppedBy, limits);
          const result = await deliver(recording, intro, opts.channel);
          linkAt ??= clock.now();
          return result;
        },
        sendMixFinished: async (recording) => {
          await library.tellHost(recording, mixFinishedNote(recording)).then(
            (outcome) => {
              if (outcome.status !== 'sent') log.warn({ recordingId: recording.id }, 'could not DM the host that the mix is done');
            },
            (error: unknown) => log.error({ err: error, recordingId: recording.id }, 'could not DM the host that the mix is done'),
          );
        },
        ...(opts.onEarlyLink ? { onEarlyLink: opts.onEarlyLink } : {}),
      },
      opts.onProgress,
    );
    return { outcome: delivery.outcome, linkSent: delivery.linkSent, linkBeforeMix: delivery.early, linkAt: linkAt ?? clock.now() };
  }

  /** The consent message's final text: the room ended, when its recording is deleted. */
  function endConsentMessage(room: LiveRoom, recording: Recording): void {
    const stoppedAt = recording.stoppedAt ?? now();
    room.consentEditor.update(
      renderConsentMessage({
        hostId: room.hostId,
        retentionDays: options.retentionDays,
        recording: [],
        ended: { at: stoppedAt, deletesAt: deletionTime({ ...recording, stoppedAt }, options.retentionDays) },
      }),
    );
  }

  function stopRoom(room: LiveRoom, reason: StopReason, stoppedBy: string | undefined): Promise<StopReport> {
    room.stopping ??= runStop(room, reason, stoppedBy).finally(() => {
      rooms.delete(room.guild.id);
    });
    return room.stopping;
  }

  async function runStop(room: LiveRoom, reason: StopReason, stoppedBy: string | undefined): Promise<StopReport> {
    const t0 = clock.now();
    const roomLog = log.child({ recordingId: room.recorder.id, guildId: room.guild.id });
    const channel = room.guild.channels.cache.get(room.channelId);
    const voice = channel?.isVoiceBased() ? channel : undefined;
    // The voice channel status can only be cleared while the bot is still connected, so before the recorder
    // leaves; capped so a slow or rate-limited API cannot hold the stop up.
    await Promise.race([room.indicator.off(), delay(INDICATOR_OFF_CAP_MS)]);

    // A long room shows its progress: a message appears if preparing takes more than progressAfterMs.
    const progress = createProgressMessage({
      post: async (text) => {
        if (!voice?.isSendable()) return undefined;
        const message = await voice.send({ content: text, allowedMentions: { parse: [] } });
        return async (next) => {
          await message.edit({ content: next, allowedMentions: { parse: [] } });
        };
      },
      initial: progressLine({ phase: 'closing-tracks' }),
      afterMs: progressAfterMs,
      editIntervalMs,
      now: () => clock.now(),
      onError: (error, what) => roomLog.warn({ err: error }, `could not ${what} the progress message`),
    });
    const showProgress = (): void => {
      if (room.stopProgress) progress.update(progressLine(room.stopProgress, room.linkSent));
    };
    let told: Awaited<ReturnType<typeof stopAndTell>>;
    try {
      told = await stopAndTell({
        recordingId: room.recorder.id,
        since: t0,
        run: (onProgress) => room.recorder.stop(reason, { onProgress }),
        intro: { reason, stoppedBy },
        channel: voice,
        onProgress: (p) => {
          room.stopProgress = p;
          showProgress();
        },
        onEarlyLink: (result, recording) => {
          room.linkSent = result === 'sent';
          showProgress();
          // The consent message says the room ended as soon as the host has the link.
          endConsentMessage(room, recording);
        },
      });
    } finally {
      progress.settle();
    }
    const { outcome, linkSent } = told;
    const recording = outcome.recording;
    room.linkSent = linkSent;
    const stopToLinkMs = told.linkAt - t0;
    endConsentMessage(room, recording);

    await room.consentEditor.flush();
    await progress.finish(progressDoneLine(recording, linkSent));
    const report: StopReport = {
      recordingId: recording.id,
      reason,
      state: recording.state,
      linkSent,
      linkBeforeMix: told.linkBeforeMix,
      stopToLinkMs: Math.round(stopToLinkMs),
      pipeline: { ...outcome.timings },
    };
    roomLog.info(report, 'room stopped; host told');
    for (const listener of stopListeners) listener(report);
    return report;
  }

  async function stop(guildId: string, stoppedBy: string): Promise<void> {
    const room = rooms.get(guildId);
    if (!room) throw new UserFacingError('Nothing is being recorded in this server.');
    await stopRoom(room, 'command', stoppedBy);
  }

  /** A recording that cannot continue in its room: finish it from disk and tell the host. */
  async function finish(recording: Recording, reason: StopReason): Promise<void> {
    await stopAndTell({
      recordingId: recording.id,
      since: clock.now(),
      run: (onProgress) => finishInterrupted(recording, options.recorder, { reason, onProgress }),
      intro: { reason, stoppedBy: undefined },
      channel: roomChannel(recording),
    });
  }

  function roomChannel(recording: Recording): VoiceBasedChannel | undefined {
    const channel = client.guilds.cache.get(recording.guildId)?.channels.cache.get(recording.channelId);
    return channel?.isVoiceBased() ? channel : undefined;
  }

  async function resume(recording: Recording): Promise<void> {
    const guild = client.guilds.cache.get(recording.guildId);
    const channel = roomChannel(recording);
    if (!guild || !channel || !recording.consentMessageId) {
      log.warn({ recordingId: recording.id }, 'cannot resume: the room or its consent message is gone');
      return finish(recording, 'interrupted');
    }
    const consent = await channel.messages.fetch(recording.consentMessageId).catch((error: unknown) => {
      log.warn({ err: error, recordingId: recording.id }, 'cannot resume: consent message unavailable');
      return undefined;
    });
    if (!consent) return finish(recording, 'interrupted');
    // Who still consents is read BEFORE anyone is subscribed: a ✅ removed while the bot was down is a
    // withdrawal, and not one packet of that speaker may be written after the crash.
    const consenting = new Set((await consentReactors(consent)).keys());
    const connection = join(guild, channel.id);
    let recorder: RoomRecorder;
    try {
      recorder = await RoomRecorder.resume({ recording, consenting, connection, deps: options.recorder });
    } catch (error) {
      connection.destroy();
      log.warn({ err: error, recordingId: recording.id }, 'cannot resume: voice unavailable');
      // Withdrawals noticed above are already stored: finish what the store says now.
      return finish((await store.getRecording(recording.id)) ?? recording, 'interrupted');
    }
    const room = attach(guild, recorder, consent);
    await room.indicator.on();
    // Again after attaching: reactions that changed while voice was connecting, and people who opted in while
    // the bot was down (only those in the room count).
    await reconcile(room);
    room.consentEditor.update(consentText(room));
    log.info({ recordingId: recording.id, speakers: recorder.recordingSpeakers().length }, 'recording resumed after restart');
  }

  /** Resuming (or finishing) threw: finish from disk what is still busy; failing that, mark it failed. */
  async function recoverFrom(recording: Recording, error: unknown): Promise<void> {
    const current = (await store.getRecording(recording.id)) ?? recording;
    if (!BUSY_STATES.includes(current.state)) return;
    try {
      await finish(current, current.stopReason ?? 'interrupted');
    } catch (finishError) {
      log.error({ err: finishError, recordingId: recording.id }, 'could not finish an interrupted recording from disk');
      await giveUp(current, finishError ?? error);
    }
  }

  /**
   * A recording that could be neither resumed nor finished must not stay busy forever (retention skips busy
   * recordings): mark it failed with the reason, and tell the host in the room's chat (no link: the host can
   * DM `download` or delete it).
   */
  async function giveUp(recording: Recording, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const failed = await failInterrupted(store, recording.id, `could not be finished after a restart: ${reason}`, now()).catch(
      (markError: unknown) => {
        log.error({ err: markError, recordingId: recording.id }, 'could not mark an unfinishable recording as failed');
        return undefined;
      },
    );
    const channel = roomChannel(recording);
    if (!channel?.isSendable()) return;
    await channel
      .send({ content: unfinishableNotice(failed ?? recording, reason), allowedMentions: { users: [recording.hostId] } })
      .catch((sendError: unknown) => log.warn({ err: sendError, recordingId: recording.id }, 'could not tell the host'));
  }

  return {
    current: (guildId) => {
      const room = rooms.get(guildId);
      return room && !room.stopping ? summary(room) : undefined;
    },
    stopping: (guildId): StoppingSummary | undefined => {
      const room = rooms.get(guildId);
      if (!room?.stopping) return undefined;
      const view = { channelId: room.channelId, hostId: room.hostId, linkSent: room.linkSent };
      return {
        recordingId: room.recorder.id,
        ...view,
        ...(room.stopProgress ? { progress: room.stopProgress } : {}),
        text: stoppingStatusLine({ ...view, ...(room.stopProgress ? { progress: room.stopProgress } : {}) }),
      };
    },
    start,
    stop,

    async resumeAll() {
      const unfinished = await store.listRecordings({ state: [...BUSY_STATES] });
      for (const recording of unfinished) {
        recovering.add(recording.id);
        try {
          if (recording.state === 'recording') await resume(recording);
          else await finish(recording, recording.stopReason ?? 'interrupted');
        } catch (error) {
          log.error({ err: error, recordingId: recording.id }, 'could not resume or finish an interrupted recording');
          // Resumed far enough to be recording in a room: it is live, not stuck.
          if (!hasRoom(recording.id)) {
            await recoverFrom(recording, error).catch((recoverError: unknown) =>
              log.error({ err: recoverError, recordingId: recording.id }, 'could not recover an interrupted recording'),
            );
          }
        } finally {
          recovering.delete(recording.id);
        }
      }
    },

    isLive,

    async stopAll(reason) {
      await Promise.allSettled([...rooms.values()].map((room) => stopRoom(room, reason, undefined)));
    },

    onStopped(listener) {
      stopListeners.push(listener);
    },

    onStarted(listener) {
      startListeners.push(listener);
    },

    dispose() {
      client.off(Events.MessageReactionAdd, handlers.reactionAdd);
      client.off(Events.MessageReactionRemove, handlers.reactionRemove);
      client.off(Events.VoiceStateUpdate, handlers.voiceState);
    },
  };
}
