// The mix of every speaker whose consent stood: the live mix's last seconds when it can be used, else a full
// mix of the closed tracks. Nobody left in it → no mix (the recording is the receipt only). A track with no
// audio on disk (never created, or cut off before its headers by a full disk) is left out: the mix is made of
// what exists.
import { scanOggOpus } from '../../audio/ogg-opus-reader.ts';
import { mixFileName } from '../../storage/layout.ts';
import { hasNoHeaders } from '../speaker-track.ts';
import type { MixResult } from '../../audio/mixer.ts';
import type { LiveMixOutcome } from '../room-live-mix.ts';
import type { AfterStopStep, StepContext } from './step.ts';

export const mix: AfterStopStep = {
  id: 'mixing',
  doing: 'mixing',
  timing: 'mixMs',
  runsOn: 'closed-tracks',
  required: true,
  async run(ctx) {
    const included = await withAudio(
      ctx,
      ctx.recording().speakers.filter((s) => s.includeInMix),
    );
    if (included.length === 0) return;
    ctx.progress(0, 1);
    const format = ctx.config.mix.format;
    const job = {
      inputs: included.map((s) => ({ path: ctx.layout.file(ctx.recordingId, s.trackFile), label: s.name })),
      output: ctx.layout.mixFile(ctx.recordingId, format),
      format,
      onProgress: (done: number, total: number) => ctx.progress(done, total),
    };
    const result = (await finishLiveMix(ctx, job)) ?? (await ctx.mix(job));
    ctx.products.mix = { file: mixFileName(format), format, durationMs: Math.round(result.durationSamples / 48) };
    ctx.products.mixStats = { peak: result.peak, limitedSamples: result.limitedSamples };
  },
};

/** The speakers whose track holds audio (at least its headers); the others are logged and left out. */
export async function withAudio<S extends { name: string; trackFile: string }>(
  ctx: Pick<StepContext, 'layout' | 'recordingId' | 'log'>,
  speakers: S[],
): Promise<S[]> {
  const found = await Promise.all(
    speakers.map((s) =>
      scanOggOpus(ctx.layout.file(ctx.recordingId, s.trackFile)).then(
        () => true,
        (err: unknown) => {
          if ((err as { code?: unknown }).code !== 'ENOENT' && !hasNoHeaders(err)) throw err;
          ctx.log.warn({ recordingId: ctx.recordingId, speaker: s.name, err }, 'no audio on disk for this speaker; left out of the mix');
          return false;
        },
      ),
    ),
  );
  return speakers.filter((_, i) => found[i]);
}

/** The live mix's result when it could be used; undefined (and why, noted) when the full mix must run. */
async function finishLiveMix(
  ctx: StepContext,
  job: Parameters<NonNullable<StepContext['input']['liveMix']>['finish']>[0],
): Promise<MixResult | undefined> {
  const offered = ctx.input.liveMix;
  if (!offered) return undefined;
  // A live mix that breaks only costs time: its error becomes the reason the full mix runs.
  const live = await offered.finish(job).catch((err: unknown): LiveMixOutcome => ({
    used: false,
    reason: `the live mix failed: ${err instanceof Error ? err.message : String(err)}`,
  }));
  if (live.used) {
    ctx.products.liveMix = { used: true, framesAtStop: live.framesAtStop };
    return live.result;
  }
  ctx.products.liveMix = { used: false, reason: live.reason };
  ctx.log.warn({ recordingId: ctx.recordingId, reason: live.reason }, 'live mix not usable; mixing the tracks now');
  return undefined;
}
