// The composition root creates one logger and passes it (or its children) down; no module holds a global.
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.ts';

export type Logger = PinoLogger;

export type LoggerOptions = {
  level: LogLevel;
  name: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
};

export function createLogger({ level, name, destination }: LoggerOptions): Logger {
  return destination ? pino({ level, name }, destination) : pino({ level, name });
}

/** A logger that drops everything, for callers (scripts, tests) that do not want output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
