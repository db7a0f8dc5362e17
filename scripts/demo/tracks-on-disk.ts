// result.json's `tracks`, from the disk rather than from the bot's metadata: the contract says it lists
// "every per-speaker file on disk for this recording, and nothing of a speaker who never consented". Read
// from the disk, a file the bot should not have written (a never-consenting speaker's, a stray one) shows
// up in the result where a test can see it; read from metadata, it would be invisible.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { MediaFormatError, openOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { heldJournalPath } from '../../src/recording/held-journal.ts';
import type { Recording, SpeakerStats } from '../../src/storage/schema.ts';

export type TrackOnDisk = {
  /** The scenario speaker id; for a file nobody can be matched to, its file name without extension. */
  speaker: string;
  /** The Discord user id the file belongs to, or null when neither its tags nor its name say. */
  userId: string | null;
  path: string;
  /** Integrity figures the recording stored for that user (speaker-integrity.ts); absent when unknown. */
  stats?: SpeakerStats;
};

/**
 * The files found on disk, each given the figures the recording's metadata holds for its user: the disk says
 * which files exist, the metadata how complete each one is. A file matched to nobody gets none.
 */
export function withStoredStats(tracks: TrackOnDisk[], recording: Pick<Recording, 'speakers'>): TrackOnDisk[] {
  return tracks.map((track) => {
    const stats = recording.speakers.find((s) => s.userId === track.userId)?.stats;
    return stats ? { ...track, stats } : track;
  });
}

/**
 * Every file in a recording's tracks folder but a track's journal of held packets (left by a crash), in name order (the recorder numbers them), each matched to a
 * user by its OpusTags `ROOMREC_USER` comment, or else by the user id that ends the recorder's file names
 * (`tracks/1-alice-1234.ogg`, see src/storage/layout.ts), and to the scenario speaker with that user id.
 */
export async function tracksOnDisk(tracksDir: string, speakerOfUser: (userId: string) => string | undefined): Promise<TrackOnDisk[]> {
  let names: string[];
  try {
    names = (await readdir(tracksDir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (error) {
    // No folder: nobody consented, so nothing was written. Anything else is a real problem.
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  // Beside its track a journal is part of it (held-journal.ts); one without its track is a stray file like any other.
  names = names.filter((name) => !names.some((track) => heldJournalPath(track) === name));
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  return Promise.all(
    names.map(async (name) => {
      const file = path.join(tracksDir, name);
      const userId = (await taggedUser(file)) ?? /-(\d+)\.[^.]+$/.exec(name)?.[1] ?? null;
      const speaker = (userId === null ? undefined : speakerOfUser(userId)) ?? path.basename(name, path.extname(name));
      return { speaker, userId, path: file };
    }),
  );
}

/** The ROOMREC_USER comment of an Ogg Opus file, or null for a file without one or that is not Ogg Opus. */
async function taggedUser(file: string): Promise<string | null> {
  try {
    return (await openOggOpus(file)).comments['ROOMREC_USER'] ?? null;
  } catch (error) {
    // Not Ogg Opus (or cut off before its tags): the file name is the only clue left, and it is still listed.
    if (error instanceof MediaFormatError) return null;
    throw error;
  }
}
