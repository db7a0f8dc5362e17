// A recording as one file an editor opens with every track at zero: an Audacity list of files (.lof) and a
// REAPER project (.rpp). Pure: the tracks (as the zip names them, relative to where the project file sits), the
// notes and the recording's length in, text out, the same bytes every time (the zip is deterministic).
import { noteLabel, placedNotes, type ChapterNote } from './chapters.ts';

/** A track as the project refers to it: the speaker's name and the file's path relative to the project file. */
export type ProjectTrack = { name: string; file: string };

/**
 * Audacity's "List of Files in basic text format" (manual: LOF Files; the importer is ImportLOF.cpp): a line
 * per command, `file "<path>" offset <seconds>` imports the file as a new track starting there; a relative path
 * is resolved against the .lof's folder. The importer takes the path as the text between the line's first two
 * `"`, so a path must hold none (safeFileName already replaces them), and it steps over the path's
 * space-separated words one by one, so words are separated by exactly one space (safeFileName collapses runs).
 * `#` starts a comment only as a word of its own, outside the path. Labels are not a LOF command: the page
 * says to import labels.txt after.
 */
export function audacityLof(tracks: readonly ProjectTrack[]): string {
  const lines = tracks.map((t) => `file "${t.file}" offset 0\n`);
  return `# roomrec: every track at 0 s. Then File > Import > Labels… for the notes (labels.txt).\n${lines.join('')}`;
}

/**
 * REAPER's source type for a file, by its extension: Ogg Opus is `OPUS`, distinct from Ogg Vorbis's `VORBIS`
 * (the media source types REAPER writes in `<SOURCE …`, as scripts reading .rpp files list them: WAVE, MIDI,
 * FLAC, MP3, VORBIS, OPUS, WAVPACK).
 */
const REAPER_SOURCES: Record<string, string> = { ogg: 'OPUS', opus: 'OPUS', wav: 'WAVE', flac: 'FLAC', mp3: 'MP3' };

/**
 * A minimal REAPER project (.rpp), the plain-text chunk format REAPER saves: `<TAG params…` opens a chunk, a
 * line `>` closes it, every other line is a token and its parameters. A track per speaker (`<TRACK`, `NAME`),
 * holding one item (`<ITEM`) at `POSITION 0` lasting the recording (`LENGTH`, seconds), whose `<SOURCE …` names
 * the file by a path relative to the project (REAPER resolves it against the project's folder). Each note is a
 * project marker, `MARKER <n> <seconds> <name> 0` (the last 0: a marker, not a region). `created` (ms) fills
 * the header's save time, so the bytes depend on the recording only.
 */
export function reaperProject(tracks: readonly ProjectTrack[], notes: readonly ChapterNote[], durationMs: number, created: number): string {
  const length = rppSeconds(Math.max(0, durationMs));
  const lines = [
    `<REAPER_PROJECT 0.1 "7.0" ${Math.floor(created / 1000)}`,
    '  SAMPLERATE 48000 0 0',
    ...placedNotes(notes, durationMs).map((n, i) => `  MARKER ${i + 1} ${rppSeconds(n.at)} ${rppString(noteLabel(n))} 0`),
    ...tracks.flatMap((t) => [
      '  <TRACK',
      `    NAME ${rppString(t.name)}`,
      '    <ITEM',
      '      POSITION 0',
      `      LENGTH ${length}`,
      '      LOOP 0',
      `      NAME ${rppString(t.name)}`,
      `      <SOURCE ${REAPER_SOURCES[extensionOf(t.file)] ?? 'WAVE'}`,
      `        FILE ${rppString(t.file)}`,
      '      >',
      '    >',
      '  >',
    ]),
    '>',
  ];
  return `${lines.join('\n')}\n`;
}

function rppSeconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}

/**
 * RPP strings have no escapes: a string is quoted with a character it does not hold, `"`, else `'`, else `` ` ``;
 * one holding all three has its backticks turned into `'`, as REAPER itself does when it saves. Line breaks
 * would end the line: they become spaces.
 */
function rppString(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters would break the line-based format
  const line = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  if (!line.includes('"')) return `"${line}"`;
  if (!line.includes("'")) return `'${line}'`;
  return `\`${line.replaceAll('`', "'")}\``;
}

function extensionOf(file: string): string {
  return /\.([A-Za-z0-9]+)$/.exec(file)?.[1]?.toLowerCase() ?? '';
}
