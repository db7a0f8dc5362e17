// What slash commands and the DM handler are given: small interfaces, built once by the composition root.
import type { Logger } from '../log.ts';
import type { ReuseChange } from '../recording/reuse-change.ts';
import type { StopProgress } from '../recording/stop-pipeline.ts';
import type { Note, Recording } from '../storage/store.ts';

/** A live room as commands see it. */
export type RoomSummary = {
  recordingId: string;
  guildId: string;
  channelId: string;
  hostId: string;
  startedAt: number;
  /** Display names of the speakers being recorded right now. */
  recording: readonly string[];
  /** Those of them who allow reuse (📣). */
  reusing: readonly string[];
  /** End-to-end encryption now: the voice privacy code people can compare; null when the room is not E2EE. */
  e2ee: Recording['e2ee'];
  /** Notes added so far, oldest first. */
  notes: readonly Note[];
};

export type StartRequest = {
  guildId: string;
  channelId: string;
  hostId: string;
  hostName: string;
};

/** A room that was stopped and is being prepared (tracks closing, mixing): for `/record status`. */
export type StoppingSummary = {
  recordingId: string;
  channelId: string;
  hostId: string;
  progress?: StopProgress;
  /** Whether the host already has the link (sent before the mix was done). */
  linkSent: boolean;
  /** The status line to show. */
  text: string;
};

export type Rooms = {
  /** The room being recorded; undefined once it is stopping (see `stopping`). */
  current(guildId: string): RoomSummary | undefined;
  /** The room being stopped and prepared right now, if any. */
  stopping(guildId: string): StoppingSummary | undefined;
  /** Joins, posts the consent message and starts recording. Throws UserFacingError for refusals. */
  start(request: StartRequest): Promise<RoomSummary>;
  /** Throws the UserFacingError a note by `userId` would meet now (nothing recorded, not someone recorded). */
  checkNote(guildId: string, userId: string): void;
  /** Adds a note at this moment of the guild's recording. Throws UserFacingError for refusals. */
  note(guildId: string, by: { userId: string; name: string }, text: string): Promise<Note>;
  /**
   * `reuse on|off` for the live room recording `recordingId` (`withdrawn`: `userId` is not being recorded in it
   * now); undefined when no room here is recording it.
   */
  setReuse(recordingId: string, userId: string, reuse: boolean): Promise<ReuseChange | undefined>;
  /** Stops, mixes, DMs the host. Resolves when the host has been told (or could not be). */
  stop(guildId: string, stoppedBy: string): Promise<void>;
};

export type LinkOutcome = { status: 'sent'; url: string; expiresAt: number } | { status: 'dm-closed' };

export type Library = {
  /** The user's recordings, newest first. */
  listFor(userId: string): Promise<Recording[]>;
  /** The recording if `userId` hosts it; otherwise a UserFacingError that does not say whether it exists. */
  requireOwned(recordingId: string, userId: string): Promise<Recording>;
  /** When the recording's files will be deleted, if it has stopped. */
  deletesAt(recording: Recording): number | undefined;
  /** Records, then DMs the host, a fresh signed link. Throws on any DM failure other than closed DMs. */
  sendLink(recording: Recording, intro: string): Promise<LinkOutcome>;
  /** DMs the host a message without a link. Throws like sendLink. */
  tellHost(recording: Recording, text: string): Promise<{ status: 'sent' | 'dm-closed' }>;
  /** Deletes files then metadata; refuses while the recording is still being written. */
  remove(recording: Recording): Promise<void>;
};

/** A speaker's side of the recordings that hold their voice (speaker-library.ts): whoever asks, only their own. */
export type Speakers = {
  /** `mine`: the list of recordings in which `userId` has a track, as they read it. */
  mineText(userId: string): Promise<string>;
  /** `my track <id>`: a link to their own track, or the one refusal for an id that holds nothing of theirs. */
  trackLinkText(recordingId: string, userId: string): Promise<string>;
  /** Sets whether they are DM'd at each stop; the answer to `notify on|off`. */
  setNotify(userId: string, on: boolean): Promise<string>;
  /** DMs each speaker with sound in their track (and notices on) that they were recorded. Never rejects. */
  tellSpeakers(recording: Recording): Promise<void>;
};

export type BotServices = {
  rooms: Rooms;
  library: Library;
  speakers: Speakers;
  retentionDays: number;
  linkTtlHours: number;
  /** Free bytes on the file system of the data folder, and the MIN_FREE_DISK_MB `/record start` holds to (disk-space.ts). */
  freeDiskBytes: () => Promise<number>;
  minFreeDiskMb: number;
  now: () => number;
  log: Logger;
};
