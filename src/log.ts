// The composition root creates one logger and passes it (or its children) down; no module holds a global.
import { fstatSync } from 'node:fs';
import path from 'node:path';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.ts';
import { logFileDestination, type WriteFd } from './log-file.ts';
import { mkdirPrivateSync, openPrivateSync } from './storage/private-files.ts';

export type Logger = PinoLogger;

export type LoggerOptions = {
  level: LogLevel;
  name: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
  /**
   * A file to append to instead (its folder created if need be), private like the recordings it talks about:
   * 0600, whatever the umask. Written synchronously, so the log of a process that dies is complete; a line that
   * cannot be written (a full disk) is dropped and counted, never an error (log-file.ts).
   */
  file?: string;
  /** The log file's write; injected by tests to fill the disk. */
  fileWrite?: WriteFd;
};

export function createLogger({ level, name, destination, file, fileWrite }: LoggerOptions): Logger {
  if (file !== undefined) return pino({ level, name }, privateLogFile(file, fileWrite));
  if (destination) return pino({ level, name }, destination);
  return stdoutIsAFile() ? pino({ level, name }, logFileDestination(1)) : pino({ level, name });
}

/**
 * `npm start > bot.log` makes stdout a file on the recordings' disk, where pino's own destination would end
 * the process when the disk fills, as it did for the log file. Pipes and terminals (systemd, Docker, a shell)
 * keep pino's, which waits on a full pipe instead of dropping lines.
 */
function stdoutIsAFile(): boolean {
  if (isatty(1)) return false;
  try {
    const stat = fstatSync(1);
    return !stat.isFIFO() && !stat.isSocket();
  } catch {
    return false;
  }
}

function privateLogFile(file: string, write: WriteFd | undefined): DestinationStream {
  mkdirPrivateSync(path.dirname(file));
  const fd = openPrivateSync(file, 'a');
  return logFileDestination(fd, write);
}

/** A logger that drops everything, for callers (scripts, tests) that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
