// What the bot does at start-up with recordings a previous process left busy (lifecycleOf: recording or
// stopping): one still recording whose room and consent message are there is resumed in a new session; every
// other is finished from disk and its host told; one that cannot even be finished is marked failed, so it
// never stays busy (retention skips busy recordings), and the host is told in the room's chat. A ready one
// whose levelled mix was still being made has it made again (stop-pipeline.ts resumeReadySteps).
import type { Client } from 'discord.js';
import { lifecycleOf } from '../recording/room-lifecycle.ts';
import { finishInterrupted, pipelineDeps, type RoomDeps } from '../recording/room-recorder.ts';
import type { StopReason } from '../recording/recording-state.ts';
import { failInterrupted, resumeReadySteps } from '../recording/stop-pipeline.ts';
import { BUSY_STATES, type Recording } from '../storage/store.ts';
import type { RoomSession } from './room-session.ts';
import { roomChannel } from './room-voice-channel.ts';
import { unfinishableNotice } from './stop-notice.ts';
import { stopAndTell, type TellHostDeps } from './tell-host.ts';

export type RecoveryDeps = TellHostDeps & {
  client: Client;
  recorder: RoomDeps;
  /** Epoch ms. */
  now: () => number;
  /** A new session, registered, for the recording's room (rooms.ts). */
  openSession: (recording: Recording) => RoomSession;
  /** Whether a live session is writing the recording. */
  hasSession: (recordingId: string) => boolean;
};

export type RestartRecovery = {
  /** Resumes or finishes every recording left busy; resolves when each is live again or done. */
  recoverAll(): Promise<void>;
  /** Whether a recording is being resumed or finished right now. */
  recovering(recordingId: string): boolean;
};

export function createRestartRecovery(deps: RecoveryDeps): RestartRecovery {
  const { store, log } = deps;
  const recovering = new Set<string>();

  /** A recording that cannot continue in its room: finish it from disk and tell the host. */
  async function finish(recording: Recording, reason: StopReason): Promise<void> {
    await stopAndTell(deps, {
      recordingId: recording.id,
      since: deps.clock.now(),
      run: (onProgress) => finishInterrupted(recording, deps.recorder, { reason, onProgress }),
      intro: { reason, stoppedBy: undefined },
      channel: roomChannel(deps.client, recording),
    });
  }

  async function resume(recording: Recording): Promise<void> {
    const channel = roomChannel(deps.client, recording);
    if (!channel || !recording.consentMessageId) {
      log.warn({ recordingId: recording.id }, 'cannot resume: the room or its consent message is gone');
      return finish(recording, 'interrupted');
    }
    const consent = await channel.messages.fetch(recording.consentMessageId).catch((error: unknown) => {
      log.warn({ err: error, recordingId: recording.id }, 'cannot resume: consent message unavailable');
      return undefined;
    });
    if (!consent) return finish(recording, 'interrupted');
    const session = deps.openSession(recording);
    if ((await session.resume(channel.guild, recording, consent)) === 'voice-unavailable') {
      // Withdrawals noticed while trying are already stored: finish what the store says now.
      return finish((await store.getRecording(recording.id)) ?? recording, 'interrupted');
    }
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

  /** Marks it failed with the reason and tells the host in the room's chat (no link: they can DM `download`). */
  async function giveUp(recording: Recording, error: unknown): Promise<void> {
    const reason = error instanceof Error ? error.message : String(error);
    const failed = await failInterrupted(store, recording.id, `could not be finished after a restart: ${reason}`, deps.now()).catch(
      (markError: unknown) => {
        log.error({ err: markError, recordingId: recording.id }, 'could not mark an unfinishable recording as failed');
        return undefined;
      },
    );
    if (failed) deps.onFinished?.(failed);
    const channel = roomChannel(deps.client, recording);
    if (!channel?.isSendable()) return;
    await channel
      .send({ content: unfinishableNotice(failed ?? recording, reason), allowedMentions: { users: [recording.hostId] } })
      .catch((sendError: unknown) => log.warn({ err: sendError, recordingId: recording.id }, 'could not tell the host'));
  }

  return {
    recovering: (recordingId) => recovering.has(recordingId),
    async recoverAll() {
      const unfinished = await store.listRecordings({ state: [...BUSY_STATES] });
      for (const recording of unfinished) {
        recovering.add(recording.id);
        try {
          const life = lifecycleOf(recording);
          if (life.phase === 'recording') await resume(recording);
          else await finish(recording, life.phase === 'stopping' ? life.reason : 'interrupted');
        } catch (error) {
          log.error({ err: error, recordingId: recording.id }, 'could not resume or finish an interrupted recording');
          // Resumed far enough to be recording in a room: it is live, not stuck.
          if (!deps.hasSession(recording.id)) {
            await recoverFrom(recording, error).catch((recoverError: unknown) =>
              log.error({ err: recoverError, recordingId: recording.id }, 'could not recover an interrupted recording'),
            );
          }
        } finally {
          recovering.delete(recording.id);
        }
      }
      // Ready, but with something made after 'ready' cut off (the levelled mix): made again, in the background.
      for (const recording of await store.listRecordings({ state: 'ready' })) {
        await resumeReadySteps(recording, pipelineDeps(deps.recorder)).catch((error: unknown) =>
          log.warn({ err: error, recordingId: recording.id }, 'could not make again what a restart cut off'),
        );
      }
    },
  };
}
