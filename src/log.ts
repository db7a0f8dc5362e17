// The composition root creates one logger and passes it (or its children) down; no module holds a global.
import path from 'node:path';
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.ts';
import { logFileDestination } from './log-file.ts';
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
};

export function createLogger({ level, name, destination, file }: LoggerOptions): Logger {
  if (file !== undefined) return pino({ level, name }, privateLogFile(file));
  return destination ? pino({ level, name }, destination) : pino({ level, name });
}

function privateLogFile(file: string): DestinationStream {
  mkdirPrivateSync(path.dirname(file));
  return logFileDestination(openPrivateSync(file, 'a'));
}

/** A logger that drops everything, for callers (scripts, tests) that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
