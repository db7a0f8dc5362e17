// Streams one file named by the metadata, with single-range support (RFC 9110 §14) and HEAD. The file is
// opened once and measured through the open handle, so a track that is still growing is served as the prefix
// that existed when the request arrived, and the Content-Length always matches the bytes sent.
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.ts';
import { contentDisposition } from './content-disposition.ts';
import { contentRange, decideRange } from './range.ts';

export type OpenFile = { handle: FileHandle; stats: Stats };

/**
 * Opens a regular file for reading without following a final symlink; `undefined` when it is not there.
 * Any other failure (permissions, I/O) is thrown for the caller to report.
 */
export async function openRegularFile(path: string): Promise<OpenFile | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  const stats = await handle.stat().catch(async (error: unknown) => {
    await handle.close();
    throw error;
  });
  if (!stats.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, stats };
}

export type FileVersion = { size: number; mtimeMs: number };

/** Size and modification time of a regular file; `undefined` when it is not there. */
export async function statOf(path: string | undefined): Promise<FileVersion | undefined> {
  if (path === undefined) return undefined;
  const file = await openRegularFile(path);
  if (!file) return undefined;
  await file.handle.close();
  return { size: file.stats.size, mtimeMs: file.stats.mtimeMs };
}

export type SendFileOptions = {
  path: string;
  contentType: string;
  fileName: string;
  disposition: 'inline' | 'attachment';
  log: Logger;
};

/** Returns false (having sent nothing) when the file does not exist, so the caller can answer 404. */
export async function sendFile(req: IncomingMessage, res: ServerResponse, options: SendFileOptions): Promise<boolean> {
  const file = await openRegularFile(options.path);
  if (!file) return false;
  const { handle, stats } = file;
  const span = startRangedBody(req, res, {
    size: stats.size,
    etag: `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`,
    lastModified: stats.mtime.toUTCString(),
    contentType: options.contentType,
    contentDisposition: contentDisposition(options.disposition, options.fileName),
  });
  if (!span) {
    await handle.close();
    return true;
  }
  await streamTo(handle.createReadStream(span), res, options.log);
  return true;
}

/** A file-like body of a known size, and what identifies its version for If-Range (RFC 9110 §13.1.5). */
export type Representation = {
  size: number;
  etag: string;
  lastModified?: string;
  contentType: string;
  contentDisposition: string;
};

/**
 * What every ranged response shares (a file, the zip): the validators, the range decision, the status and the
 * headers. Returns the bytes to send, inclusive; undefined when the response is already complete (HEAD, 416, or
 * an empty body).
 */
export function startRangedBody(
  req: IncomingMessage,
  res: ServerResponse,
  body: Representation,
): { start: number; end: number } | undefined {
  const { size } = body;
  const ifRange = req.headers['if-range'];
  // A range only applies to the version the client already has part of; otherwise it gets the whole thing.
  const rangeApplies = ifRange === undefined || ifRange === body.etag || ifRange === body.lastModified;
  const decision = rangeApplies ? decideRange(req.headers.range, size) : { kind: 'full' as const };
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', body.etag);
  if (body.lastModified !== undefined) res.setHeader('Last-Modified', body.lastModified);
  if (decision.kind === 'unsatisfiable') {
    res.writeHead(416, { 'Content-Range': contentRange(decision, size), 'Content-Length': 0 });
    res.end();
    return undefined;
  }
  const start = decision.kind === 'partial' ? decision.start : 0;
  const end = decision.kind === 'partial' ? decision.end : size - 1;
  res.setHeader('Content-Type', body.contentType);
  res.setHeader('Content-Disposition', body.contentDisposition);
  res.setHeader('Content-Length', end - start + 1);
  if (decision.kind === 'partial') {
    res.statusCode = 206;
    res.setHeader('Content-Range', contentRange(decision, size));
  }
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return undefined;
  }
  return { start, end };
}

/** Pipes to the response; a client that goes away mid-download is normal, anything else is logged. */
export async function streamTo(source: NodeJS.ReadableStream, res: ServerResponse, log: Logger): Promise<void> {
  try {
    await pipeline(source, res);
  } catch (error) {
    if (isClientGone(error)) log.debug({ err: error }, 'client closed the connection during a download');
    else log.warn({ err: error }, 'download stream failed');
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // ELOOP: the final component is a symlink (O_NOFOLLOW); nothing in the layout creates one, so treat as absent.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}

function isClientGone(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}
