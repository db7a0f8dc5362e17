// One waiter, woken by the next event: how a loop that feeds or drains a thread sleeps until a message comes.
export class Wakeup {
  #wake: (() => void) | null = null;

  wait(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }

  notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}
