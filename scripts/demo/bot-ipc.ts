// What a bot in a child process (bot-child.ts) and its parent (bot-process.ts) say to each other over the
// IPC channel of `fork`. Only plain JSON crosses it, so the parent can read it whatever the child was doing
// when it died.
import type { StopReport } from '../../src/bot/rooms.ts';
import type { RoomSummary } from '../../src/bot/services.ts';
import type { Env, LogLevel } from '../../src/config.ts';

/** The parent's first message: everything the child needs to start the bot against the stand-in. */
export type ChildSetup = {
  token: string;
  restUrl: string;
  /** The stand-in's self-signed certificate: the child trusts it, and only it, beside the usual CAs. */
  caCertPem: string;
  dataDir: string;
  /** Appended to; every process of one run writes the same file, one after the other. */
  logFile: string;
  logLevel: LogLevel;
  /** The same port across restarts, so a link DM'd by one process still opens once the next one serves it. */
  httpPort: number;
  env: Env;
};

export type ParentMessage = { kind: 'setup'; setup: ChildSetup } | { kind: 'stop-all' } | { kind: 'shut-down' };

export type ChildMessage =
  | { kind: 'ready' }
  | { kind: 'failed'; error: string }
  | { kind: 'started'; room: RoomSummary }
  | { kind: 'stopped'; report: StopReport }
  | { kind: 'stopped-all' };
