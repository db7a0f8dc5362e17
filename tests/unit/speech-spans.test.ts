// Who spoke when, from a track's packets alone: sound packets against the exact-silence ones the track format
// fills pauses with.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { isSilencePacket, silencePackets } from '../../src/audio/opus-silence.ts';
import { speechSpans } from '../../src/audio/speech-spans.ts';
import { concatPcm, encodeOpusFrames, tone } from '../helpers/audio.ts';
import { writeTrack } from '../helpers/mix-fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-spans-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const silence = (ms: number) => new Int16Array(Math.round(ms * 48) * 2);

test('every silence packet the recorder writes is silence; a packet of sound is not', () => {
  for (const samples of [120, 240, 480, 960, 1920, 5760, 5760 + 960 + 480 + 240 + 120]) {
    for (const { packet } of silencePackets(samples)) expect(isSilencePacket(packet)).toBe(true);
  }
  const [sound] = encodeOpusFrames(tone(440, 20));
  expect(sound && isSilencePacket(sound)).toBe(false);
  for (const bytes of [[], [0xf8], [0xf8, 0xff, 0xfd], [0xfb, 2, 0xff, 0xfe], [0xfb, 0, 0xff, 0xfe], [0xfc, 0xff, 0xfe]]) {
    expect([bytes, isSilencePacket(Buffer.from(bytes))]).toEqual([bytes, false]);
  }
});

test('the spans are where the tones are, within 20 ms; pauses under 0.5 s are merged, longer ones are not', async () => {
  const file = path.join(dir, 'track.ogg');
  // 1 s silence, 2 s tone, 0.3 s pause, 1 s tone, 2 s silence, 0.5 s tone, 1 s silence.
  await writeTrack(
    file,
    concatPcm(silence(1000), tone(300, 2000), silence(300), tone(500, 1000), silence(2000), tone(700, 500), silence(1000)),
  );
  const spans = await speechSpans(file);
  const expected = [
    { startMs: 1000, endMs: 4300 },
    { startMs: 6300, endMs: 6800 },
  ];
  expect(spans).toHaveLength(expected.length);
  spans.forEach((span, i) => {
    expect(Math.abs(span.startMs - (expected[i]?.startMs ?? NaN))).toBeLessThanOrEqual(20);
    expect(Math.abs(span.endMs - (expected[i]?.endMs ?? NaN))).toBeLessThanOrEqual(20);
  });
  expect(await speechSpans(file, 100)).toHaveLength(3);
});

test('a silent track has no spans', async () => {
  const file = path.join(dir, 'silent.ogg');
  await writeTrack(file, silence(3000));
  expect(await speechSpans(file)).toEqual([]);
});
