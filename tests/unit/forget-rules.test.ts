// The pure rules of "forget me": tracks keep their numbers when one is forgotten, what a link answers about a
// forgotten (or being forgotten) speaker, and which words the `forget` DM takes.
import { describe, expect, test } from 'vitest';
import { parseDirectMessage } from '../../src/bot/dm.ts';
import { forgetAnswer } from '../../src/http/forgotten-routes.ts';
import type { RecordingView } from '../../src/http/recording-source.ts';
import { trackNumbers } from '../../src/recording/track-numbers.ts';

describe('track numbers', () => {
  test('the others keep their numbers when tracks are forgotten', () => {
    expect(trackNumbers({ speakers: ['a', 'b', 'c'] })).toEqual([1, 2, 3]);
    expect(trackNumbers({ speakers: ['a', 'c'], forgotten: [{ track: 2 }] })).toEqual([1, 3]);
    expect(trackNumbers({ speakers: ['c'], forgotten: [{ track: 2 }, { track: 1 }] })).toEqual([3]);
  });
});

describe('what a link answers', () => {
  const speaker = (userId: string) => ({ userId, name: userId, consentedAt: 0, includeInMix: true, trackFile: `tracks/x-${userId}.ogg` });
  const recording = (extra: Partial<RecordingView>): RecordingView => ({
    id: 'abcdefghij',
    hostName: 'Hana',
    startedAt: 0,
    state: 'ready',
    speakers: [speaker('1'), speaker('3')],
    ...extra,
  });

  test('a forgotten track is gone, in every format; the others are served', () => {
    const r = recording({ forgotten: [{ track: 2, at: 5 }] });
    expect(forgetAnswer('tracks/2', r)?.status).toBe(410);
    expect(forgetAnswer('tracks/2.flac', r)?.status).toBe(410);
    expect(forgetAnswer('tracks/3', r)).toBeUndefined();
    expect(forgetAnswer('mix', r)).toBeUndefined();
  });

  test('from the request on, their track is gone and every other file waits for the mix made again', () => {
    const r = recording({ forgetting: [{ userId: '3', requestedAt: 5 }] });
    expect(forgetAnswer('tracks/2', r)?.status).toBe(410);
    expect(forgetAnswer('tracks/1', r)?.status).toBe(503);
    expect(forgetAnswer('mix', r)?.status).toBe(503);
    expect(forgetAnswer('all.zip', r)?.status).toBe(503);
    expect(forgetAnswer('', r)).toBeUndefined();
    expect(forgetAnswer('receipt.txt', r)).toBeUndefined();
  });
});

describe('the forget DM', () => {
  const args = (text: string) => {
    const request = parseDirectMessage(text);
    return request.kind === 'command' ? request.args : 'help';
  };
  test.each([
    ['forget', { kind: 'latest' }],
    ['forget `ABCDEFGHIJ`', { kind: 'one', recordingId: 'abcdefghij' }],
    ['forget all', { kind: 'all', confirmed: false }],
    ['Forget ALL confirm', { kind: 'all', confirmed: true }],
    ['forget all now', 'help'],
    ['forget a b', 'help'],
  ])('%s', (text, expected) => expect(args(text)).toEqual(expected));
});
