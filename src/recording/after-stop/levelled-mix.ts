// The levelled mix (MIX_LEVELLING, docs/mixing.md#levelled-mix): each speaker's speech brought to one loudness
// before the sum, the limiter after. Every speaker's gain must be known before its first sample, so it cannot be
// the live mix: it is made from the closed tracks once the recording is ready, while the plain mix (finished from
// the live mix within seconds) already serves the host's link. Optional: a failure leaves the plain mix serving,
// and the page says the levelled one could not be made. Cut off by a shutdown or a crash, it stays 'making' and
// the next start makes it again (restart-recovery.ts).
import { levelledMixFileName } from '../../storage/layout.ts';
import { addChapters } from './mix-chapters.ts';
import { withAudio } from './mix.ts';
import type { AfterStopStep } from './step.ts';

export const levelledMix: AfterStopStep = {
  id: 'levelled-mix',
  doing: 'levelling the mix',
  timing: 'levelledMixMs',
  runsOn: 'ready',
  required: false,
  announce: (recording, config) => (config.mix.levelling && recording.mix ? { ...recording, levelledMix: { state: 'making' } } : recording),
  cutOff: (recording) => recording.levelledMix?.state === 'making',
  async run(ctx) {
    const plain = ctx.recording().mix;
    if (!ctx.config.mix.levelling || !plain) {
      // Turned off between a stop and a restart that makes it again: the plain mix is all there is.
      if (ctx.recording().levelledMix) await ctx.update(({ levelledMix: _, ...rest }) => rest);
      return;
    }
    try {
      const included = await withAudio(
        ctx,
        ctx.recording().speakers.filter((s) => s.includeInMix),
      );
      const file = levelledMixFileName(plain.format);
      const result = await ctx.mix({
        inputs: included.map((s) => ({ path: ctx.layout.file(ctx.recordingId, s.trackFile), label: s.name })),
        output: ctx.layout.file(ctx.recordingId, file),
        format: plain.format,
        level: true,
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
      const made = { file, format: plain.format, durationMs: Math.round(result.durationSamples / 48) };
      await addChapters(ctx, made);
      await ctx.update((r) => ({ ...r, levelledMix: { state: 'ready', ...made } }));
      ctx.log.info({ recordingId: ctx.recordingId, levelling: result.levelling }, 'levelled mix ready');
    } catch (error) {
      // Cut short by a shutdown: left 'making', for the next start.
      if (ctx.signal?.aborted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      await ctx.update((r) => ({ ...r, levelledMix: { state: 'failed', error: message } }));
      throw error;
    }
  },
};
