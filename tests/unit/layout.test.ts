import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  PathEscapeError,
  RECORDING_ID_PATTERN,
  createLayout,
  isRecordingId,
  newRecordingId,
  resolveInside,
  safeName,
  trackFileName,
} from '../../src/storage/layout.ts';

describe('recording ids', () => {
  test('are 10 url-safe base32 characters and do not repeat', () => {
    const ids = Array.from({ length: 2000 }, newRecordingId);
    for (const id of ids) expect(id).toMatch(RECORDING_ID_PATTERN);
    expect(new Set(ids).size).toBe(ids.length);
    expect(encodeURIComponent(ids[0] ?? '')).toBe(ids[0]);
  });

  test.each(['', 'abc', 'ABCDEFGHIJ', 'abcdefghi1', 'abcdefghijk', '../abcdefg', 'abcdefghi/'])('%j is not a recording id', (value) =>
    expect(isRecordingId(value)).toBe(false),
  );
});

describe('resolveInside', () => {
  const root = '/srv/data';

  test('joins parts under the data dir', () => {
    expect(resolveInside(root, 'recordings', 'abcdefghij', 'mix.ogg')).toBe('/srv/data/recordings/abcdefghij/mix.ogg');
    expect(resolveInside('relative/dir', 'x')).toBe(path.resolve('relative/dir/x'));
  });

  test.each([
    [['..', 'etc', 'passwd']],
    [['recordings', '../../etc/passwd']],
    [['/etc/passwd']],
    [['recordings/abcdefghij/\0.ogg']],
    [['..']],
    [['../data-other/x']],
  ])('refuses %j', (parts) => {
    expect(() => resolveInside(root, ...parts)).toThrow(PathEscapeError);
  });

  test('a path that only looks like it climbs but stays inside is allowed', () => {
    expect(resolveInside(root, 'recordings/../recordings/x')).toBe('/srv/data/recordings/x');
  });
});

describe('safeName and trackFileName', () => {
  test.each([
    ['Alice', 'alice'],
    ['Zoë Müller', 'zoe-muller'],
    ['../../etc/passwd', 'etc-passwd'],
    ['🎙️🎙️', 'speaker'],
    ['', 'speaker'],
    ['a'.repeat(60), 'a'.repeat(32)],
    ['DJ_Bob--the  builder!', 'dj_bob-the-builder'],
  ])('safeName(%j) = %j', (input, expected) => expect(safeName(input)).toBe(expected));

  test('names the track by position, speaker and user id', () => {
    expect(trackFileName(3, 'Zoë', '123456789012345678')).toBe('tracks/3-zoe-123456789012345678.ogg');
  });

  test('refuses a user id that is not a snowflake', () => {
    expect(() => trackFileName(1, 'x', '../1')).toThrow(RangeError);
  });
});

describe('createLayout', () => {
  const layout = createLayout('/srv/data');
  const id = 'abcdefghij';

  test('places every file of a recording in its folder', () => {
    expect(layout.recordingsDir).toBe('/srv/data/recordings');
    expect(layout.sqliteFile).toBe('/srv/data/roomrec.sqlite');
    expect(layout.recordingDir(id)).toBe('/srv/data/recordings/abcdefghij');
    expect(layout.tracksDir(id)).toBe('/srv/data/recordings/abcdefghij/tracks');
    expect(layout.file(id, trackFileName(1, 'Alice', '42'))).toBe('/srv/data/recordings/abcdefghij/tracks/1-alice-42.ogg');
    expect(layout.mixFile(id, 'mp3')).toBe('/srv/data/recordings/abcdefghij/mix.mp3');
    expect(layout.metaFile(id)).toBe('/srv/data/recordings/abcdefghij/meta.json');
    expect(layout.receiptFile(id)).toBe('/srv/data/recordings/abcdefghij/receipt.txt');
  });

  test('refuses ids that are not recording ids and files outside the recording', () => {
    expect(() => layout.recordingDir('../etc')).toThrow(RangeError);
    expect(() => layout.file(id, '../bcdefghijk/mix.ogg')).toThrow(PathEscapeError);
    expect(() => layout.file(id, '.')).toThrow(PathEscapeError);
  });
});
