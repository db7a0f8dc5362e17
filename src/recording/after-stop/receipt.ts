// The consent receipt written beside the tracks: who opted in and out, when, and when it all is deleted.
import { writePrivateFile } from '../../storage/private-files.ts';
import { deletionTime } from '../../storage/retention.ts';
import { buildReceipt } from '../receipt.ts';
import type { AfterStopStep } from './step.ts';

export const writeReceipt: AfterStopStep = {
  id: 'writing-receipt',
  doing: 'writing the consent receipt',
  timing: 'receiptMs',
  runsOn: 'closed-tracks',
  required: true,
  async run(ctx) {
    const recording = ctx.recording();
    const events = await ctx.store.consentEvents(ctx.recordingId);
    const retentionDays = ctx.config.retention.days;
    const deletionAt = deletionTime({ startedAt: recording.startedAt, stoppedAt: ctx.stoppedAt }, retentionDays);
    await writePrivateFile(ctx.layout.receiptFile(ctx.recordingId), buildReceipt({ recording, events, deletionAt, retentionDays }));
  },
};
