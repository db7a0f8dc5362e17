// Chapters written into a finished Ogg Opus file: the comments change, the audio does not (same decoded samples),
// the file stays a valid stream (page numbers and CRCs, also when the new tags take more pages), and ffprobe
// reads the chapters.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { addOpusComments } from '../../src/audio/opus-tags-rewrite.ts';
import { vorbisChapterComments } from '../../src/recording/chapters.ts';
import { decodeOggOpusFile, encodeOpusFrames, tone } from '../helpers/audio.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-tags-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function mixLike(name: string): Promise<string> {
  const path = join(dir, name);
  const w = await OggOpusWriter.create({ path, comments: { TITLE: 'Room', ENCODER: 'roomrec' } });
  for (const packet of encodeOpusFrames(tone(440, 3000))) w.writePacket(packet, 960);
  await w.close();
  return path;
}

const hasFfprobe = spawnSync('ffprobe', ['-version']).status === 0;

describe('chapters added to a finished Ogg Opus file', () => {
  test.each([
    ['a few notes (the tags stay one page)', 3],
    ['900 long notes (the tags take more pages: every audio page is renumbered)', 900],
  ])('%s: old comments kept, new ones read back, audio sample-identical, stream valid', async (_what, count) => {
    const path = await mixLike(`mix-${count}.ogg`);
    const before = join(dir, `before-${count}.ogg`);
    copyFileSync(path, before);
    const notes = Array.from({ length: count }, (_, i) => ({
      at: 500 + i * 2,
      byName: 'Hana',
      text: `Note ${i} ${'x'.repeat(count > 10 ? 150 : 0)}`,
    }));
    await addOpusComments(path, vorbisChapterComments(notes, 3000));

    const scan = await scanOggOpus(path);
    expect(scan.comments.TITLE).toBe('Room');
    expect(scan.comments.CHAPTER001).toBe('00:00:00.500');
    expect(scan.comments.CHAPTER001NAME).toBe(`Note 0 ${'x'.repeat(count > 10 ? 150 : 0)} (Hana)`.replace(/\s+/g, ' '));
    expect(scan.comments[`CHAPTER${String(count).padStart(3, '0')}`]).toBe(`00:00:0${((500 + (count - 1) * 2) / 1000).toFixed(3)}`);
    expect(scan.tailBytes).toBe(0);
    expect(scan.lastWhole.eos).toBe(true);
    const [a, b] = [await decodeOggOpusFile(before), await decodeOggOpusFile(path)];
    expect(b.samples).toBe(a.samples);
    expect(Buffer.from(b.pcm.buffer).equals(Buffer.from(a.pcm.buffer))).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  test.skipIf(!hasFfprobe)('ffprobe lists the chapters at their times', async () => {
    const path = await mixLike('mix-ffprobe.ogg');
    const notes = [
      { at: 250, byName: 'Hana', text: 'Intro done' },
      { at: 1750, byName: 'Ivan', text: 'Question' },
    ];
    await addOpusComments(path, vorbisChapterComments(notes, 3000));
    const probe = spawnSync('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', path], { encoding: 'utf8' });
    const chapters = (JSON.parse(probe.stdout) as { chapters: { start_time: string; tags?: { title?: string } }[] }).chapters;
    expect(chapters.map((c) => [Number(c.start_time), c.tags?.title])).toEqual([
      [0.25, 'Intro done (Hana)'],
      [1.75, 'Question (Ivan)'],
    ]);
  });
});
