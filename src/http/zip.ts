// The "download all" zip, streamed straight into the response by yazl: no temporary file, no buffering of
// audio in memory. Entries are stored, not deflated (Opus/MP3/FLAC do not compress), which also lets yazl
// compute the exact size up front for Content-Length.
import type { ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { Logger } from '../log.ts';
import { openRegularFile, streamTo } from './send-file.ts';

export type ZipEntry = { name: string; path: string; size: number; mtime: Date } | { name: string; data: Buffer; mtime: Date };

type Built = { zip: ZipFile; size: Promise<number> };

/**
 * Without `onOpen` the same archive is built without ever opening a file: yazl reports the total size before it
 * asks for more than the first entry's data, so HEAD gets the real Content-Length and leaves no stream behind.
 */
function build(entries: readonly ZipEntry[], onOpen?: (stream: Readable) => void): Built {
  const zip = new ZipFile();
  for (const entry of entries) {
    const options = { mtime: entry.mtime, compress: false };
    if ('data' in entry) {
      zip.addBuffer(entry.data, entry.name, options);
    } else if (entry.size === 0) {
      zip.addBuffer(Buffer.alloc(0), entry.name, options);
    } else {
      zip.addReadStreamLazy(entry.name, { ...options, size: entry.size }, (callback) => {
        if (!onOpen) return;
        openRegularFile(entry.path).then(
          (file) => {
            if (!file) throw new Error(`${entry.name} disappeared while the zip was being sent`);
            // Only the bytes measured when the request arrived, so the announced size holds for a growing track.
            const stream = file.handle.createReadStream({ start: 0, end: entry.size - 1 });
            onOpen(stream);
            callback(null, stream);
          },
          (error: unknown) => callback(error, undefined as never),
        );
      });
    }
  }
  const size = new Promise<number>((resolve) => zip.end(undefined, ((total: number) => resolve(total)) as () => void));
  return { zip, size };
}

export async function zipSize(entries: readonly ZipEntry[]): Promise<number> {
  return build(entries).size;
}

/** Writes status, headers and the archive. Headers are set by the caller except the length. */
export async function sendZip(res: ServerResponse, entries: readonly ZipEntry[], log: Logger): Promise<void> {
  const opened: Readable[] = [];
  const { zip, size } = build(entries, (stream) => {
    if (res.destroyed) stream.destroy();
    else opened.push(stream);
  });
  zip.on('error', (error: unknown) => {
    log.error({ err: error }, 'building the zip failed');
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  // A client that leaves mid-zip must not leave files open behind yazl's internal pipe.
  res.on('close', () => {
    for (const stream of opened) stream.destroy();
  });
  const total = await size;
  if (total >= 0) res.setHeader('Content-Length', total);
  await streamTo(zip.outputStream, res, log);
}
