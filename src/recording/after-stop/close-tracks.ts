// First after a stop: every track ends at the stop position, the speakers' integrity figures are stored, and
// withdrawn speakers' tracks are deleted when DELETE_WITHDRAWN_TRACKS says so.
import { withSpeakerStats } from '../speaker-integrity.ts';
import { removeTrackFiles } from '../speaker-track.ts';
import type { AfterStopStep } from './step.ts';

export const closeTracks: AfterStopStep = {
  id: 'closing-tracks',
  doing: 'closing the tracks',
  timing: 'closeTracksMs',
  runsOn: 'open-tracks',
  required: true,
  async run(ctx) {
    await ctx.input.closeTracks();
    const stats = ctx.input.speakerStats?.();
    if (stats && stats.size > 0) await ctx.update((r) => withSpeakerStats(r, stats));
    if (ctx.config.recording.deleteWithdrawnTracks) {
      const withdrawn = ctx.recording().speakers.filter((s) => !s.includeInMix);
      await Promise.all(withdrawn.map((s) => removeTrackFiles(ctx.layout.file(ctx.recordingId, s.trackFile))));
    }
  },
};
