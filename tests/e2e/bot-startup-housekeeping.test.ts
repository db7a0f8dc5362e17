// What the bot does for itself at start-up: unfinished mix files left by an earlier run (a crash between a
// withdrawal and the live mix starting over could leave a withdrawn speaker's audio in one) are removed and
// logged, finished files are kept; and a plain-http PUBLIC_URL on a real host is warned about in the log.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { loadBotConfig } from '../../src/config.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import { startBot, type Bot } from '../../src/main.ts';
import { openStore } from '../../src/storage/store.ts';
import { startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import type { DiscordSim } from '../../discord-sim/index.ts';

let dir: string;
let sim: DiscordSim;
let bot: Bot | undefined;
let recordingDir = '';
const FOLDER_TIME = new Date(Date.now() - 3_600_000);
const lines: { level: number; msg: string; recordingId?: string; files?: string[]; publicUrl?: string }[] = [];

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-housekeeping-'));
  // A finished recording whose folder still holds what two killed mixes left behind.
  const store = await openStore({ dataDir: dir, log: silentLogger() });
  const created = await store.createRecording({
    guildId: '1',
    channelId: '2',
    textChannelId: '2',
    hostId: '10',
    hostName: 'Host',
    startedAt: Date.now() - 60_000,
  });
  await store.updateRecording(created.id, (r) => ({ ...r, state: 'ready', stoppedAt: Date.now() - 1_000, stopReason: 'command' }));
  await store.close();
  recordingDir = path.join(dir, 'recordings', created.id);
  await mkdir(recordingDir, { recursive: true });
  for (const name of ['mix.ogg', 'receipt.txt', 'mix.ogg.live-partial-4242', 'mix.ogg.partial-4242']) {
    await writeFile(path.join(recordingDir, name), 'x');
  }
  // As a crashed run left it, a while ago.
  await utimes(recordingDir, FOLDER_TIME, FOLDER_TIME);

  sim = await startSimForBot();
  const config = loadBotConfig({
    DISCORD_TOKEN: sim.token,
    MIN_FREE_DISK_MB: '0',
    LINK_SECRET: randomBytes(32).toString('hex'),
    DATA_DIR: dir,
    HTTP_HOST: '127.0.0.1',
    HTTP_PORT: String(await freePort()),
    PUBLIC_URL: 'http://rec.example.org',
  });
  const log = createLogger({ level: 'info', name: 'roomrec', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  bot = await startBot({ config, discordApi: sim.restUrl, log });
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('unfinished mix files of a recording that is not live are removed, and the removal is logged', async () => {
  expect(existsSync(path.join(recordingDir, 'mix.ogg.live-partial-4242'))).toBe(false);
  expect(existsSync(path.join(recordingDir, 'mix.ogg.partial-4242'))).toBe(false);
  expect(existsSync(path.join(recordingDir, 'mix.ogg'))).toBe(true);
  expect(existsSync(path.join(recordingDir, 'receipt.txt'))).toBe(true);
  const logged = lines.find((l) => l.msg.includes('unfinished mix file'));
  expect(logged?.recordingId).toBe(path.basename(recordingDir));
  expect(logged?.files?.sort()).toEqual(['mix.ogg.live-partial-4242', 'mix.ogg.partial-4242']);
  // The folder's mtime is evidence (last sign of life of a crashed run, an orphan's age): left as it was.
  expect((await stat(recordingDir)).mtimeMs).toBe(FOLDER_TIME.getTime());
});

test('a plain-http PUBLIC_URL on a real host is warned about, in words', () => {
  const warning = lines.find((l) => l.level === 40 && l.publicUrl === 'http://rec.example.org');
  expect(warning?.msg).toMatch(/clear text/);
  expect(warning?.msg).toMatch(/TLS reverse proxy/);
});
