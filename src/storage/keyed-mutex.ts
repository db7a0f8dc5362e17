// Serialises async critical sections per key inside this process: read-modify-write on a keyv value is not
// atomic on any adapter, so two updates of one recording must not interleave.
export type KeyedMutex = {
  run<T>(key: string, task: () => Promise<T>): Promise<T>;
};

export function createKeyedMutex(): KeyedMutex {
  const tails = new Map<string, Promise<unknown>>();
  return {
    run<T>(key: string, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      // A failed task must not poison the queue: the next one runs either way; the caller still sees the error.
      const result = previous.then(task, task);
      const tail = result.then(
        () => undefined,
        () => undefined,
      );
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}
