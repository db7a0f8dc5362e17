// Notes exported as Audacity labels, WebVTT chapters and Podcasting 2.0 JSON chapters, each read back with a
// strict parser of its format's grammar.
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { audacityLabels, podcastChapters, webvttChapters, type ChapterNote } from '../../src/recording/chapters.ts';
import { HAVE_FFMPEG } from '../helpers/mix-fixtures.ts';

type Parsed = { start: number; end: number; text: string };

/** Audacity's label text: `start<TAB>end<TAB>label` per line, times as decimal seconds. */
function parseLabels(text: string): Parsed[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const match = /^(\d+\.\d{6})\t(\d+\.\d{6})\t([^\t\r\n]*)$/.exec(line);
      if (!match) throw new Error(`not a label line: ${JSON.stringify(line)}`);
      return { start: Number(match[1]) * 1000, end: Number(match[2]) * 1000, text: match[3] ?? '' };
    });
}

const TIMESTAMP = String.raw`(\d{2,}):([0-5]\d):([0-5]\d)\.(\d{3})`;
const TIMING_LINE = new RegExp(`^${TIMESTAMP} --> ${TIMESTAMP}$`);

const ms = (h: string, m: string, s: string, f: string) => ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000 + Number(f);

/**
 * WebVTT file syntax (W3C WebVTT §4.1) for what chapters use: `WEBVTT`, a blank line, then blocks separated by
 * one blank line of an optional identifier (no `-->`), a timing line, and cue text lines, which must not
 * contain `-->` and whose `&` and `<` only start character references or tags. A cue ends after it starts, and
 * cues are in order of start time. Cue text is returned with the references decoded.
 */
function parseWebvtt(text: string): Parsed[] {
  expect(text.startsWith('WEBVTT\n')).toBe(true);
  const body = text.slice('WEBVTT\n'.length);
  if (body === '') return [];
  expect(body.startsWith('\n')).toBe(true);
  expect(body.endsWith('\n')).toBe(true);
  const blocks = body.slice(1, -1).split('\n\n');
  const cues: Parsed[] = [];
  for (const block of blocks) {
    const lines = block.split('\n');
    if (!TIMING_LINE.test(lines[0] ?? '')) {
      const id = lines.shift() ?? '';
      expect(id).not.toContain('-->');
      expect(id).not.toBe('');
    }
    const timing = TIMING_LINE.exec(lines.shift() ?? '');
    if (!timing) throw new Error(`no timing line in ${JSON.stringify(block)}`);
    const [, h1, m1, s1, f1, h2, m2, s2, f2] = timing as unknown as string[];
    const start = ms(h1!, m1!, s1!, f1!);
    const end = ms(h2!, m2!, s2!, f2!);
    expect(end).toBeGreaterThan(start);
    if (cues.length > 0) expect(start).toBeGreaterThanOrEqual(cues.at(-1)!.start);
    for (const line of lines) {
      expect(line).not.toContain('-->');
      expect(line).not.toBe('');
      expect(line.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[&<]/);
    }
    const decoded = lines.join('\n').replace(/&(amp|lt|gt);/g, (_, name: string) => ({ amp: '&', lt: '<', gt: '>' })[name] ?? '');
    cues.push({ start, end, text: decoded });
  }
  return cues;
}

/** JSON Chapters Format 1.2.0: `version` string, `chapters` of `{startTime: number, title: string}` ascending. */
function parsePodcastChapters(text: string): { start: number; text: string }[] {
  const json: unknown = JSON.parse(text);
  expect(json).toMatchObject({ version: '1.2.0', chapters: expect.any(Array) });
  const chapters = (json as { chapters: unknown[] }).chapters;
  let previous = -1;
  return chapters.map((chapter) => {
    expect(Object.keys(chapter as object).sort()).toEqual(['startTime', 'title']);
    const { startTime, title } = chapter as { startTime: unknown; title: unknown };
    if (typeof startTime !== 'number' || typeof title !== 'string') throw new Error(`bad chapter ${JSON.stringify(chapter)}`);
    expect(startTime).toBeGreaterThanOrEqual(0);
    expect(startTime).toBeGreaterThan(previous);
    previous = startTime;
    return { start: startTime * 1000, text: title };
  });
}

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
