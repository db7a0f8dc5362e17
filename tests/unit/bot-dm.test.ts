import { describe, expect, test } from 'vitest';
import { parseDirectMessage } from '../../src/bot/dm.ts';

describe('parseDirectMessage', () => {
  test.each([
    ['download', { kind: 'download', recordingId: undefined }],
    ['  Download  ', { kind: 'download', recordingId: undefined }],
    ['/download', { kind: 'download', recordingId: undefined }],
    ['download abcdefghij', { kind: 'download', recordingId: 'abcdefghij' }],
    ['download `ABCDEFGHIJ`', { kind: 'download', recordingId: 'abcdefghij' }],
    ['download abc def', { kind: 'help' }],
    ['hello', { kind: 'help' }],
    ['', { kind: 'help' }],
    ['please download', { kind: 'help' }],
  ])('%j → %o', (text, request) => {
    expect(parseDirectMessage(text)).toEqual(request);
  });
});
