// The log file's destination. pino's own (sonic-boom) emits an 'error' event when a write fails, and nothing
// can listen for it before pino has the stream: on a full disk that unhandled event ended the whole bot in the
// middle of a room. A log line is never worth a recording, so this destination drops what it cannot write,
// counts it, and says so in the file as soon as a write succeeds again.
import { writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';

/** `fs.writeSync(fd, buffer, offset, length)`: injected so that tests can make the disk fill up and free. */
export type WriteFd = (fd: number, buffer: Buffer, offset: number, length: number) => number;

/** Synchronous (the log of a process that dies is complete), append-only, never throws. */
export function logFileDestination(fd: number, write: WriteFd = writeSync): DestinationStream {
  let dropped = 0;
  let firstError = '';
  /** A line was cut off by the failure: the next one must start on a line of its own. */
  let torn = false;

  /** Writes all of `text` or throws, remembering whether part of it reached the file. */
  const writeAll = (text: string): void => {
    const bytes = Buffer.from(text);
    for (let done = 0; done < bytes.length;) {
      try {
        done += write(fd, bytes, done, bytes.length - done);
      } catch (error) {
        torn ||= done > 0;
        throw error;
      }
    }
  };

  return {
    write(line: string): void {
      try {
        if (torn) {
          writeAll('\n');
          torn = false;
        }
        if (dropped > 0) {
          const notice = {
            level: 40,
            time: Date.now(),
            droppedLines: dropped,
            err: firstError,
            msg: 'log lines were dropped: the log file could not be written',
          };
          writeAll(`${JSON.stringify(notice)}\n`);
          dropped = 0;
        }
        writeAll(line);
      } catch (error) {
        if (dropped === 0) firstError = error instanceof Error ? error.message : String(error);
        dropped++;
      }
    },
  };
}
