import type { Message } from 'discord.js';
import { describe, expect, test } from 'vitest';
import type { ForgetDmDeps } from '../../src/bot/dm-commands/forget.ts';
import { createDmHandler, parseDirectMessage } from '../../src/bot/dm.ts';
import { DM_LINK_REFUSED, DM_NOT_YOURS } from '../../src/bot/dm-commands/index.ts';
import { UserFacingError } from '../../src/bot/errors.ts';
import type { Library, Speakers } from '../../src/bot/services.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
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
    ['mine', { kind: 'mine' }],
    ['Mine', { kind: 'mine' }],
    ['mine abcdefghij', { kind: 'help' }],
    ['my track abcdefghij', { kind: 'my', recordingId: 'abcdefghij' }],
    ['My Track `ABCDEFGHIJ`', { kind: 'my', recordingId: 'abcdefghij' }],
    ['my track', { kind: 'help' }],
    ['my tracks abcdefghij', { kind: 'help' }],
    ['my track abcdefghij extra', { kind: 'help' }],
    ['notify off', { kind: 'notify', on: false }],
    ['notify ON', { kind: 'notify', on: true }],
    ['notify', { kind: 'help' }],
    ['notify maybe', { kind: 'help' }],
    ['notify off now', { kind: 'help' }],
  ])('%j → %o', (text, request) => {
    const parsed = parseDirectMessage(text);
    expect(parsed.kind === 'command' ? { kind: parsed.verb, ...(parsed.args as object) } : parsed).toEqual(request);
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
  /** The reuse commands are not what these tests are about: they change nothing. */
  const reuse = { live: async () => undefined, stopped: async () => 'unchanged' as const };
  const speakers = {} as Speakers;
  // `download` never forgets anyone.
  const noForget = {} as ForgetDmDeps;
  const store = { latestRecordingForHost: async (hostId: string) => (hostId === '10' ? recording : undefined) } as unknown as Store;

  test('the host whose link DM Discord refuses is told that, not that the recording is not theirs', async () => {
    const library = { sendLink: async () => ({ status: 'dm-closed' as const }) } as unknown as Library;
    const { message, answers } = dm('10', 'download');
    await createDmHandler({ store, library, speakers, log: silentLogger(), reuse, forget: noForget })(message);
    expect(answers).toEqual([DM_LINK_REFUSED]);
    expect(answers[0]).not.toBe(DM_NOT_YOURS);
  });

  test('someone who hosted nothing gets the polite refusal', async () => {
    const library = { sendLink: async () => ({ status: 'sent' as const }) } as unknown as Library;
    const { message, answers } = dm('11', 'download');
    await createDmHandler({ store, library, speakers, log: silentLogger(), reuse, forget: noForget })(message);
    expect(answers).toEqual([DM_NOT_YOURS]);
  });

  test("a stranger's words never reach the log: it says who asked, not what", async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'trace', name: 'test', destination: { write: (line: string) => void lines.push(line) } });
    const library = {
      requireOwned: async (id: string) => {
        throw new UserFacingError(`You have no recording \`${id}\`.`);
      },
    } as unknown as Library;
    const { message, answers } = dm('11', 'download my-bank-pin-is-4321');
    await createDmHandler({ store, library, speakers, log, reuse, forget: noForget })(message);
    expect(answers).toEqual([DM_NOT_YOURS]);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ userId: '11', messageId: '99' });
    expect(lines.join('')).not.toContain('4321');
  });
});
