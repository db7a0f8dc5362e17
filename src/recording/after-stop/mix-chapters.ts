// The notes as chapters inside the Ogg Opus mix (Vorbis-comment CHAPTERxxx), so a player or an editor shows them
// without the separate chapter files. The mix is encoded while the room runs, before every note is known, so the
// chapters are written into its header once it is finished. Optional: a failure leaves the mix as it was (the
// chapter files on the page still have every note). An MP3 mix gets them as ID3v2 chapters; FLAC and WAV keep
// their chapters in those files only.
import { setMp3Chapters } from '../../audio/id3-chapters.ts';
import { addOpusComments } from '../../audio/opus-tags-rewrite.ts';
import { chapterSpans, vorbisChapterComments } from '../chapters.ts';
import type { AfterStopStep, StepContext } from './step.ts';

export const mixChapters: AfterStopStep = {
  id: 'mix-chapters',
  doing: 'adding the notes to the mix as chapters',
  timing: 'mixChaptersMs',
  runsOn: 'closed-tracks',
  required: false,
  run: (ctx) => addChapters(ctx, ctx.products.mix),
};

/** Writes the notes into a finished mix of the recording as chapters, where its format has them. */
export async function addChapters(
  ctx: Pick<StepContext, 'recording' | 'layout' | 'recordingId'>,
  mix: { file: string; format: string; durationMs: number } | undefined,
): Promise<void> {
  const notes = ctx.recording().notes ?? [];
  if (!mix || notes.length === 0) return;
  const file = ctx.layout.file(ctx.recordingId, mix.file);
  if (mix.format === 'ogg') await addOpusComments(file, vorbisChapterComments(notes, mix.durationMs));
  else if (mix.format === 'mp3') await setMp3Chapters(file, chapterSpans(notes, mix.durationMs));
}
