// Folders 0700 and files 0600 whatever the umask: one that takes nothing off (everything would be readable by
// every account), and one that takes off more than it should (mkdir's and open's mode alone would then leave
// folders the bot cannot write into, and files it cannot rewrite).
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import KeyvSqlite from '@keyv/sqlite';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createLogger, silentLogger } from '../../src/log.ts';
import { mkdirPrivate, openPrivate, writePrivateFile } from '../../src/storage/private-files.ts';
import { openStore } from '../../src/storage/store.ts';

const modeOf = async (p: string) => ((await stat(p)).mode & 0o777).toString(8);

let dir: string;
let umask: number;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-private-'));
  umask = process.umask();
});
afterEach(async () => {
  process.umask(umask);
  await rm(dir, { recursive: true, force: true });
});

describe.each([
  { name: 'takes nothing off', mask: 0o000 },
  { name: 'takes off too much', mask: 0o277 },
])('under a umask that $name', ({ mask }) => {
  beforeEach(() => {
    process.umask(mask);
  });

  test('folders made are 0700, the ones already there left alone; files written are 0600', async () => {
    await chmod(dir, 0o755);
    const deep = path.join(dir, 'a', 'b', 'c');
    await mkdirPrivate(deep);
    expect(await Promise.all([dir, path.join(dir, 'a'), path.join(dir, 'a', 'b'), deep].map(modeOf))).toEqual(['755', '700', '700', '700']);
    await writePrivateFile(path.join(deep, 'receipt.txt'), 'hello');
    expect(await modeOf(path.join(deep, 'receipt.txt'))).toBe('600');
    await (await openPrivate(path.join(deep, 'track.ogg'), 'wx')).close();
    expect(await modeOf(path.join(deep, 'track.ogg'))).toBe('600');
    // Nothing to make: a no-op, nothing changed.
    await mkdirPrivate(deep);
    expect(await modeOf(deep)).toBe('700');
  });

  test('a log file is 0600 in a 0700 folder, appended to', async () => {
    const file = path.join(dir, 'logs', 'roomrec.log');
    createLogger({ level: 'info', name: 'roomrec', file }).info('first');
    createLogger({ level: 'info', name: 'roomrec', file }).info('second');
    expect(await modeOf(path.dirname(file))).toBe('700');
    expect(await modeOf(file)).toBe('600');
    expect((await readFile(file, 'utf8')).split('\n').filter((l) => l.includes('"msg"'))).toHaveLength(2);
  });
});

test('a file that was readable is private once rewritten', async () => {
  const file = path.join(dir, 'meta.json');
  await writeFile(file, 'old');
  await chmod(file, 0o644);
  await writePrivateFile(file, 'new');
  expect(await modeOf(file)).toBe('600');
  expect(await readFile(file, 'utf8')).toBe('new');
});

test('opening the store makes a readable data folder and SQLite file private, and a journal left beside it', async () => {
  process.umask(0);
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { mode: 0o777 });
  // What an older version left: the database and a journal 0644.
  const first = await openStore({ dataDir, log: silentLogger() });
  await first.close();
  const sqlite = path.join(dataDir, 'roomrec.sqlite');
  await chmod(sqlite, 0o644);
  await writeFile(`${sqlite}-journal`, '', { mode: 0o644 });
  await chmod(dataDir, 0o755);

  const store = await openStore({ dataDir, log: silentLogger() });
  try {
    expect(await Promise.all([dataDir, sqlite, `${sqlite}-journal`].map(modeOf))).toEqual(['700', '600', '600']);
    expect(await store.listRecordings()).toEqual([]);
  } finally {
    await store.close();
  }
});

test('the journals SQLite makes beside the database take its 0600, whichever journal mode', async () => {
  process.umask(0);
  const dataDir = path.join(dir, 'data');
  await (await openStore({ dataDir, log: silentLogger() })).close();
  const sqlite = path.join(dataDir, 'roomrec.sqlite');
  // PERSIST and WAL keep their files after a write, where the default mode deletes its journal at once.
  const db = new KeyvSqlite({ uri: `sqlite://${sqlite}` });
  const modes: Record<string, string> = {};
  try {
    for (const [mode, suffixes] of [
      ['PERSIST', ['-journal']],
      ['WAL', ['-wal', '-shm']],
    ] as const) {
      await db.query(`PRAGMA journal_mode=${mode}`);
      await db.set(mode, '');
      for (const suffix of suffixes) modes[suffix] = await modeOf(`${sqlite}${suffix}`);
    }
  } finally {
    await db.close();
  }
  expect(modes).toEqual({ '-journal': '600', '-wal': '600', '-shm': '600' });
});
