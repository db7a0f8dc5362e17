// The metadata schema: every record the store writes is validated by these on the way in and on the way out.
// Bump SCHEMA_VERSION (and teach store.ts to migrate) when a stored shape changes incompatibly.
import { z } from 'zod';
import { MIX_FORMATS } from '../config.ts';
import { RECORDING_ID_PATTERN } from './layout.ts';

export const SCHEMA_VERSION = 1;

const epochMs = z.number().int().nonnegative();
const snowflake = z.string().min(1);
const recordingId = z.string().regex(RECORDING_ID_PATTERN, { error: 'not a recording id' });

export const RECORDING_STATES = ['recording', 'stopping', 'mixing', 'ready', 'failed', 'deleted'] as const;
export type RecordingState = (typeof RECORDING_STATES)[number];

/** Why a recording stopped (recording-state.ts moves a recording through its states with one of these). */
export const STOP_REASONS = [
  'command', // the host (or a moderator) asked
  'empty-room', // no humans left for EMPTY_ROOM_MINUTES
  'max-duration', // MAX_RECORDING_HOURS reached
  'voice-lost', // the voice connection could not be re-established
  'e2ee-lost', // out of the room's end-to-end encryption group too long, or refused for it (4017)
  'shutdown', // the bot is shutting down
  'interrupted', // the bot died mid-recording and the room was not resumed
] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** States in which a recording owns the guild's voice connection: at most one per guild. */
export const ACTIVE_STATES: readonly RecordingState[] = ['recording', 'stopping'];
/** States in which files are still being written: retention never touches these. */
export const BUSY_STATES: readonly RecordingState[] = ['recording', 'stopping', 'mixing'];

const count = z.number().int().nonnegative();

/**
 * How complete a speaker's track is, counted while it was recorded (speaker-integrity.ts). Written at a
 * withdrawal and at the stop; absent for recordings made before it was counted, and for a speaker whose
 * track was only ever finished from disk.
 */
const SpeakerStatsSchema = z.object({
  /** Frames the voice layer handed to the track. */
  received: count,
  /** Frames missing by RTP sequence (never arrived, or could not be decrypted). */
  lost: count,
  /** Arrived after their place in the track was written: dropped. */
  late: count,
  duplicate: count,
  /** Datagrams of theirs the bot could not decrypt (DAVE or transport). */
  undecryptable: count,
  /** Silence written in the track in place of sound: before consent, pauses, gaps, downtime. */
  silenceFilledSeconds: z.number().nonnegative(),
});
export type SpeakerStats = z.infer<typeof SpeakerStatsSchema>;

/** What a speaker agreed to (src/recording/consent-choice.ts): the choice, its exact wording and that wording's SHA-256. */
const AgreementSchema = z.object({
  /** 📣: also OK to publish or reuse; false: ✅, for the host only. */
  reuse: z.boolean(),
  text: z.string().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Epoch ms of the choice. */
  at: epochMs,
});
export type Agreement = z.infer<typeof AgreementSchema>;

const SpeakerSchema = z.object({
  userId: snowflake,
  name: z.string(),
  /** Relative to the recording folder, e.g. `tracks/1-alice-1234.ogg` (see layout.trackFileName). */
  trackFile: z.string().min(1),
  /** Their first consent. */
  consentedAt: epochMs,
  /** Their latest consent (a re-grant after a withdrawal); absent in records made before it was kept. */
  grantedAt: epochMs.optional(),
  withdrawnAt: epochMs.optional(),
  includeInMix: z.boolean(),
  stats: SpeakerStatsSchema.optional(),
  /** Their current choice; absent in records made before it was offered (host only). */
  agreed: AgreementSchema.optional(),
});
export type Speaker = z.infer<typeof SpeakerSchema>;

/** A marker added while recording (src/recording/notes.ts). */
const NoteSchema = z.object({
  /** ms on the recording's clock. */
  at: z.number().nonnegative(),
  by: snowflake,
  byName: z.string(),
  text: z.string(),
});
export type Note = z.infer<typeof NoteSchema>;

/**
 * Discord's end-to-end voice encryption (DAVE) as the recording saw it (e2ee-record.ts). Stored `null`: the room
 * was not end-to-end encrypted when the recording started; absent: recorded before this was noted.
 */
const RecordingE2eeSchema = z.object({
  protocol: z.literal('dave'),
  /** DAVE protocol version, the latest the room used. */
  version: z.number().int().positive(),
  /** The voice privacy code now (the latest), 30 digits. */
  privacyCode: z.string(),
  /** Every code the room had while recording, in order, the latest last: each group change makes a new one. */
  privacyCodes: z.array(z.string()),
  /** Group transitions seen while recording (people joining and leaving change the group). */
  transitions: count,
  /** Epoch ms from which the room's voice was no longer end-to-end encrypted (a downgrade), if it happened. */
  plainFrom: epochMs.optional(),
});
export type RecordingE2ee = z.infer<typeof RecordingE2eeSchema>;

const mixFileSchema = { file: z.string().min(1), format: z.enum(MIX_FORMATS), durationMs: z.number().nonnegative() };

/**
 * The levelled mix (MIX_LEVELLING, docs/mixing.md), made once the recording is ready: being made, made, or why
 * it was not. Absent: levelling was off, or the recording is older than it. A state this version does not know
 * reads as absent.
 */
const LevelledMixSchema = z.discriminatedUnion('state', [
  z.object({ state: z.literal('making') }),
  z.object({ state: z.literal('ready'), ...mixFileSchema }),
  z.object({ state: z.literal('failed'), error: z.string() }),
]);

export const RecordingSchema = z.object({
  id: recordingId,
  guildId: snowflake,
  /** The voice channel. */
  channelId: snowflake,
  textChannelId: snowflake,
  consentMessageId: snowflake.optional(),
  hostId: snowflake,
  hostName: z.string(),
  startedAt: epochMs,
  stoppedAt: epochMs.optional(),
  /**
   * Epoch ms of the recorder's last heartbeat (stored with the integrity figures, every 10 s while recording):
   * with the tracks' last audio, where a recording the bot died in ends. Absent in recordings made before it.
   */
  aliveAt: epochMs.optional(),
  state: z.enum(RECORDING_STATES),
  // A reason this version does not know (written by a newer one) reads as absent, not as a damaged record.
  stopReason: z.enum(STOP_REASONS).optional().catch(undefined),
  speakers: z.array(SpeakerSchema),
  mix: z.object(mixFileSchema).optional(),
  levelledMix: LevelledMixSchema.optional().catch(undefined),
  error: z.string().optional(),
  e2ee: RecordingE2eeSchema.nullable().optional(),
  /** Notes in the order they were added (absent: none, or recorded before notes existed). */
  notes: z.array(NoteSchema).optional(),
  /**
   * Tracks removed at their speaker's request (src/recording/forget-speaker.ts): the number the page gave the
   * track, so the others keep theirs and the old link of this one answers 410, and when. Nothing else of theirs.
   */
  forgotten: z.array(z.object({ track: z.number().int().positive(), at: epochMs })).optional(),
  /** "Forget me" requests stored before anything is deleted, done when the recording is not busy (and at start-up). */
  forgetting: z.array(z.object({ userId: snowflake, requestedAt: epochMs })).optional(),
});
export type Recording = z.infer<typeof RecordingSchema>;

/** What is left of a deleted recording, so the download server can answer 410 Gone rather than 403/404. */
export const TombstoneSchema = RecordingSchema.pick({ id: true, guildId: true, hostId: true, startedAt: true, stoppedAt: true }).extend({
  state: z.literal('deleted'),
  deletedAt: epochMs,
});
export type Tombstone = z.infer<typeof TombstoneSchema>;

/** A speaker's consent changing; once they are forgotten, all of theirs is replaced by one event that names nobody. */
export const ConsentEventSchema = z.discriminatedUnion('event', [
  z.object({
    recordingId,
    userId: snowflake,
    name: z.string(),
    event: z.enum(['granted', 'withdrawn', 'reuse-granted', 'reuse-withdrawn']),
    at: epochMs,
    /** The SHA-256 of the consent text agreed to by this event (a grant, or a change of choice). */
    sha256: z.string().optional(),
  }),
  // userId and name can never be set (typed `undefined`), so code reading either of any event still compiles.
  z.object({ recordingId, userId: z.never().optional(), name: z.never().optional(), event: z.literal('forgotten'), at: epochMs }),
]);
export type ConsentEvent = z.infer<typeof ConsentEventSchema>;

export const LinkSchema = z.object({
  id: z.string().min(1),
  recordingId,
  /** User id the link was DM'd to. */
  issuedTo: snowflake,
  issuedAt: epochMs,
  expiresAt: epochMs,
});
export type Link = z.infer<typeof LinkSchema>;

/** What a user chose about the bot's messages to them (absent: the defaults, DEFAULT_USER_PREFS). */
export const UserPrefsSchema = z.object({
  /** DM them at each stop of a recording that holds their voice (`notify on|off`). */
  notify: z.boolean(),
});
export type UserPrefs = z.infer<typeof UserPrefsSchema>;

export const DEFAULT_USER_PREFS: UserPrefs = { notify: true };

/**
 * A webhook event not yet accepted by the receiver (src/webhook/): stored before the first attempt and
 * removed once delivered or given up, so a restart carries on with it. `body` is the exact JSON sent.
 */
export const WebhookOutboxEntrySchema = z.object({
  id: z.string().min(1),
  recordingId,
  type: z.string().min(1),
  /** Epoch ms the event happened: retries stop a day after it. */
  createdAt: epochMs,
  body: z.string().min(1),
});
export type WebhookOutboxEntry = z.infer<typeof WebhookOutboxEntrySchema>;

/** meta.json beside a recording's files: enough to rebuild its keyv entries after losing the database. */
export const MetaFileSchema = z.object({
  v: z.literal(SCHEMA_VERSION),
  recording: RecordingSchema,
  consentEvents: z.array(ConsentEventSchema),
});
export type MetaFile = z.infer<typeof MetaFileSchema>;
