// The library's link DM: the link is stored before it is sent (a host never holds a link the store does not
// know), closed DMs are an answer, any other DM error reaches the caller. Real store; Discord's user API is a
// stand-in that records what the store held at the moment of sending.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DiscordAPIError, type Client } from 'discord.js';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createLibrary } from '../../src/bot/library.ts';
import { silentLogger } from '../../src/log.ts';
import { openStore, type Recording, type Store } from '../../src/storage/store.ts';

let dir: string;
let store: Store;
let recording: Recording;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-library-'));
  store = await openStore({ dataDir: dir, log: silentLogger() });
  recording = await store.createRecording({
    guildId: '1',
    channelId: '2',
    textChannelId: '2',
    hostId: '10',
    hostName: 'Host',
    startedAt: 1_000,
  });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

function libraryWith(send: (content: string) => Promise<void>) {
  const client = { users: { fetch: async () => ({ send: ({ content }: { content: string }) => send(content) }) } } as unknown as Client;
  let n = 0;
  return createLibrary({
    client,
    store,
    linkFor: (recordingId, now) => ({
      linkId: `link${++n}`,
      url: `https://rec.example.org/r/token${n}`,
      issuedAt: now,
      expiresAt: now + 3_600_000,
      recordingId,
    }),
    retentionDays: 30,
    now: () => 5_000,
    log: silentLogger(),
    isLive: () => false,
  });
}

const closedDms = () =>
  new DiscordAPIError({ code: 50007, message: 'Cannot send messages to this user' }, 50007, 403, 'POST', '/channels/9/messages', {
    body: undefined,
    files: undefined,
  });

describe('library.sendLink', () => {
  test('the link is stored before the DM carrying it is sent', async () => {
    const storedAtSend: string[][] = [];
    const library = libraryWith(async () => {
      storedAtSend.push((await store.linksFor(recording.id)).map((l) => l.id));
    });
    const outcome = await library.sendLink(recording, 'intro');
    expect(outcome.status).toBe('sent');
    expect(storedAtSend).toEqual([['link1']]);
  });

  test('closed DMs: an answer, not an error', async () => {
    const library = libraryWith(async () => {
      throw closedDms();
    });
    expect(await library.sendLink(recording, 'intro')).toEqual({ status: 'dm-closed' });
    expect(await library.tellHost(recording, 'note')).toEqual({ status: 'dm-closed' });
  });

  test('any other DM error reaches the caller (who tells the host in the room)', async () => {
    const library = libraryWith(async () => {
      throw new Error('503 Service Unavailable');
    });
    await expect(library.sendLink(recording, 'intro')).rejects.toThrow(/503/);
  });
});
