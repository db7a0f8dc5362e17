// A host's stored recordings as the bot offers them: ownership checks, fresh links by DM, deletion.
import { DiscordAPIError, RESTJSONErrorCodes, type Client } from 'discord.js';
import type { IssuedDownloadLink } from '../http/download-server.ts';
import type { Logger } from '../log.ts';
import { isRecordingId } from '../storage/layout.ts';
import { deleteRecording, expiresAt } from '../storage/retention.ts';
import { BUSY_STATES, type Recording, type Store } from '../storage/store.ts';
import { UserFacingError } from './errors.ts';
import { discordTime } from './format.ts';
import type { Library, LinkOutcome } from './services.ts';

export type LibraryDeps = {
  client: Client;
  store: Store;
  linkFor: (recordingId: string, now: number) => IssuedDownloadLink;
  retentionDays: number;
  now: () => number;
  log: Logger;
  /** Whether this process is writing the recording right now (rooms.isLive); only those cannot be deleted. */
  isLive: (recordingId: string) => boolean;
  /** A host deleted a recording (the webhook's `recording.deleted`). */
  onDeleted?: (recording: Recording) => void;
  /** Settles what is still being made from a recording before it goes (retention.ts DeleteRecordingOptions). */
  beforeDelete?: (recordingId: string) => Promise<void>;
};

/**
 * A fresh signed link, stored before anyone is given it: a link out there is always one the store knows (a
 * failed send leaves an unused record, which expires with the link). The host's DM and the webhook use this.
 */
export async function issueLink(deps: Pick<LibraryDeps, 'store' | 'linkFor' | 'now'>, recording: Recording): Promise<IssuedDownloadLink> {
  const link = deps.linkFor(recording.id, deps.now());
  await deps.store.recordLink({
    id: link.linkId,
    recordingId: recording.id,
    issuedTo: recording.hostId,
    issuedAt: link.issuedAt,
    expiresAt: link.expiresAt,
  });
  return link;
}

/** Discord's answer when a user does not accept DMs from the bot (privacy setting, block, no shared server). */
export function isDmClosed(error: unknown): boolean {
  return error instanceof DiscordAPIError && error.code === RESTJSONErrorCodes.CannotSendMessagesToThisUser;
}

export function createLibrary(deps: LibraryDeps): Library {
  const { client, store, log } = deps;
  const policy = { retentionDays: deps.retentionDays };

  const notYours = (id: string) => new UserFacingError(`You have no recording \`${id}\`. \`/recordings list\` shows the ones you hosted.`);

  const deletesAt = (recording: Recording) => expiresAt(recording, policy);

  /** Closed DMs are an answer (the caller says so in the room); anything else is an error for the caller. */
  async function dmHost(recording: Recording, content: string): Promise<'sent' | 'dm-closed'> {
    try {
      const host = await client.users.fetch(recording.hostId);
      await host.send({ content, allowedMentions: { parse: [] } });
      return 'sent';
    } catch (error) {
      if (isDmClosed(error)) return 'dm-closed';
      throw error;
    }
  }

  return {
    listFor: (userId) => store.listRecordings({ hostId: userId }),

    async requireOwned(recordingId, userId) {
      if (!isRecordingId(recordingId)) throw notYours(recordingId);
      const recording = await store.getRecording(recordingId);
      if (!recording || recording.hostId !== userId) throw notYours(recordingId);
      return recording;
    },

    deletesAt,

    async sendLink(recording, intro): Promise<LinkOutcome> {
      const link = await issueLink(deps, recording);
      const deletion = deletesAt(recording);
      const content = [
        intro,
        link.url,
        `This link is private: anyone who has it can download the recording. It works until ${discordTime(link.expiresAt, 'f')}; DM me \`download ${recording.id}\` for a fresh one.` +
          (deletion === undefined ? '' : ` The recording is deleted ${discordTime(deletion, 'D')}.`),
      ].join('\n');
      if ((await dmHost(recording, content)) === 'dm-closed') {
        log.warn({ recordingId: recording.id, hostId: recording.hostId }, 'host does not accept DMs; link not sent');
        return { status: 'dm-closed' };
      }
      log.info({ recordingId: recording.id, linkId: link.linkId, expiresAt: link.expiresAt }, 'download link sent');
      return { status: 'sent', url: link.url, expiresAt: link.expiresAt };
    },

    async tellHost(recording, text) {
      return (await dmHost(recording, text)) === 'dm-closed' ? { status: 'dm-closed' } : { status: 'sent' };
    },

    async remove(recording) {
      // A busy state left by a crash is not being written by anyone: the host may delete it.
      if (BUSY_STATES.includes(recording.state) && deps.isLive(recording.id)) {
        throw new UserFacingError(
          `Recording \`${recording.id}\` is still being recorded or prepared; stop it (or wait a moment) before deleting it.`,
        );
      }
      await deleteRecording({
        store,
        recordingId: recording.id,
        log,
        ...(deps.onDeleted ? { onDeleted: deps.onDeleted } : {}),
        ...(deps.beforeDelete ? { beforeDelete: deps.beforeDelete } : {}),
      });
      log.info({ recordingId: recording.id, hostId: recording.hostId }, 'recording deleted by its host');
    },
  };
}
