// The parent's side of a bot in a child process (bot-child.ts): start it against a stand-in running here,
// kill it like a crash, start another on the same data. What the demo's `{"bot": "crash" | "start"}`
// commands do, and what the restart tests use.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { StopReport } from '../../src/bot/rooms.ts';
import type { RoomSummary } from '../../src/bot/services.ts';
import type { ChildMessage, ChildSetup, ParentMessage } from './bot-ipc.ts';

const CHILD = path.join(import.meta.dirname, 'bot-child.ts');

export type BotProcessOptions = Omit<ChildSetup, 'caCertPem' | 'token' | 'restUrl' | 'logLevel'> & {
  sim: { token: string; restUrl: string; caCertPem: string };
  logLevel?: ChildSetup['logLevel'];
  /** The script to fork: bot-child.ts, or a test's own that calls its serveBot with other startBot options. */
  script?: string;
  onStarted?: (room: RoomSummary) => void;
  onStopped?: (report: StopReport) => void;
};

/**
 * A bot's process, forked at once: it loads its modules and waits, and `start()` starts the bot in it. A scenario
 * forks the next one as soon as the previous one died, so that its `start` costs the bot's start-up (log in, open
 * the store, resume), not Node's loading of discord.js.
 */
export type BotProcess = {
  /** Resolves with the exit code or signal once the process is gone, however it went. */
  readonly exited: Promise<string>;
  /** Resolves once the bot has logged in and resumed or finished what an earlier process left. */
  start(): Promise<void>;
  /** SIGKILL: no shutdown code runs, files and the store are left as they are. Resolves once it is gone. */
  crash(): Promise<void>;
  /** Stops every room, as the end of a scenario does, with the process still running; resolves once all is made. */
  stopAll(): Promise<void>;
  /** Graceful: rooms stopped and their hosts told, everything closed, then the process exits. */
  shutDown(): Promise<void>;
};

export function forkBot(options: BotProcessOptions): BotProcess {
  const { sim, script = CHILD, onStarted, onStopped, ...rest } = options;
  // The child trusts the stand-in's certificate because it is told to; never because verification is off.
  const { NODE_TLS_REJECT_UNAUTHORIZED: _never, ...env } = process.env;
  const child: ChildProcess = fork(script, [], { execArgv: [], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = once(child, 'exit').then((args) => {
    const [code, signal] = args as [number | null, NodeJS.Signals | null];
    return String(signal ?? code);
  });
  const send = (message: ParentMessage) => child.send(message);
  const listeners: ((message: ChildMessage) => void)[] = [];
  child.on('message', (message: ChildMessage) => {
    if (message.kind === 'started') onStarted?.(message.room);
    if (message.kind === 'stopped') onStopped?.(message.report);
    for (const listener of listeners) listener(message);
  });
  const next = (kind: ChildMessage['kind']) =>
    new Promise<ChildMessage>((resolve, reject) => {
      listeners.push((message) => {
        if (message.kind === kind) resolve(message);
        if (message.kind === 'failed') reject(new Error(`the bot could not start: ${message.error} (see ${rest.logFile})`));
      });
      void exited.then((how) => reject(new Error(`the bot's process ended (${how}) before "${kind}" (see ${rest.logFile})`)));
    });
  const gone = () => child.exitCode !== null || child.signalCode !== null;

  return {
    exited,
    async start() {
      const ready = next('ready');
      const setup: ChildSetup = {
        ...rest,
        logLevel: options.logLevel ?? 'info',
        token: sim.token,
        restUrl: sim.restUrl,
        caCertPem: sim.caCertPem,
      };
      send({ kind: 'setup', setup });
      await ready;
    },
    async crash() {
      child.kill('SIGKILL');
      await exited;
    },
    async stopAll() {
      const done = next('stopped-all');
      send({ kind: 'stop-all' });
      await done;
    },
    async shutDown() {
      if (gone()) return;
      send({ kind: 'shut-down' });
      await exited;
    },
  };
}

/** A bot in a process of its own, started: resolves once it is ready (and the process is killed if it cannot start). */
export async function startBotProcess(options: BotProcessOptions): Promise<BotProcess> {
  const bot = forkBot(options);
  try {
    await bot.start();
  } catch (error) {
    await bot.crash();
    throw error;
  }
  return bot;
}
