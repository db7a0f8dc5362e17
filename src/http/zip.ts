// The "download all" zip, streamed straight into the response by yazl: no temporary file, no buffering of
// audio in memory. It is deterministic, so a phone whose download was cut off can resume it with a Range
// request: the same entries give the same bytes every time. That takes one fixed time for every entry (the
// recording's, never the clock's), a fixed order (the caller's), and entries stored, not deflated: Opus, MP3 and
// FLAC do not compress, and stored entries let yazl compute the archive's exact size before reading any of it,
// for Content-Length and Content-Range.
//
// A range is cut out of the archive as it is built, because the central directory at its end holds every
// entry's CRC: the bytes before the range are read from disk and checksummed, but not sent.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import type { Logger } from '../log.ts';
import { contentDisposition } from './content-disposition.ts';
import { takeRange } from './range.ts';
import { openRegularFile, startRangedBody, streamTo } from './send-file.ts';

/** A file as measured when the request arrived (`mtimeMs` tells one version from the next), or bytes in memory. */
export type ZipEntry = { name: string; path: string; size: number; mtimeMs: number } | { name: string; data: Buffer };

export type ZipArchive = {
  entries: readonly ZipEntry[];
  /** The one modification time written for every entry. */
  mtime: Date;
  fileName: string;
};

type Built = { zip: ZipFile; size: Promise<number> };

/**
 * Without `onOpen` the same archive is built without ever opening a file: yazl reports the total size before it
 * asks for more than the first entry's data, so the size costs no file and leaves no stream behind.
 */
function build(archive: ZipArchive, onOpen?: (stream: Readable) => void): Built {
  const zip = new ZipFile();
  for (const entry of archive.entries) {
    const options = { mtime: archive.mtime, compress: false };
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

/** Changes whenever the archive's bytes would: any entry's name, size, version or data, or the entry time. */
function etagOf(archive: ZipArchive): string {
  const hash = createHash('sha256').update(JSON.stringify(archive.mtime.getTime()));
  for (const entry of archive.entries) {
    const version = 'data' in entry ? createHash('sha256').update(entry.data).digest('hex') : `${entry.size}/${entry.mtimeMs}`;
    hash.update(JSON.stringify([entry.name, version]));
  }
  return `"zip-${hash.digest('base64url').slice(0, 22)}"`;
}

/** Answers GET or HEAD for the archive, whole or one byte range of it; headers other than the zip's are the caller's. */
export async function sendZip(req: IncomingMessage, res: ServerResponse, archive: ZipArchive, log: Logger): Promise<void> {
  const size = await build(archive).size;
  const span = startRangedBody(req, res, {
    size,
    etag: etagOf(archive),
    contentType: 'application/zip',
    contentDisposition: contentDisposition('attachment', archive.fileName),
  });
  if (!span) return;

  const opened: Readable[] = [];
  let closed = false;
  const { zip } = build(archive, (stream) => {
    if (closed) stream.destroy();
    else opened.push(stream);
  });
  zip.on('error', (error: unknown) => {
    log.error({ err: error }, 'building the zip failed');
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  });
  // A client that leaves mid-zip, or a range that ends before the archive does, must not leave files open
  // behind yazl's internal pipe.
  res.on('close', () => {
    closed = true;
    for (const stream of opened) stream.destroy();
  });
  const whole = span.start === 0 && span.end === size - 1;
  // yazl writes only Buffers to its output.
  const body = whole ? zip.outputStream : Readable.from(takeRange(zip.outputStream as AsyncIterable<Buffer>, span.start, span.end));
  await streamTo(body, res, log);
}
