// The editor projects read back with strict parsers of each format's grammar: Audacity's list of files (.lof)
// and REAPER's chunk format (.rpp).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import type { ChapterNote } from '../../src/recording/chapters.ts';
import { audacityLof, reaperProject, type ProjectTrack } from '../../src/recording/editor-projects.ts';
import { oneLine } from '../../src/text/format.ts';
import { parseLof, readRpp } from '../helpers/project-files.ts';

const TRACKS: ProjectTrack[] = [
  { name: 'Ålice', file: 'tracks/01-Ålice.ogg' },
  { name: 'Bob "the builder"', file: 'tracks/02-Bob _the builder_.ogg' },
  { name: `It's "all" \`here\``, file: "tracks/03-It's _all_ `here`.ogg" },
  { name: '東京 #1', file: 'tracks/04-東京 #1.ogg' },
];

describe('Audacity list of files', () => {
  test('every track at offset 0, by its path, in order', () => {
    expect(parseLof(audacityLof(TRACKS))).toEqual(TRACKS.map((t) => ({ file: t.file, offset: 0 })));
  });
});

describe('REAPER project', () => {
  const notes: ChapterNote[] = [
    { at: 90_250.4, byName: 'Bob "the builder"', text: 'Intro done' },
    { at: 1_000, byName: '', text: `quote's "here"` },
    { at: 5_000_000, byName: 'Ålice', text: 'after the end' },
  ];

  test('a track per speaker, named after them, one item at 0 lasting the recording, from its file', () => {
    const { tracks } = readRpp(reaperProject(TRACKS, notes, 3_600_000, Date.UTC(2025, 2, 1)));
    // A name holding both quotes has its backticks written as quotes; a path never does: it holds no `"`.
    const expected = TRACKS.map((t) => ({ name: t.name.replaceAll('`', "'"), position: 0, length: 3600, source: 'OPUS', file: t.file }));
    expect(tracks).toEqual(expected);
  });

  test('the notes are markers in time order, within 1 ms, clamped to the recording', () => {
    const { markers } = readRpp(reaperProject(TRACKS, notes, 3_600_000, 0));
    expect(markers.map((m) => [m.n, m.name, m.flags])).toEqual([
      [1, `quote's "here"`, '0'],
      [2, 'Intro done (Bob "the builder")', '0'],
      [3, 'after the end (Ålice)', '0'],
    ]);
    for (const [marker, at] of markers.map((m, i) => [m, [1_000, 90_250.4, 3_600_000][i] ?? NaN] as const)) {
      expect(Math.abs(marker.at - at)).toBeLessThan(1);
    }
  });

  test('any names and notes parse back to themselves (backticks aside, which REAPER writes as quotes)', () => {
    const text = fc.string({ unit: fc.constantFrom('"', "'", '`', ' ', '<', '>', 'a', 'é', '東', '\n', '\t'), maxLength: 12 });
    fc.assert(
      fc.property(text, text, fc.integer({ min: 0, max: 7_200_000 }), (name, note, at) => {
        const { tracks, markers } = readRpp(
          reaperProject([{ name, file: 'tracks/01-x.ogg' }], [{ at, byName: '', text: note }], 7_200_000, 0),
        );
        const back = (s: string) => (s.includes('"') && s.includes("'") ? s.replaceAll('`', "'") : s);
        expect(tracks[0]?.name).toBe(back(name.replace(/[\n\t]/g, ' ')));
        expect(markers[0]?.name).toBe(back(oneLine(note)));
        expect(Math.abs((markers[0]?.at ?? NaN) - at)).toBeLessThan(1e-6);
      }),
    );
  });
});
