// The notes as chapters inside the Ogg Opus mix (Vorbis-comment CHAPTERxxx), so a player or an editor shows them
// without the separate chapter files. The mix is encoded while the room runs, before every note is known, so the
// chapters are written into its header once it is finished. Optional: a failure leaves the mix as it was (the
// chapter files on the page still have every note). Other formats keep their chapters in those files only.
import { addOpusComments } from '../../audio/opus-tags-rewrite.ts';
import { vorbisChapterComments } from '../chapters.ts';
import type { AfterStopStep } from './step.ts';

export const mixChapters: AfterStopStep = {
  id: 'mix-chapters',
  doing: 'adding the notes to the mix as chapters',
  timing: 'mixChaptersMs',
  runsOn: 'closed-tracks',
  required: false,
  async run(ctx) {
    const mix = ctx.products.mix;
    const notes = ctx.recording().notes ?? [];
    if (!mix || mix.format !== 'ogg' || notes.length === 0) return;
    await addOpusComments(ctx.layout.file(ctx.recordingId, mix.file), vorbisChapterComments(notes, mix.durationMs));
  },
};
