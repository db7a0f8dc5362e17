// An error crossing a thread boundary arrives as plain data. These keep what the caller needs to explain it
// to the user: the message, the class name, the errno code (ENOENT, ENOSPC…), and MediaFormatError as itself.
import { MediaFormatError } from './ogg-opus-stream.ts';

export interface ThreadError {
  message: string;
  name: string;
  code?: string;
}

export function toThreadError(err: unknown): ThreadError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return {
    message: err instanceof Error ? err.message : String(err),
    name: err instanceof Error ? err.name : 'Error',
    ...(typeof code === 'string' ? { code } : {}),
  };
}

export function fromThreadError(e: ThreadError): Error {
  if (e.name === 'MediaFormatError') return new MediaFormatError(e.message);
  return Object.assign(new Error(e.message), { name: e.name }, e.code === undefined ? {} : { code: e.code });
}
