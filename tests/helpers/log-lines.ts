import { createLogger, type Logger } from '../../src/log.ts';

export type LogLine = { msg: string; recordingId?: string; [key: string]: unknown };

/** A debug-level logger that keeps every line it writes, parsed. */
export function capturingLogger(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = createLogger({
    level: 'debug',
    name: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  return { log, lines };
}
