// Notes exported as Audacity labels, WebVTT chapters and Podcasting 2.0 JSON chapters, each read back with a
// strict parser of its format's grammar.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { audacityLabels, podcastChapters, webvttChapters, type ChapterNote } from '../../src/recording/chapters.ts';
import { parseLabels, parsePodcastChapters, parseWebvtt } from '../helpers/chapter-files.ts';
import { HAVE_FFMPEG } from '../helpers/mix-fixtures.ts';

const note = (at: number, text: string, byName = 'Hana'): ChapterNote => ({ at, byName, text });

describe('three notes in a 10-minute recording', () => {
  const notes = [note(75_250.4, 'Question <from> the chat & more', 'Ivan'), note(1_500, 'Intro done'), note(540_000, 'Outro --> end')];
  const durationMs = 600_000;

  test('Audacity labels: a point label per note, in time order, with who added it', () => {
    const labels = parseLabels(audacityLabels(notes, durationMs));
    expect(labels.map((l) => l.text)).toEqual(['Intro done (Hana)', 'Question <from> the chat & more (Ivan)', 'Outro --> end (Hana)']);
    for (const [label, at] of labels.map((l, i) => [l, [1_500, 75_250.4, 540_000][i]!] as const)) {
      expect(Math.abs(label.start - at)).toBeLessThan(1);
      expect(label.end).toBe(label.start);
    }
  });

  test('WebVTT: a cue from each note to the next, the last to the end, cue text escaped', () => {
    const vtt = webvttChapters(notes, durationMs);
    expect(vtt).toContain('Question &lt;from&gt; the chat &amp; more');
    expect(parseWebvtt(vtt)).toEqual([
      { start: 1_500, end: 75_250, text: 'Intro done' },
      { start: 75_250, end: 540_000, text: 'Question <from> the chat & more' },
      { start: 540_000, end: 600_000, text: 'Outro --> end' },
    ]);
  });

  test.skipIf(!HAVE_FFMPEG)('WebVTT: ffmpeg, an independent reader, reads the same cues (as SubRip)', () => {
    const srt = execFileSync('ffmpeg', ['-v', 'error', '-f', 'webvtt', '-i', 'pipe:0', '-f', 'srt', 'pipe:1'], {
      input: webvttChapters(notes, durationMs),
    }).toString('utf8');
    expect(srt.replaceAll('\r\n', '\n').trim().split('\n\n')).toEqual([
      '1\n00:00:01,500 --> 00:01:15,250\nIntro done',
      '2\n00:01:15,250 --> 00:09:00,000\nQuestion <from> the chat & more',
      '3\n00:09:00,000 --> 00:10:00,000\nOutro --> end',
    ]);
  });

  test('JSON chapters: a chapter per note, in seconds, ascending', () => {
    expect(parsePodcastChapters(podcastChapters(notes, durationMs))).toEqual([
      { start: 1_500, text: 'Intro done' },
      { start: 75_250, text: 'Question <from> the chat & more' },
      { start: 540_000, text: 'Outro --> end' },
    ]);
  });
});

test('notes at the same moment share a chapter; notes past the end are placed at it, with a 1 ms cue', () => {
  const notes = [note(2_000, 'b'), note(2_000, 'c'), note(9_000, 'late'), note(0, 'a')];
  expect(parseWebvtt(webvttChapters(notes, 5_000))).toEqual([
    { start: 0, end: 2_000, text: 'a' },
    { start: 2_000, end: 5_000, text: 'b / c' },
    { start: 5_000, end: 5_001, text: 'late' },
  ]);
  expect(parseLabels(audacityLabels(notes, 5_000)).map((l) => [l.start, l.text])).toEqual([
    [0, 'a (Hana)'],
    [2_000, 'b (Hana)'],
    [2_000, 'c (Hana)'],
    [5_000, 'late (Hana)'],
  ]);
});

test('a 25-hour recording keeps its hours in the timestamps', () => {
  expect(webvttChapters([note(90_061_001, 'x')], 90_100_000)).toContain('25:01:01.001 --> 25:01:40.000');
});

test('tabs and newlines, impossible in a kept note, still cannot split a line', () => {
  const notes = [note(0, 'a\tb\nc\r\n\nd', 'Ha\tna')];
  expect(parseLabels(audacityLabels(notes, 1_000))).toEqual([{ start: 0, end: 0, text: 'a b c d (Ha na)' }]);
  expect(parseWebvtt(webvttChapters(notes, 1_000))).toHaveLength(1);
});

test('no notes: empty labels, a WebVTT file with no cues, no chapters', () => {
  expect(audacityLabels([], 1_000)).toBe('');
  expect(parseWebvtt(webvttChapters([], 1_000))).toEqual([]);
  expect(parsePodcastChapters(podcastChapters([], 1_000))).toEqual([]);
});

test('any notes, in any order, at any time, with any text: every file parses and times match within 1 ms', () => {
  const text = fc.string({
    unit: fc.constantFrom('a', ' ', '&', '<', '>', '-', '\t', '\n', '\r', 'é', '🎙', '\u2028', '\\'),
    maxLength: 30,
  });
  const arbitrary = fc.record({
    durationMs: fc.integer({ min: 0, max: 10_000_000 }),
    notes: fc.array(
      fc.record({
        at: fc.oneof(fc.constantFrom(0, 1_000, 1_000.4), fc.double({ min: 0, max: 20_000_000, noNaN: true })),
        byName: text,
        text,
      }),
      { maxLength: 12 },
    ),
  });
  fc.assert(
    fc.property(arbitrary, ({ durationMs, notes }) => {
      const clamped = notes.map((n) => Math.min(durationMs, n.at)).sort((a, b) => a - b);
      const labels = parseLabels(audacityLabels(notes, durationMs));
      expect(labels).toHaveLength(notes.length);
      labels.forEach((l, i) => expect(Math.abs(l.start - clamped[i]!)).toBeLessThanOrEqual(1));
      const distinct = [...new Set(clamped.map(Math.round))];
      const cues = parseWebvtt(webvttChapters(notes, durationMs));
      expect(cues.map((c) => c.start)).toEqual(distinct);
      expect(parsePodcastChapters(podcastChapters(notes, durationMs)).map((c) => Math.round(c.start))).toEqual(distinct);
    }),
  );
});
