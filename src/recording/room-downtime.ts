// Consent that changed while the bot was down. Discord keeps only who reacts now, not when a reaction went, so
// a speaker whose ✅ is gone at restart withdrew at some moment the bot never saw. Their withdrawal is stored
// at the last moment the previous process is known to have been alive (the newest write in the recording's
// folder), never later than now: no audio of theirs is kept after the crash, and the receipt does not claim
// they were recorded while the bot was away. Runs before a resumed room subscribes anyone.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { folderStats } from '../storage/retention.ts';
import type { Recording, Store } from '../storage/store.ts';
import { consentingSpeakers, withWithdrawal } from './room-speakers.ts';
import { SpeakerTrack } from './speaker-track.ts';

export interface DowntimeDeps {
  store: Store;
  log: Logger;
  /** Epoch ms now (the resume time): the latest a downtime withdrawal can be stamped. */
  now: number;
  deleteWithdrawnTracks: boolean;
}

/**
 * The last moment the previous process is known to have been alive: its newest write in the recording's
 * folder, or the latest stored consent change, clamped to [startedAt, now].
 */
async function lastSeenAlive(recording: Recording, store: Store, now: number): Promise<number> {
  const stats = await folderStats(store.layout.recordingDir(recording.id));
  const consent = recording.speakers.flatMap((s) => [s.consentedAt, s.withdrawnAt ?? 0]);
  const seen = Math.max(recording.startedAt, stats?.newestMtimeMs ?? 0, ...consent);
  return Math.round(Math.min(now, seen));
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
  const alive = await lastSeenAlive(recording, store, deps.now);
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
    if (deps.deleteWithdrawnTracks) await rm(file, { force: true });
    log.info({ userId: speaker.userId, at, noticedAt: deps.now }, 'consent withdrawn while the bot was down: not resumed');
  }
  return current;
}
