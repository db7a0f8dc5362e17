import type { Message } from 'discord.js';
import { describe, expect, test } from 'vitest';
import { createDmHandler, DM_LINK_REFUSED, DM_NOT_YOURS, parseDirectMessage } from '../../src/bot/dm.ts';
import type { Library } from '../../src/bot/services.ts';
import { silentLogger } from '../../src/log.ts';
import type { Recording, Store } from '../../src/storage/store.ts';

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

describe('the DM handler', () => {
  /** A direct message from `userId` and what the bot answered in that DM channel. */
  function dm(userId: string, content: string) {
    const answers: string[] = [];
    const message = {
      id: '99',
      content,
      author: { id: userId, bot: false },
      inGuild: () => false,
      channel: { isSendable: () => true, send: async ({ content: text }: { content: string }) => void answers.push(text) },
    } as unknown as Message;
    return { message, answers };
  }

  const recording = { id: 'abcdefghij', hostId: '10', state: 'ready' } as Recording;
  const store = { latestRecordingForHost: async (hostId: string) => (hostId === '10' ? recording : undefined) } as unknown as Store;

  test('the host whose link DM Discord refuses is told that, not that the recording is not theirs', async () => {
    const library = { sendLink: async () => ({ status: 'dm-closed' as const }) } as unknown as Library;
    const { message, answers } = dm('10', 'download');
    await createDmHandler({ store, library, log: silentLogger() })(message);
    expect(answers).toEqual([DM_LINK_REFUSED]);
    expect(answers[0]).not.toBe(DM_NOT_YOURS);
  });

  test('someone who hosted nothing gets the polite refusal', async () => {
    const library = { sendLink: async () => ({ status: 'sent' as const }) } as unknown as Library;
    const { message, answers } = dm('11', 'download');
    await createDmHandler({ store, library, log: silentLogger() })(message);
    expect(answers).toEqual([DM_NOT_YOURS]);
  });
});
