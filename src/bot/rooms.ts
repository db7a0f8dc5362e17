// The rooms this bot is recording, one session per guild (room-session.ts), and the wiring of gateway events
// to them: a consent reaction goes to the session whose consent message it is on, a voice state change to the
// session of that guild. Restart recovery (restart-recovery.ts) opens sessions through this registry too.
import {
  Events,
  type Client,
  type MessageReaction,
  type PartialMessageReaction,
  type PartialUser,
  type User,
  type VoiceState,
} from 'discord.js';
import type { Logger } from '../log.ts';
import type { Clock } from '../recording/clock.ts';
import type { StopReason } from '../recording/recording-state.ts';
import type { RoomDeps } from '../recording/room-recorder.ts';
import type { Recording, Store } from '../storage/store.ts';
import { realTimers, type Timers } from './coalescing-editor.ts';
import { NOTHING_RECORDED, UserFacingError } from './errors.ts';
import { createRestartRecovery } from './restart-recovery.ts';
import { RoomSession, type SessionDeps, type StopReport } from './room-session.ts';
import type { Library, RoomSummary, Rooms, StartRequest } from './services.ts';
import type { StopLimits } from './stop-notice.ts';

export type { StopReport } from './room-session.ts';

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
  /** Each stop once its host has been told (ready or failed), live or after a restart. */
  onFinished?: (recording: Recording) => void;
  /** @discordjs/voice keeps connections in a process-wide map keyed by group + guild; one group per bot. */
  voiceGroup?: string;
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
  const { client, log } = options;
  /** One session per guild, from the moment it starts until its host has been told it stopped. */
  const sessions = new Map<string, RoomSession>();
  const stopListeners: ((report: StopReport) => void)[] = [];
  const startListeners: ((room: RoomSummary) => void)[] = [];

  const sessionDeps: SessionDeps = {
    client,
    store: options.store,
    library: options.library,
    log,
    clock: options.clock,
    limits: options.limits,
    earlyLinkAfterMs: options.earlyLinkAfterMs ?? 3000,
    timers: options.timers ?? realTimers,
    ...(options.onFinished ? { onFinished: options.onFinished } : {}),
    recorder: options.recorder,
    removeRecording: (recording) => options.library.remove(recording),
    retentionDays: options.retentionDays,
    now: options.now,
    progressAfterMs: options.progressAfterMs ?? 2000,
    editIntervalMs: options.editIntervalMs ?? 1000,
    voiceGroup: options.voiceGroup,
    closed: (session, report) => {
      if (sessions.get(session.guildId) === session) sessions.delete(session.guildId);
      if (report) for (const listener of stopListeners) listener(report);
    },
  };

  function open(room: { guildId: string; channelId: string; hostId: string }): RoomSession {
    const session = new RoomSession(sessionDeps, room);
    sessions.set(room.guildId, session);
    return session;
  }

  const hasSession = (recordingId: string): boolean => [...sessions.values()].some((s) => s.recordingId === recordingId);
  const recovery = createRestartRecovery({
    ...sessionDeps,
    openSession: (recording: Recording) => open(recording),
    hasSession,
  });

  function dispatchReaction(reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser, added: boolean): void {
    const session = [...sessions.values()].find((s) => s.consentMessageId === reaction.message.id);
    session
      ?.onReaction(user, reaction.emoji.name, added)
      .catch((error: unknown) =>
        log.error(
          { err: error, userId: user.id, messageId: reaction.message.id },
          added ? 'consent reaction failed' : 'consent withdrawal failed',
        ),
      );
  }

  const handlers = {
    reactionAdd: (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) => dispatchReaction(reaction, user, true),
    reactionRemove: (reaction: MessageReaction | PartialMessageReaction, user: User | PartialUser) =>
      dispatchReaction(reaction, user, false),
    voiceState: (before: VoiceState, after: VoiceState) => {
      const session = sessions.get(after.guild.id);
      if (session && (before.channelId === session.channelId || after.channelId === session.channelId)) session.onVoiceState();
    },
  };
  client.on(Events.MessageReactionAdd, handlers.reactionAdd);
  client.on(Events.MessageReactionRemove, handlers.reactionRemove);
  client.on(Events.VoiceStateUpdate, handlers.voiceState);

  /** The guild's session for a note; which phase it is in is the session's to judge. */
  const noteSession = (guildId: string): RoomSession => {
    const session = sessions.get(guildId);
    if (!session) throw new UserFacingError(NOTHING_RECORDED);
    return session;
  };

  return {
    current: (guildId) => {
      const session = sessions.get(guildId);
      return session?.lifecycle.phase === 'recording' ? session.summary() : undefined;
    },
    stopping: (guildId) => sessions.get(guildId)?.stoppingSummary(),

    async start(request: StartRequest) {
      const previous = sessions.get(request.guildId);
      const stopping = previous?.stoppingSummary();
      if (stopping) {
        throw new UserFacingError(
          `The last recording in this server is still being prepared (\`${stopping.recordingId}\`). Try again in a moment; \`/record status\` shows how far it got.`,
        );
      }
      if (previous) throw new UserFacingError('A recording is already starting or running in this server. See `/record status`.');
      // Registered before the first await, so a second start in the same guild is refused.
      const started = await open(request).start(request);
      for (const listener of startListeners) listener(started);
      return started;
    },

    checkNote: (guildId, userId) => void noteSession(guildId).checkNote(userId),
    setReuse: async (recordingId, userId, reuse) =>
      [...sessions.values()].find((s) => s.recordingId === recordingId)?.setReuse(userId, reuse),
    note: async (guildId, by, text) => noteSession(guildId).note(by, text),

    async stop(guildId, stoppedBy) {
      const session = sessions.get(guildId);
      // Starting is not yet recording; a stop already under way is joined.
      if (!session?.recordingId) throw new UserFacingError(NOTHING_RECORDED);
      await session.stop('command', stoppedBy);
    },

    resumeAll: () => recovery.recoverAll(),
    isLive: (recordingId) => recovery.recovering(recordingId) || hasSession(recordingId),

    async stopAll(reason) {
      const live = [...sessions.values()].filter((s) => s.recordingId !== undefined);
      await Promise.allSettled(live.map((session) => session.stop(reason, undefined)));
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
