// The bot side of the soak bench (soak.ts): the real bot, as `npm start` runs it (startBot: discord.js,
// @discordjs/voice, the rooms, the live mix, the stop pipeline, the download server), in its own process
// against the stand-in in the parent, so that its memory and event loop are its own. Every second it reports
// its RSS and how late its event loop ran (monitorEventLoopDelay) over IPC. The stand-in's certificate is
// trusted through NODE_EXTRA_CA_CERTS, which the parent sets.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLogger } from '../../src/log.ts';
import { startBotAgainst } from '../demo/bot-in-sim.ts';
import { fromParent, reportError, toParent } from './bot-process.ts';

export type ToSoakBot = { type: 'exit' };

export interface SoakSample {
  /** epoch ms (performance.timeOrigin + now), comparable with the parent's */
  atMs: number;
  rssMb: number;
  heapMb: number;
  /** Buffers outside the JS heap (packets, Ogg pages, PCM of the live mix). */
  arrayBuffersMb: number;
  /** CPU time (every thread) in the last second. */
  cpuMs: number;
  /** How late the event loop ran in the last second, beyond the sampling interval: the worst, and p99. */
  loopMaxMs: number;
  loopP99Ms: number;
}

export type FromSoakBot = { type: 'ready' } | { type: 'sample'; sample: SoakSample } | { type: 'error'; message: string };

const SAMPLE_MS = 1000;
const LOOP_DELAY_RESOLUTION_MS = 5;
const mb = (bytes: number) => bytes / 1_048_576;

const required = (name: string) => fromParent(name, 'soak-bot.ts');
const send = (message: FromSoakBot) => toParent(message);

async function main(): Promise<void> {
  // SOAK_IDLE: no bot, only the sampling: the bench's baseline for what the machine alone does to an event loop.
  const bot = process.env.SOAK_IDLE
    ? undefined
    : await startBotAgainst(
        { token: required('SOAK_SIM_TOKEN'), restUrl: required('SOAK_SIM_API') },
        { dataDir: required('SOAK_DATA_DIR'), log: createLogger({ level: 'info', name: 'roomrec', file: required('SOAK_LOG') }) },
      );
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  delay.enable();
  const lateMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_DELAY_RESOLUTION_MS);
  let cpu = process.cpuUsage();
  const sampler = setInterval(() => {
    const memory = process.memoryUsage();
    const used = process.cpuUsage(cpu);
    cpu = process.cpuUsage();
    send({
      type: 'sample',
      sample: {
        atMs: performance.timeOrigin + performance.now(),
        rssMb: mb(memory.rss),
        heapMb: mb(memory.heapUsed),
        arrayBuffersMb: mb(memory.arrayBuffers),
        cpuMs: (used.user + used.system) / 1000,
        loopMaxMs: lateMs(delay.max),
        loopP99Ms: lateMs(delay.percentile(99)),
      },
    });
    delay.reset();
  }, SAMPLE_MS);
  process.on('message', (message: ToSoakBot) => {
    if (message.type !== 'exit') return;
    clearInterval(sampler);
    Promise.resolve(bot?.stop()).then(
      () => process.exit(0),
      (error: unknown) => {
        reportError(error);
        process.exit(1);
      },
    );
  });
  send({ type: 'ready' });
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    reportError(error);
    process.exit(1);
  });
}
