import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createEncoder } from '../../src/audio/encoders/index.ts';
import { id3ChapterTag, id3TagLength, MAX_ID3_CHAPTERS, setMp3Chapters, type Id3Chapter } from '../../src/audio/id3-chapters.ts';
import { parseId3Chapters } from '../helpers/id3.ts';
import { decodeMono, HAVE_FFMPEG } from '../helpers/mix-fixtures.ts';
import { sec } from '../helpers/audio.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-id3-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CHAPTERS: Id3Chapter[] = [
  { startMs: 2_500, endMs: 4_000, title: 'Q&A — “questions” 🎙' },
  { startMs: 0, endMs: 1_250, title: 'Intro done' },
  { startMs: 1_250, endMs: 2_500, title: 'Ünïcode guest' },
];

let files = 0;
/** 4 s of a 330 Hz tone as MP3, with or without chapters. */
async function mp3(chapters?: readonly Id3Chapter[]): Promise<string> {
  const path = join(dir, `t-${files++}.mp3`);
  const frames = sec(4);
  const encoder = await createEncoder('mp3', { path, totalFrames: frames, ...(chapters ? { chapters } : {}) });
  const x = new Float32Array(frames * 2);
  for (let i = 0; i < frames; i++) x[2 * i] = x[2 * i + 1] = 0.3 * Math.sin((2 * Math.PI * 330 * i) / 48_000);
  await encoder.write(x);
  await encoder.finish();
  return path;
}

describe('ID3v2 chapter tag', () => {
  test('a CTOC naming every CHAP in time order, each with its times and UTF-16 title', () => {
    const tag = id3ChapterTag(CHAPTERS);
    const parsed = parseId3Chapters(tag);
    expect(parsed.version).toBe(3);
    expect(parsed.tagBytes).toBe(tag.length);
    expect(id3TagLength(tag)).toBe(tag.length);
    expect(parsed.toc.flags & 0x03).toBe(0x03);
    expect(parsed.toc.children).toEqual(parsed.chapters.map((c) => c.id));
    expect(parsed.chapters.map((c) => [c.startMs, c.endMs, c.title])).toEqual([
      [0, 1_250, 'Intro done'],
      [1_250, 2_500, 'Ünïcode guest'],
      [2_500, 4_000, 'Q&A — “questions” 🎙'],
    ]);
    for (const c of parsed.chapters) expect([c.startOffset, c.endOffset]).toEqual([0xffffffff, 0xffffffff]);
  });

  test(`keeps the first ${MAX_ID3_CHAPTERS} chapters (CTOC counts them in one byte)`, () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ startMs: i * 10, endMs: i * 10 + 10, title: `n${i}` }));
    const parsed = parseId3Chapters(id3ChapterTag(many));
    expect(parsed.chapters).toHaveLength(MAX_ID3_CHAPTERS);
    expect(parsed.toc.children).toHaveLength(MAX_ID3_CHAPTERS);
    expect(parsed.chapters.at(-1)?.title).toBe(`n${MAX_ID3_CHAPTERS - 1}`);
  });

  test('no tag: length 0', () => {
    expect(id3TagLength(Buffer.from('\xff\xfb\x94\x44', 'latin1'))).toBe(0);
  });
});

describe('MP3 with chapters', () => {
  test.skipIf(!HAVE_FFMPEG)('the encoder writes them first; the audio decodes sample for sample as without them', async () => {
    const plain = await mp3();
    const tagged = await mp3(CHAPTERS);
    expect(parseId3Chapters(await readFile(tagged)).chapters).toHaveLength(3);
    const [a, b] = [await decodeMono(plain), await decodeMono(tagged)];
    // Same length (the Info frame, now after the tag, still tells the decoder the delay and padding) and samples.
    expect(b.length).toBe(sec(4));
    expect(b).toEqual(a);
  });

  test.skipIf(!HAVE_FFMPEG)('ffprobe lists them at their times with their titles', async () => {
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', await mp3(CHAPTERS)], { encoding: 'utf8' });
    expect(probe.status).toBe(0);
    const chapters = (JSON.parse(probe.stdout) as { chapters: { start_time: string; end_time: string; tags: { title: string } }[] })
      .chapters;
    expect(chapters.map((c) => [Number(c.start_time), Number(c.end_time), c.tags.title])).toEqual([
      [0, 1.25, 'Intro done'],
      [1.25, 2.5, 'Ünïcode guest'],
      [2.5, 4, 'Q&A — “questions” 🎙'],
    ]);
  });

  test('setMp3Chapters puts a tag before the frames, replaces its own tag when run again, and keeps the file private', async () => {
    const file = await mp3();
    const frames = await readFile(file);
    await setMp3Chapters(file, CHAPTERS.slice(0, 1));
    await setMp3Chapters(file, CHAPTERS);
    const out = await readFile(file);
    const parsed = parseId3Chapters(out);
    expect(parsed.chapters.map((c) => c.title)).toEqual(['Intro done', 'Ünïcode guest', 'Q&A — “questions” 🎙']);
    // One tag, then the MPEG frames byte for byte.
    expect(out.subarray(parsed.tagBytes).equals(frames)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });
});
