// When the bot went down, and consent that changed while it was down. A process that dies leaves no stop time;
// its last sign of life is read from the recording itself (lastSignOfLife), never from file times, which a
// restart's own housekeeping, a backup or a copy moves. A recording finished from disk ends there, however
// long the restart took.
//
// Discord keeps only who reacts now, not when a reaction went, so a speaker whose ✅ is gone at restart withdrew
// at some moment the bot never saw. Their withdrawal is stored at that last sign of life, never later than now:
// no audio of theirs is kept after the crash, and the receipt does not claim they were recorded while the bot
// was away. Runs before a resumed room subscribes anyone.
import { existsSync } from 'node:fs';
import { scanOggOpus } from '../audio/ogg-opus-reader.ts';
import type { Logger } from '../log.ts';
import type { Layout } from '../storage/layout.ts';
import type { Recording, Store } from '../storage/store.ts';
import { heldEndMs, readHeldJournal } from './held-journal.ts';
import { SAMPLES_PER_MS } from './placement.ts';
import { consentingSpeakers, withWithdrawal } from './room-speakers.ts';
import { removeTrackFiles, SpeakerTrack } from './speaker-track.ts';

export interface DowntimeDeps {
  store: Store;
  log: Logger;
  /** Epoch ms now (the resume time): the latest a downtime withdrawal can be stamped. */
  now: number;
  deleteWithdrawnTracks: boolean;
}

/**
 * Recording ms that a track's audio on disk reaches: its whole pages (as decoded, pre-skip off), or the packets
 * its held-packets journal holds (a crash during a hold), whichever is later; 0 with no audio.
 */
async function trackEndOnDisk(file: string): Promise<number> {
  // A journal that cannot be read is replayed as nothing: it gives no sign either.
  const held = await readHeldJournal(file).then(
    (journal) => (journal ? heldEndMs(journal) : 0),
    () => 0,
  );
  try {
    const scan = await scanOggOpus(file);
    return Math.max(held, Math.max(0, Number(scan.lastWhole.granule) - scan.head.preSkip) / SAMPLES_PER_MS);
  } catch {
    // Missing (withdrawn and deleted), or cut before its headers were whole: no audio. A track damaged in another
    // way gives no sign either, and says what is wrong with it when it is closed.
    return held;
  }
}

/**
 * Epoch ms of the last sign of life of the process that was recording `recording`: the latest of its tracks'
 * last audio on disk, its last heartbeat (`aliveAt`, stored every 10 s) and its stored consent changes. A room
 * that fell silent before the crash is known alive until its last heartbeat; one people talked in until the
 * end, to within the second a track's pages lag behind.
 */
export async function lastSignOfLife(recording: Recording, layout: Layout): Promise<number> {
  // A withdrawn speaker's track was closed at their withdrawal, which is among the consent changes: not read again.
  const open = consentingSpeakers(recording);
  const ends = await Promise.all(open.map((s) => trackEndOnDisk(layout.file(recording.id, s.trackFile))));
  const consent = recording.speakers.flatMap((s) => [s.consentedAt, s.withdrawnAt ?? 0]);
  const audio = ends.map((ms) => recording.startedAt + Math.ceil(ms));
  return Math.max(recording.startedAt, recording.aliveAt ?? 0, ...consent, ...audio);
}

/**
 * Stores the withdrawal of every speaker whose consent stood in `recording` but who is not in `stillConsenting`,
 * finalises their track on disk at that moment (silence padding only, no audio) and returns the recording as
 * stored afterwards.
 */
export async function withdrawWhileAway(
  recording: Recording,
  stillConsenting: ReadonlySet<string>,
  deps: DowntimeDeps,
): Promise<Recording> {
  const gone = consentingSpeakers(recording).filter((s) => !stillConsenting.has(s.userId));
  if (gone.length === 0) return recording;
  const { store } = deps;
  const log = deps.log.child({ recordingId: recording.id });
  const alive = Math.min(deps.now, await lastSignOfLife(recording, store.layout));
  let current = recording;
  for (const speaker of gone) {
    const at = Math.max(alive, speaker.consentedAt);
    const atMs = at - recording.startedAt;
    const file = store.layout.file(recording.id, speaker.trackFile);
    if (existsSync(file)) {
      // Cuts a torn tail and ends the track (EOS) where the withdrawal is stamped; a later re-grant resumes it.
      const track = await SpeakerTrack.resume({
        path: file,
        recordingId: recording.id,
        userId: speaker.userId,
        speakerName: speaker.name,
        startMs: atMs,
        log,
      });
      await track.close(atMs);
    }
    current = await store.updateRecording(recording.id, (r) => withWithdrawal(r, speaker.userId, at));
    await store.appendConsentEvent({ recordingId: recording.id, userId: speaker.userId, name: speaker.name, event: 'withdrawn', at });
    if (deps.deleteWithdrawnTracks) await removeTrackFiles(file);
    log.info({ userId: speaker.userId, at, noticedAt: deps.now }, 'consent withdrawn while the bot was down: not resumed');
  }
  return current;
}
