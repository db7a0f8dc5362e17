// A bench's bot in its own process (forked with an IPC channel), so that its CPU, memory and event loop are its
// own: the stand-in and its simulated speakers stay in the parent. Messages both ways are typed by the bench.
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';

/** What every bench's bot process can send: its own messages, or an error that ends the bench. */
type Message = { type: string };
type BotError = { type: 'error'; message: string };

/** The bot process and a typed way to wait for its next message. */
export class BotProcess<FromBot extends Message, ToBot extends Message> {
  readonly child: ChildProcess;
  readonly #what: string;
  #inbox: (FromBot | BotError)[] = [];
  #waiting: ((m: FromBot | BotError) => void) | undefined;
  #exited: Promise<number | null>;

  /** `what` names the bench in errors ("recording bench"). */
  constructor(child: ChildProcess, what: string) {
    this.child = child;
    this.#what = what;
    child.on('message', (m: FromBot | BotError) => {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(m);
      else this.#inbox.push(m);
    });
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  send(message: ToBot | { type: 'exit' }): void {
    this.child.send(message);
  }

  async next<T extends FromBot['type']>(type: T, timeoutMs = 60_000): Promise<Extract<FromBot, { type: T }>> {
    const message =
      this.#inbox.shift() ??
      (await Promise.race([
        new Promise<FromBot | BotError>((resolve) => (this.#waiting = resolve)),
        this.#exited.then((code): BotError => ({ type: 'error', message: `the bot process exited (${code}) before sending ${type}` })),
        // Unreferenced: a pending timeout must not keep the bench alive once the answer came.
        sleep(timeoutMs, undefined, { ref: false }).then((): BotError => ({
          type: 'error',
          message: `no ${type} from the bot process within ${timeoutMs} ms`,
        })),
      ]));
    if (isError(message)) throw new Error(`${this.#what}, bot process: ${message.message}`);
    if (message.type !== type) throw new Error(`${this.#what}: expected ${type} from the bot process, got ${message.type}`);
    return message as Extract<FromBot, { type: T }>;
  }

  /** Asks the process to exit; killed if it has not within `timeoutMs`. */
  async exit(timeoutMs = 10_000): Promise<void> {
    if (this.child.exitCode === null) this.send({ type: 'exit' });
    const code = await Promise.race([this.#exited, sleep(timeoutMs, undefined, { ref: false }).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.#exited;
    }
  }
}

function isError(message: Message): message is BotError {
  return message.type === 'error';
}

/* In the bot process. */

/** An environment variable the bench set for its bot process (`script`: the bot side, named in the error). */
export function fromParent(name: string, script: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${script}: ${name} is not set (it is started by its bench, scripts/bench/)`);
  return value;
}

/** Sends a message to the bench. */
export function toParent(message: Message | BotError): void {
  process.send?.(message);
}

/** A failure in the bot process, sent to the bench, which ends with it. */
export function reportError(error: unknown): void {
  toParent({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}
