// Each track's tags say its speaker's choice of reuse as it stands at the stop. A track gets the choice made when
// it was created; one that changed while recording (📣 added or removed, a re-grant, a withdrawal) cannot have its
// header rewritten while it grows, so it is brought in line here, once it is closed. Optional: a failure leaves the
// tags as they were, and the receipt (the record that counts) still says the choice.
import { retagSpeakerTrack } from '../reuse-change.ts';
import type { AfterStopStep } from './step.ts';

export const reuseTags: AfterStopStep = {
  id: 'reuse-tags',
  doing: "writing each speaker's choice of reuse into their track",
  timing: 'reuseTagsMs',
  runsOn: 'closed-tracks',
  required: false,
  async run(ctx) {
    const events = await ctx.store.consentEvents(ctx.recordingId);
    for (const speaker of ctx.recording().speakers) {
      // One grant and nothing since: the tags written when the track was made are still true.
      if (events.filter((e) => e.userId === speaker.userId).length > 1) await retagSpeakerTrack(ctx.layout, ctx.recordingId, speaker);
    }
  },
};
