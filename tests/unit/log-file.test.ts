// The log file shares the disk with the recordings: when that disk fills, logging must cost lines, never the
// process (pino's own destination emits an unhandled 'error' there, which ended the bot mid-room).
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { logFileDestination, type WriteFd } from '../../src/log-file.ts';

/** A file in memory whose disk is full while `full` is set; when `room` is given, that many bytes still fit. */
function fakeDisk(): { write: WriteFd; text: () => string; full: boolean; room: number } {
  const chunks: Buffer[] = [];
  const disk = {
    full: false,
    room: Infinity,
    text: () => Buffer.concat(chunks).toString(),
    write: (_fd: number, buffer: Buffer, offset: number, length: number): number => {
      if (disk.full && disk.room <= 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      const n = disk.full ? Math.min(length, disk.room) : length;
      if (disk.full) disk.room -= n;
      chunks.push(Buffer.from(buffer.subarray(offset, offset + n)));
      return n;
    },
  };
  return disk;
}

const lines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the log file destination', () => {
  test('a real ENOSPC (/dev/full) is dropped, not thrown or emitted', () => {
    const fd = openSync('/dev/full', 'a');
    try {
      const log = pino({ name: 'roomrec' }, logFileDestination(fd));
      expect(() => {
        log.info('first');
        log.warn({ n: 2 }, 'second');
      }).not.toThrow();
    } finally {
      closeSync(fd);
    }
  });

  test('lines are dropped while the disk is full, counted once it is not, and a torn line is set apart', () => {
    const disk = fakeDisk();
    const log = pino({ name: 'roomrec' }, logFileDestination(3, disk.write));
    log.info('before');
    disk.full = true;
    disk.room = 10; // the first lost line is cut off after 10 bytes
    log.info('lost one');
    log.info('lost two');
    disk.full = false;
    log.info('after');
    const text = disk.text();
    const [before, torn, ...rest] = text.split('\n');
    expect(JSON.parse(before!)).toMatchObject({ msg: 'before' });
    expect(torn).toHaveLength(10);
    expect(lines(rest.join('\n'))).toMatchObject([
      {
        level: 40,
        droppedLines: 2,
        err: 'ENOSPC: no space left on device, write',
        msg: 'log lines were dropped: the log file could not be written',
      },
      { msg: 'after', name: 'roomrec' },
    ]);
  });

  test('nothing is added when no line was lost', () => {
    const disk = fakeDisk();
    const log = pino({}, logFileDestination(3, disk.write));
    log.info('one');
    log.info('two');
    expect(lines(disk.text()).map((l) => l.msg)).toEqual(['one', 'two']);
  });

  test("createLogger's log file (the demo's roomrec.log) is written through it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'roomrec-log-'));
    try {
      const file = path.join(dir, 'roomrec.log');
      let full = false;
      const write: WriteFd = (fd, buffer, offset, length) => {
        if (full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return writeSync(fd, buffer, offset, length);
      };
      const log = createLogger({ level: 'info', name: 'roomrec', file, fileWrite: write });
      log.info('before');
      full = true;
      expect(() => log.info('lost')).not.toThrow();
      full = false;
      log.info('after');
      expect(lines(readFileSync(file, 'utf8')).map((l) => l.msg)).toEqual([
        'before',
        'log lines were dropped: the log file could not be written',
        'after',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stdout redirected to a full disk (/dev/full) costs lines, not the process', () => {
    const script = [
      `const { createLogger } = await import(${JSON.stringify(path.resolve('src/log.ts'))});`,
      "const log = createLogger({ level: 'info', name: 'roomrec' });",
      "for (let i = 0; i < 100; i++) log.info({ i }, 'a line that cannot be written');",
      // pino writes stdout asynchronously: a failed write surfaces by the time its flush answers.
      'await new Promise((resolve) => log.flush(() => resolve()));',
      "process.stderr.write('still running');",
    ].join('\n');
    const stdout = openSync('/dev/full', 'w');
    try {
      const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', stdout, 'pipe'],
        encoding: 'utf8',
        // pino's own destination does not end on a full disk: it retries for good (or exits on the error).
        timeout: 60_000,
      });
      expect(run.stderr).toBe('still running');
      expect(run.status).toBe(0);
    } finally {
      closeSync(stdout);
    }
  });
});
