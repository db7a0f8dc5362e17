// The rules of a speaker's own part of a recording: how long they were recorded, whether their track holds sound,
// what a speaker's link may open, and that what they are told names nobody else.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { mineList, NO_RECORDINGS_OF_YOURS, stopNotice, type OwnRecording } from '../../src/bot/speaker-notice.ts';
import type { TrackAsset } from '../../src/http/catalog.ts';
import { speakerFileName, speakerTarget } from '../../src/http/speaker-route.ts';
import { recordedMs, trackHasSound } from '../../src/recording/speaker-voice.ts';
import type { ConsentEvent } from '../../src/storage/schema.ts';
import { encodeOpusFrames, tone } from '../helpers/audio.ts';

const T0 = Date.UTC(2025, 0, 1);
const S = 1000;
const event = (userId: string, kind: 'granted' | 'withdrawn', at: number): ConsentEvent => ({
  recordingId: 'abcdefghij',
  userId,
  name: userId,
  event: kind,
  at: T0 + at,
});

describe('recordedMs', () => {
  const recording = { startedAt: T0, stoppedAt: T0 + 100 * S };

  test('from each consent to the withdrawal after it, or the stop; the time out is not counted', () => {
    const events = [
      event('a', 'granted', 10 * S),
      event('b', 'granted', 5 * S),
      event('a', 'withdrawn', 30 * S),
      event('a', 'granted', 60 * S),
    ];
    expect(recordedMs(recording, events, 'a')).toBe(20 * S + 40 * S);
    expect(recordedMs(recording, events, 'b')).toBe(95 * S);
    expect(recordedMs(recording, events, 'nobody')).toBe(0);
  });

  test('events out of order or out of the recording are put in order and within it; no stop yet is no figure', () => {
    const events = [event('a', 'withdrawn', 150 * S), event('a', 'granted', -5 * S)];
    expect(recordedMs(recording, events, 'a')).toBe(100 * S);
    expect(recordedMs({ startedAt: T0, stoppedAt: undefined }, events, 'a')).toBeUndefined();
    // A withdrawal with no grant before it (a log a crash cut short) adds nothing.
    expect(recordedMs(recording, [event('a', 'withdrawn', 10 * S)], 'a')).toBe(0);
  });
});

describe('trackHasSound', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomrec-speaker-voice-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  async function track(name: string, sound: boolean): Promise<string> {
    const file = path.join(dir, name);
    const writer = await OggOpusWriter.create({ path: file });
    for (const { packet, samples } of silencePackets(48_000)) writer.writePacket(packet, samples);
    if (sound) for (const frame of encodeOpusFrames(tone(440, 200))) writer.writePacket(frame, 960);
    await writer.close();
    return file;
  }

  test('a track of exact silence holds none; one word in it is sound', async () => {
    expect(await trackHasSound(await track('silent.ogg', false))).toBe(false);
    expect(await trackHasSound(await track('spoke.ogg', true))).toBe(true);
  });
});

describe("a speaker's link", () => {
  test.each([
    ['', { kind: 'page' }],
    ['track', { kind: 'track', format: undefined }],
    ['track.flac', { kind: 'track', format: 'flac' }],
    ['track.ogg', { kind: 'track', format: 'ogg' }],
    ['mix', undefined],
    ['tracks/1', undefined],
    ['all.zip', undefined],
    ['receipt.txt', undefined],
    ['track.exe', undefined],
    ['track/', undefined],
  ])('%j opens %o', (rest, target) => {
    expect(speakerTarget(rest)).toEqual(target);
  });

  test('their download is named without their place among the speakers', () => {
    const asset = { fileName: '02-Ålice.ogg' } as TrackAsset;
    expect(speakerFileName(asset, 'ogg')).toBe('Ålice.ogg');
    expect(speakerFileName(asset, 'flac')).toBe('Ålice.flac');
  });
});

describe('what a speaker is told', () => {
  const own: OwnRecording = {
    id: 'abcdefghij',
    hostName: 'Hana_*',
    startedAt: T0,
    guild: 'The Guild',
    channel: 'Stage',
    recordedMs: 83 * S,
    deletesAt: T0 + 30 * 86_400 * S,
  };

  test('the stop DM: room, host, their time, the deletion date and their commands', () => {
    const text = stopNotice(own);
    expect(text).toContain('You were recorded for 1:23 in **Stage** on **The Guild**, in a room hosted by **Hana\\_\\***');
    expect(text).toContain(`It is deleted <t:${(T0 + 30 * 86_400 * S) / 1000}:D>.`);
    for (const command of [
      '`mine`',
      '`my track abcdefghij`',
      '`forget abcdefghij`',
      '`reuse on abcdefghij`',
      '`reuse off abcdefghij`',
      '`notify off`',
    ]) {
      expect(text).toContain(command);
    }
  });

  test('mine: one line a recording, names the bot no longer knows left out; none is the one answer', () => {
    const list = mineList([own, { ...own, id: 'bbbbbbbbbb', guild: undefined, channel: undefined, deletesAt: undefined }]);
    expect(list.split('\n')).toEqual([
      '**Recordings that hold your voice** (newest first):',
      `• \`abcdefghij\` · <t:${T0 / 1000}:f> · **Stage** on **The Guild** · hosted by Hana\\_\\* · deleted <t:${(T0 + 30 * 86_400 * S) / 1000}:D>`,
      `• \`bbbbbbbbbb\` · <t:${T0 / 1000}:f> · a voice channel · hosted by Hana\\_\\* · still being recorded or prepared`,
      'DM me `my track <id>` for a private link to your own track.',
    ]);
    expect(mineList([])).toBe(NO_RECORDINGS_OF_YOURS);
    // The longest names Discord allows (100 for servers and channels, 32 for users), each character escaped.
    const longest = { guild: '*'.repeat(100), channel: '_'.repeat(100), hostName: '*'.repeat(32) };
    const many = mineList(Array.from({ length: 40 }, (_, i) => ({ ...own, ...longest, id: `a${String(i).padStart(9, 'a')}` })));
    expect(many.length).toBeLessThanOrEqual(2000);
    expect(many).toContain('…and 33 older.');
  });
});
