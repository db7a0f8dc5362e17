// A recording's notes as the files editors and podcast hosts read: Audacity labels, WebVTT chapters and
// Podcasting 2.0 JSON chapters. Pure: notes and the recording's length in, text out, the same bytes every time
// (the download zip is deterministic). Every format takes notes sorted by time (the sort is stable, so notes at
// the same moment keep the order they were added) and clamped to the recording, [0, its length].
import { oneLine } from '../text/format.ts';

/** What the exports need of a stored note (src/storage/schema.ts `Note`): `at` in ms on the recording's clock. */
export type ChapterNote = { at: number; byName: string; text: string };

/** Podcasting 2.0 "JSON Chapters Format" (podcast namespace, docs/examples/chapters/jsonChapters.md). */
const PODCAST_CHAPTERS_VERSION = '1.2.0';

/** The notes on one line each, clamped to [0, the recording's length] and sorted by time (stable). */
export function placedNotes(notes: readonly ChapterNote[], durationMs: number): ChapterNote[] {
  const end = Math.max(0, durationMs);
  return notes
    .map((n) => ({ at: Math.min(end, Math.max(0, Number.isFinite(n.at) ? n.at : 0)), byName: oneLine(n.byName), text: oneLine(n.text) }))
    .sort((a, b) => a.at - b.at);
}

/**
 * Audacity's label-track text format (File > Import > Labels…, what File > Export > Export Labels writes): a
 * line per label, `start<TAB>end<TAB>label`, times in seconds with 6 decimals. A note is a point label (start =
 * end), named with who added it. oneLine() has already turned tabs and newlines into spaces: they would split
 * the line.
 */
export function audacityLabels(notes: readonly ChapterNote[], durationMs: number): string {
  return placedNotes(notes, durationMs)
    .map((n) => {
      const seconds = (n.at / 1000).toFixed(6);
      return `${seconds}\t${seconds}\t${noteLabel(n)}\n`;
    })
    .join('');
}

/** A note as a label or marker names it: its text, then who added it. */
export function noteLabel(note: ChapterNote): string {
  return note.byName === '' ? note.text : `${note.text} (${note.byName})`;
}

export type Chapter = { startMs: number; endMs: number; title: string };

/**
 * A chapter per distinct millisecond: notes added at the same moment share one chapter (titles joined by " / "),
 * so start times strictly increase, which WebVTT needs for cues that end where the next begins and JSON chapter
 * readers assume. Each ends where the next begins, the last at the recording's end.
 */
export function chapterSpans(notes: readonly ChapterNote[], durationMs: number): Chapter[] {
  const groups: { startMs: number; titles: string[] }[] = [];
  for (const note of placedNotes(notes, durationMs)) {
    const startMs = Math.round(note.at);
    const last = groups.at(-1);
    if (last?.startMs === startMs) last.titles.push(note.text);
    else groups.push({ startMs, titles: [note.text] });
  }
  const end = Math.round(Math.max(0, durationMs));
  return groups.map((g, i) => {
    const next = groups[i + 1]?.startMs ?? end;
    // WebVTT requires a cue's end to be after its start: a note at the very end gets a 1 ms chapter.
    return { startMs: g.startMs, endMs: Math.max(next, g.startMs + 1), title: g.titles.join(' / ') };
  });
}

/**
 * WebVTT (W3C WebVTT, §4.1 file syntax): the `WEBVTT` line, then for each chapter a block of an identifier (its
 * number), a timing line `hh:mm:ss.mmm --> hh:mm:ss.mmm` and the title as cue text. Cue text escapes `&`, `<`
 * and `>` as character references; escaping `>` also keeps the forbidden `-->` out of it.
 */
export function webvttChapters(notes: readonly ChapterNote[], durationMs: number): string {
  const cues = chapterSpans(notes, durationMs).map((c, i) => {
    // An empty line would end the cue: an empty title is a cue without text.
    const text = c.title === '' ? '' : `${escapeCueText(c.title)}\n`;
    return `${i + 1}\n${vttTimestamp(c.startMs)} --> ${vttTimestamp(c.endMs)}\n${text}`;
  });
  return ['WEBVTT\n', ...cues].join('\n');
}

function vttTimestamp(ms: number): string {
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(ms % 1000, 3)}`;
}

function escapeCueText(text: string): string {
  return text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c);
}

/** Podcasting 2.0 JSON chapters: `{"version": "1.2.0", "chapters": [{"startTime": seconds, "title"}]}`, ascending. */
export function podcastChapters(notes: readonly ChapterNote[], durationMs: number): string {
  const chapters = chapterSpans(notes, durationMs).map((c) => ({ startTime: c.startMs / 1000, title: c.title }));
  return `${JSON.stringify({ version: PODCAST_CHAPTERS_VERSION, chapters }, null, 2)}\n`;
}

/**
 * Chapters as Vorbis comments, for the Ogg Opus mix (the Xiph "Chapter Extension", which ffmpeg and players
 * read): CHAPTER001=hh:mm:ss.mmm (the same clock as WebVTT's) and CHAPTER001NAME, numbered from 001 in time order, at most 999.
 */
export function vorbisChapterComments(notes: readonly ChapterNote[], durationMs: number): Record<string, string> {
  const comments: Record<string, string> = {};
  placedNotes(notes, durationMs)
    .slice(0, 999)
    .forEach((n, i) => {
      const key = `CHAPTER${String(i + 1).padStart(3, '0')}`;
      comments[key] = vttTimestamp(n.at);
      comments[`${key}NAME`] = noteLabel(n);
    });
  return comments;
}
