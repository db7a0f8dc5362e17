// The composition root creates one logger and passes it (or its children) down; no module holds a global.
import path from 'node:path';
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
  return destination ? pino({ level, name }, destination) : pino({ level, name });
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
