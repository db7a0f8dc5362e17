// The consent receipt written beside the tracks: who opted in and out, when, and when it all is deleted.
import { writePrivateFile } from '../../storage/private-files.ts';
import { deletionTime } from '../../storage/retention.ts';
import { buildReceipt } from '../receipt.ts';
import type { Recording, Store } from '../../storage/store.ts';
import type { AfterStopStep } from './step.ts';

export const writeReceipt: AfterStopStep = {
  id: 'writing-receipt',
  doing: 'writing the consent receipt',
  timing: 'receiptMs',
  runsOn: 'closed-tracks',
  required: true,
  run: (ctx) => writeReceiptFile(ctx.store, { ...ctx.recording(), stoppedAt: ctx.stoppedAt }, ctx.config.retention.days),
};

/** Writes `receipt.txt` from the stored consent log; again whenever a speaker changes their choice after the stop. */
export async function writeReceiptFile(store: Store, recording: Recording, retentionDays: number): Promise<void> {
  const events = await store.consentEvents(recording.id);
  const deletionAt = deletionTime(recording, retentionDays);
  await writePrivateFile(store.layout.receiptFile(recording.id), buildReceipt({ recording, events, deletionAt, retentionDays }));
}
