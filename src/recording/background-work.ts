// Work a stop leaves running once the recording is ready (the after-stop steps that run on 'ready': the levelled
// mix), so the host's link never waits for it. Held here so a shutdown can cut it short and wait for it: what was
// cut off is left marked as being made in the metadata, and the next start makes it again (restart-recovery.ts).
export class BackgroundWork {
  #controller = new AbortController();
  #running = new Set<Promise<void>>();

  /** Aborted by close(): each piece of work stops at its next block. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Runs `work` (which must not reject: it logs its own failures) and keeps it until it settles. */
  add(work: Promise<void>): void {
    this.#running.add(work);
    void work.finally(() => this.#running.delete(work));
  }

  /** Resolves once everything added so far has settled (for tests and the demo). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  /** Aborts what is running and waits for it to stop. */
  async close(): Promise<void> {
    this.#controller.abort(new Error('the bot is shutting down'));
    await this.idle();
  }
}
