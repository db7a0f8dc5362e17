// A speaker changes their choice of reuse after the stop (`reuse on|off <id>`): the stored choice and the consent
// log first, then what carries it on disk, their track's tags and the receipt, rewritten from what is stored. A
// live room's changes go through its recorder instead (RoomRecorder#setReuse).
import { addOpusComments } from '../audio/opus-tags-rewrite.ts';
import type { Logger } from '../log.ts';
import { createKeyedMutex } from '../storage/keyed-mutex.ts';
import type { Layout } from '../storage/layout.ts';
import type { Recording, Speaker, Store } from '../storage/store.ts';
import { writeReceiptFile } from './after-stop/receipt.ts';
import { agreementOf, reuseComments, withAgreement } from './consent-choice.ts';
import { findSpeaker } from './room-speakers.ts';

/** Rewrites a speaker's closed track's tags to their stored choice; nothing when the track is gone (deleted on withdrawal). */
export async function retagSpeakerTrack(layout: Layout, recordingId: string, speaker: Speaker): Promise<void> {
  try {
    await addOpusComments(layout.file(recordingId, speaker.trackFile), reuseComments(speaker));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** `changed`; `unchanged` (it already was so); `withdrawn`: their consent does not stand, so reuse cannot be allowed. */
export type ReuseChange = 'changed' | 'unchanged' | 'withdrawn';

export type ReuseChanges = {
  /** Changes the choice of a speaker of a stopped recording (ready or failed: its tracks are closed). */
  change(recording: Recording, userId: string, reuse: boolean): Promise<ReuseChange>;
};

export function createReuseChanges(deps: { store: Store; log: Logger; retentionDays: number; now: () => number }): ReuseChanges {
  const { store, log } = deps;
  // One change of a recording at a time: each rewrite of the files is made from the choice stored just before it.
  const mutex = createKeyedMutex();
  return {
    change: (recording, userId, reuse) =>
      mutex.run(recording.id, async () => {
        const stored = findSpeaker((await store.getRecording(recording.id)) ?? recording, userId);
        if (!stored) throw new Error(`recording ${recording.id} has no speaker ${userId}`);
        if (reuse && stored.withdrawnAt !== undefined) return 'withdrawn';
        if ((stored.agreed?.reuse ?? false) === reuse) return 'unchanged';
        const agreed = agreementOf(reuse, deps.now());
        const updated = await store.updateRecording(recording.id, (r) => withAgreement(r, userId, agreed));
        const event = reuse ? 'reuse-granted' : 'reuse-withdrawn';
        await store.appendConsentEvent({
          recordingId: recording.id,
          userId,
          name: stored.name,
          event,
          at: agreed.at,
          sha256: agreed.sha256,
        });
        const speaker = findSpeaker(updated, userId);
        if (speaker) await retagSpeakerTrack(store.layout, recording.id, speaker);
        await writeReceiptFile(store, updated, deps.retentionDays);
        log.info({ recordingId: recording.id, userId, reuse }, 'reuse choice changed after the stop');
        return 'changed';
      }),
  };
}
