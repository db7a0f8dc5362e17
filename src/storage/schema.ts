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

/** States in which a recording owns the guild's voice connection: at most one per guild. */
export const ACTIVE_STATES: readonly RecordingState[] = ['recording', 'stopping'];
/** States in which files are still being written: retention never touches these. */
export const BUSY_STATES: readonly RecordingState[] = ['recording', 'stopping', 'mixing'];

export const SpeakerSchema = z.object({
  userId: snowflake,
  name: z.string(),
  /** Relative to the recording folder, e.g. `tracks/1-alice-1234.ogg` (see layout.trackFileName). */
  trackFile: z.string().min(1),
  consentedAt: epochMs,
  withdrawnAt: epochMs.optional(),
  includeInMix: z.boolean(),
});
export type Speaker = z.infer<typeof SpeakerSchema>;

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
  state: z.enum(RECORDING_STATES),
  stopReason: z.string().optional(),
  speakers: z.array(SpeakerSchema),
  mix: z
    .object({ file: z.string().min(1), format: z.enum(MIX_FORMATS), durationMs: z.number().nonnegative() })
    .optional(),
  error: z.string().optional(),
});
export type Recording = z.infer<typeof RecordingSchema>;

/** What is left of a deleted recording, so the download server can answer 410 Gone rather than 403/404. */
export const TombstoneSchema = RecordingSchema.pick({ id: true, guildId: true, hostId: true, startedAt: true, stoppedAt: true })
  .extend({ state: z.literal('deleted'), deletedAt: epochMs });
export type Tombstone = z.infer<typeof TombstoneSchema>;

export const ConsentEventSchema = z.object({
  recordingId,
  userId: snowflake,
  name: z.string(),
  event: z.enum(['granted', 'withdrawn']),
  at: epochMs,
});
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

/** meta.json beside a recording's files: enough to rebuild its keyv entries after losing the database. */
export const MetaFileSchema = z.object({
  v: z.literal(SCHEMA_VERSION),
  recording: RecordingSchema,
  consentEvents: z.array(ConsentEventSchema),
});
export type MetaFile = z.infer<typeof MetaFileSchema>;
