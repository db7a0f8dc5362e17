// Strict readers of the notes' exports, for tests: Audacity labels, WebVTT chapters and Podcasting 2.0 JSON
// chapters, each against its format's grammar.
import { expect } from 'vitest';

type Parsed = { start: number; end: number; text: string };

/** Audacity's label text: `start<TAB>end<TAB>label` per line, times as decimal seconds. */
export function parseLabels(text: string): Parsed[] {
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
export function parseWebvtt(text: string): Parsed[] {
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
export function parsePodcastChapters(text: string): { start: number; text: string }[] {
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
