// Reading what may not exist (a recordings folder never created, a formats folder nothing was made in).

/** What `work` gives, or undefined when what it reads does not exist (ENOENT); any other error is thrown. */
export function ifThere<T>(work: Promise<T>): Promise<T | undefined> {
  return work.catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
}
