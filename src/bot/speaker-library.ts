// The speaker's side of the recordings that hold their voice: the DM each of them gets at a stop, `mine`, `my
// track <id>` and `notify on|off`. A recording holds someone's voice when they are one of its speakers and their
// track is on disk; they are told at the stop only when that track holds sound. Whoever asks gets only their own:
// an id that is unknown, someone else's or has no track of theirs gets the same answer.
import { stat } from 'node:fs/promises';
import type { Client } from 'discord.js';
import type { IssuedDownloadLink } from '../http/download-server.ts';
import type { Logger } from '../log.ts';
import { recordedMs, trackHasSound } from '../recording/speaker-voice.ts';
import { isRecordingId } from '../storage/layout.ts';
import { expiresAt } from '../storage/retention.ts';
import { ACTIVE_STATES, type Recording, type Speaker, type Store } from '../storage/store.ts';
import { isDmClosed } from './library.ts';
import type { Speakers } from './services.ts';
import {
  mineList,
  NO_TRACK_OF_YOURS,
  NOTIFY_OFF,
  NOTIFY_ON,
  stillRecording,
  stopNotice,
  trackLinkText,
  type OwnRecording,
} from './speaker-notice.ts';

export type SpeakerLibraryDeps = {
  client: Client;
  store: Store;
  /** A signed link bound to the recording and this speaker (download-server.ts linkFor with a speaker). */
  linkForSpeaker: (recordingId: string, speakerId: string, now: number) => IssuedDownloadLink;
  retentionDays: number;
  now: () => number;
  log: Logger;
};

export function createSpeakerLibrary(deps: SpeakerLibraryDeps): Speakers {
  const { client, store, log } = deps;
  const policy = { retentionDays: deps.retentionDays };

  const trackPath = (recording: Recording, speaker: Speaker): string | undefined => {
    try {
      return store.layout.file(recording.id, speaker.trackFile);
    } catch (error) {
      log.error({ err: error, recordingId: recording.id }, 'metadata names a track outside the data directory');
      return undefined;
    }
  };

  /** Their speaker entry, when their track is on disk. */
  async function ownTrack(recording: Recording, userId: string): Promise<{ speaker: Speaker; path: string } | undefined> {
    const speaker = recording.speakers.find((s) => s.userId === userId);
    const path = speaker && trackPath(recording, speaker);
    if (!speaker || path === undefined) return undefined;
    const file = await stat(path).catch(() => undefined);
    return file?.isFile() ? { speaker, path } : undefined;
  }

  async function describe(recording: Recording, userId: string): Promise<OwnRecording> {
    const guild = client.guilds.cache.get(recording.guildId);
    return {
      id: recording.id,
      hostName: recording.hostName,
      startedAt: recording.startedAt,
      guild: guild?.name,
      channel: guild?.channels.cache.get(recording.channelId)?.name,
      recordedMs: recordedMs(recording, await store.consentEvents(recording.id), userId),
      deletesAt: expiresAt(recording, policy),
    };
  }

  /** The recording if `userId` has a track in it; undefined for every other case alike. */
  async function recordingWithTrackOf(recordingId: string, userId: string): Promise<Recording | undefined> {
    if (!isRecordingId(recordingId)) return undefined;
    const recording = await store.getRecording(recordingId);
    return recording && (await ownTrack(recording, userId)) ? recording : undefined;
  }

  async function tellOne(recording: Recording, speaker: Speaker): Promise<void> {
    const context = { recordingId: recording.id, userId: speaker.userId };
    const track = await ownTrack(recording, speaker.userId);
    if (!track || !(await trackHasSound(track.path))) return;
    if (!(await store.userPrefs(speaker.userId)).notify) {
      log.info(context, 'speaker turned stop notices off; not told');
      return;
    }
    const content = stopNotice(await describe(recording, speaker.userId));
    try {
      const user = await client.users.fetch(speaker.userId);
      await user.send({ content, allowedMentions: { parse: [] } });
      log.info(context, 'speaker told they were recorded');
    } catch (error) {
      // Closed DMs are their choice: logged, and nothing is said anywhere else.
      if (isDmClosed(error)) log.info(context, 'speaker does not accept DMs; not told');
      else throw error;
    }
  }

  return {
    async mineText(userId) {
      const own: OwnRecording[] = [];
      for (const recording of await store.listRecordings()) {
        if (await ownTrack(recording, userId)) own.push(await describe(recording, userId));
      }
      return mineList(own);
    },

    async trackLinkText(recordingId, userId) {
      const recording = await recordingWithTrackOf(recordingId, userId);
      if (!recording) return NO_TRACK_OF_YOURS;
      if (ACTIVE_STATES.includes(recording.state)) return stillRecording(recording.id);
      const link = deps.linkForSpeaker(recording.id, userId, deps.now());
      // Stored before it is given out, as the host's links are: a link out there is one the store knows.
      await store.recordLink({
        id: link.linkId,
        recordingId: recording.id,
        issuedTo: userId,
        issuedAt: link.issuedAt,
        expiresAt: link.expiresAt,
      });
      log.info({ recordingId: recording.id, linkId: link.linkId, expiresAt: link.expiresAt }, "speaker's track link issued");
      return trackLinkText(await describe(recording, userId), link.url, link.expiresAt);
    },

    async setNotify(userId, on) {
      await store.setUserPrefs(userId, { ...(await store.userPrefs(userId)), notify: on });
      return on ? NOTIFY_ON : NOTIFY_OFF;
    },

    async tellSpeakers(recording) {
      for (const speaker of recording.speakers) {
        await tellOne(recording, speaker).catch((error: unknown) =>
          log.error({ err: error, recordingId: recording.id, userId: speaker.userId }, 'could not tell a speaker they were recorded'),
        );
      }
    },
  };
}
