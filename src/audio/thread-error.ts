// An Error sent across a thread boundary. A structured clone keeps the message but loses the class name and
// the errno code (ENOENT, ENOSPC…) that callers explain to the user, so both travel as plain fields.
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
  return Object.assign(new Error(e.message), { name: e.name }, e.code === undefined ? {} : { code: e.code });
}
