// The bot in a process of its own, so that a scenario can kill it (SIGKILL: nothing is closed, as in a real
// crash) while the stand-in, in the parent, goes on. Forked by bot-process.ts, which sends the setup first;
// the child answers `ready` once the bot has logged in and resumed what an earlier process left, and reports
// each room that starts or stops.
import tls from 'node:tls';
import { createLogger } from '../../src/log.ts';
import { startBotAgainst, type BotInSimOptions } from './bot-in-sim.ts';
import type { ChildMessage, ChildSetup, ParentMessage } from './bot-ipc.ts';

const send = (message: ChildMessage) => process.send?.(message);

/** Waits for the parent's setup, starts the bot and serves the parent's requests. `extra`: a test's startBot options. */
export async function serveBot(extra: BotInSimOptions['startBot'] = {}): Promise<void> {
  // An orphan would hold the voice channel and the data folder of a run that is over.
  process.once('disconnect', () => process.exit(1));
  const setup = await new Promise<ChildSetup>((resolve) => {
    process.once('message', (message: ParentMessage) => {
      if (message.kind === 'setup') resolve(message.setup);
    });
  });
  // The stand-in's certificate is trusted in this process only, as the stand-in trusts it in its own.
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), setup.caCertPem]);
  const log = createLogger({ level: setup.logLevel, name: 'roomrec', file: setup.logFile });
  let bot;
  try {
    bot = await startBotAgainst(setup, {
      dataDir: setup.dataDir,
      env: setup.env,
      log,
      httpPort: setup.httpPort,
      // Epoch ms on the monotonic clock the parent's stand-in also runs on: scenario seconds convert exactly.
      now: () => Math.round(performance.timeOrigin + performance.now()),
      startBot: extra,
    });
  } catch (error) {
    send({ kind: 'failed', error: error instanceof Error ? error.message : String(error) });
    process.exit(1);
  }
  const started = bot;
  started.rooms.onStarted((room) => send({ kind: 'started', room }));
  started.rooms.onStopped((report) => send({ kind: 'stopped', report }));
  process.on('message', (message: ParentMessage) => {
    // What is made after 'ready' (the levelled mix) is part of what the stop leaves.
    if (message.kind === 'stop-all') {
      void started.rooms
        .stopAll('shutdown')
        .then(() => started.background.idle())
        .then(() => send({ kind: 'stopped-all' }));
    }
    if (message.kind === 'shut-down') void started.stop().then(() => process.exit(0));
  });
  send({ kind: 'ready' });
}

if (import.meta.main) await serveBot();
