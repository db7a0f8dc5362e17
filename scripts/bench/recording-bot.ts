// The bot side of the recording bench, in its own process so that its CPU and memory are its own: the
// stand-in (and its 50 simulated speakers' encryption and sending) stays in the parent. Forked by
// recording.ts with an IPC channel; the stand-in's self-signed certificate is trusted through
// NODE_EXTRA_CA_CERTS, which the parent sets.
//
// Modes, one per process (so each peak RSS is its own):
//   discard  the product's receive adapter (voice-receive.ts on the real @discordjs/voice receiver),
//            every packet handed to a callback that drops it: the cost of receiving alone.
//   tracks   the product's RoomRecorder with its live mix turned off: the same adapter, plus consent in the
//            store, placement, one SpeakerTrack (Ogg Opus file) per speaker and the 200 ms tick.
//   record   the product's RoomRecorder as the bot runs it: all of the above plus the live mix (every 5 s
//            the tracks are read back, decoded, summed and encoded up to 3 s ago, on its own thread).
// Before anyone is subscribed, both measure an idle window: connected, every stream arriving, nobody heard.
import { Socket } from 'node:dgram';
import { mkdir, readFile } from 'node:fs/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { Events, type Client } from 'discord.js';
import { createDiscordClient } from '../../src/bot/client.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { monotonicClock } from '../../src/recording/clock.ts';
import { RoomRecorder } from '../../src/recording/room-recorder.ts';
import { createVoiceReceive, type ReceiveStats } from '../../src/recording/voice-receive.ts';
import { openStore } from '../../src/storage/store.ts';
import { fromParent, reportError, toParent } from './bot-process.ts';

export type BotMode = 'discard' | 'tracks' | 'record';

export type ToBot =
  { type: 'window-begin' } | { type: 'window-end' } | { type: 'subscribe'; users: { userId: string; name: string }[] } | { type: 'exit' };

export interface WindowFigures {
  wallMs: number;
  /** process.cpuUsage over the window: every thread of the bot process (main, libuv pool, GC). */
  cpuMs: number;
  /** process.threadCpuUsage: the main thread alone (the receive path runs there). */
  mainThreadCpuMs: number;
  rssStartMb: number;
  rssPeakMb: number;
  heapPeakMb: number;
  /** Buffers outside the JS heap (packets, Ogg pages, write buffers). */
  arrayBuffersPeakMb: number;
  /** The process's peak RSS so far (getrusage), sampled at the end of the window. */
  processPeakRssMb: number;
  /** How late the event loop ran (beyond the 5 ms sampling interval): how promptly packets are read. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** The worst stall the main thread's own work caused (see OwnStalls), apart from waiting for a CPU. */
  ownStallMaxMs: number;
  /** Packets handed on after the window closed (the backlog of a busy machine), counted in `receive`. */
  drainedAfter: number;
  /** Datagrams the kernel dropped for the voice socket in the window (its receive buffer was full), if known. */
  kernelDrops: number | null;
  receive: ReceiveStats;
  /** The voice UDP socket's receive buffer in effect (as the kernel reports it), null if it could not be read. */
  recvBufferBytes: number | null;
  /** record mode: what the tracks did with what was received. */
  tracks?: { written: number; duplicate: number; late: number; invalid: number; bytes: number; files: number };
  /** record mode: how far the live mix got, and how far behind recording time it was, at the window's end. */
  liveMix?: { mixedMs: number; behindMs: number; restarts: number; failed?: string };
}

export type FromBot =
  | { type: 'joined'; rssMb: number }
  | { type: 'window-open' }
  | { type: 'window'; figures: WindowFigures }
  | { type: 'subscribed'; setupMs: number }
  | { type: 'error'; message: string };

const RSS_SAMPLE_MS = 100;
const LOOP_DELAY_RESOLUTION_MS = 5;
const mb = (bytes: number) => bytes / 1_048_576;

const required = (name: string) => fromParent(name, 'recording-bot.ts');
const send = (message: FromBot) => toParent(message);

async function login(client: Client, token: string): Promise<void> {
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
}

/** Joined as the bot does (rooms.ts): not deafened, so the voice server sends audio; muted. */
async function join(client: Client, guildId: string, channelId: string): Promise<VoiceConnection> {
  const guild = client.guilds.cache.get(guildId);
  if (!guild) throw new Error(`the client has not received guild ${guildId}`);
  const connection = joinVoiceChannel({ guildId, channelId, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false, selfMute: true });
  await entersState(connection, VoiceConnectionStatus.Ready, 15_000);
  return connection;
}

const zeroStats = (): ReceiveStats => ({
  delivered: 0,
  withRtp: 0,
  arrivalOnly: 0,
  malformed: 0,
  resubscribes: 0,
  undecryptable: 0,
  replayed: 0,
});

function minus(a: ReceiveStats, b: ReceiveStats): ReceiveStats {
  const out = zeroStats();
  for (const key of Object.keys(out) as (keyof ReceiveStats)[]) out[key] = a[key] - b[key];
  return out;
}

/** Read from the library's objects (bench only; the product's adapter holds it). */
function voiceSocket(connection: VoiceConnection): Socket | null {
  const networking: unknown = Reflect.get(connection.state, 'networking');
  const udp: unknown = networking ? Reflect.get(Reflect.get(networking, 'state') as object, 'udp') : undefined;
  const socket: unknown = udp ? Reflect.get(udp, 'socket') : undefined;
  return socket instanceof Socket ? socket : null;
}

/** The kernel's drop count for the UDP socket bound to `port` (/proc/net/udp's last column), null if unknown. */
async function kernelDrops(port: number | undefined): Promise<number | null> {
  if (port === undefined) return null;
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(hexPort)) return Number(fields[fields.length - 1]);
    }
  }
  return null;
}

const STALL_TICK_MS = 5;
const threadCpuMs = () => {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1000;
};

/**
 * How late a 5 ms timer fires, but never more than the CPU the main thread used meanwhile: the stall its own
 * work caused. On a loaded machine a timer is also late while the thread waits for a CPU, and that lateness is
 * other programs' doing, not the bot's.
 */
class OwnStalls {
  max = 0;
  #at = performance.now();
  #cpu = threadCpuMs();
  #timer = setInterval(() => {
    const at = performance.now();
    const cpu = threadCpuMs();
    this.max = Math.max(this.max, Math.min(at - this.#at - STALL_TICK_MS, cpu - this.#cpu));
    this.#at = at;
    this.#cpu = cpu;
  }, STALL_TICK_MS);

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Waits until no packet has been handed on for a while: what the socket still held when the window closed. */
async function drained(sink: Sink): Promise<ReceiveStats> {
  const QUIET_MS = 500;
  const LIMIT_MS = 15_000;
  const until = performance.now() + LIMIT_MS;
  let last = await sink.receiveStats();
  while (performance.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const now = await sink.receiveStats();
    if (now.delivered === last.delivered) return now;
    last = now;
  }
  return last;
}

/** What each mode subscribes with, and how it reports what it received. */
interface Sink {
  subscribe(users: { userId: string; name: string }[]): Promise<void>;
  receiveStats(): Promise<ReceiveStats>;
  trackStats(): Promise<WindowFigures['tracks']>;
  liveMix(): Promise<WindowFigures['liveMix']>;
}

function discardSink(connection: VoiceConnection): Sink {
  const receive = createVoiceReceive(connection, { clock: monotonicClock, log: createLogger({ level: 'warn', name: 'bench-bot' }) });
  const drop = (): void => undefined;
  return {
    async subscribe(users) {
      for (const u of users) receive.subscribe(u.userId, drop);
    },
    receiveStats: async () => receive.stats(),
    trackStats: async () => undefined,
    liveMix: async () => undefined,
  };
}

async function recordSink(
  connection: VoiceConnection,
  guildId: string,
  channelId: string,
  dataDir: string,
  liveMix: boolean,
): Promise<Sink> {
  await mkdir(dataDir, { recursive: true });
  const log = createLogger({ level: 'warn', name: 'bench-bot' });
  const store = await openStore({ dataDir, log });
  const room = await RoomRecorder.start({
    meta: { guildId, channelId, textChannelId: channelId, hostId: 'bench-host', hostName: 'Bench host' },
    connection,
    deps: { store, clock: monotonicClock, log, config: loadConfig({ DATA_DIR: dataDir }), ...(liveMix ? {} : { liveMix: false }) },
  });
  return {
    async subscribe(users) {
      await Promise.all(users.map((u) => room.grantConsent(u)));
      if (room.recordingSpeakers().length !== users.length)
        throw new Error(`only ${room.recordingSpeakers().length} of ${users.length} speakers are being recorded`);
    },
    receiveStats: async () => (await room.status()).receive,
    async trackStats() {
      const status = await room.status();
      const sum = (pick: (t: NonNullable<(typeof status.speakers)[number]['track']>) => number) =>
        status.speakers.reduce((n, s) => n + (s.track ? pick(s.track) : 0), 0);
      return {
        written: sum((t) => t.written),
        duplicate: sum((t) => t.dropped.duplicate),
        late: sum((t) => t.dropped.late),
        invalid: sum((t) => t.dropped.invalid),
        bytes: status.bytes,
        files: status.speakers.filter((s) => s.bytes > 0).length,
      };
    },
    async liveMix() {
      const live = (await room.status()).liveMix;
      return live
        ? { mixedMs: live.mixedMs, behindMs: live.behindMs, restarts: live.restarts, ...(live.failed ? { failed: live.failed } : {}) }
        : undefined;
    },
  };
}

/** CPU, memory, event-loop delay and packets between window-begin and window-end. */
class Window {
  #sink: Sink;
  #port: number | undefined;
  #drops: number | null = null;
  #stalls: OwnStalls | null = null;
  #cpu = process.cpuUsage();
  #thread = process.threadCpuUsage();
  #started = performance.now();
  #receive: ReceiveStats = zeroStats();
  #tracks: WindowFigures['tracks'];
  #rssStart = process.memoryUsage.rss();
  #rssPeak = this.#rssStart;
  #heapPeak = process.memoryUsage().heapUsed;
  #arrayBuffersPeak = process.memoryUsage().arrayBuffers;
  #delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  #sampler: NodeJS.Timeout;

  private constructor(sink: Sink, port: number | undefined) {
    this.#sink = sink;
    this.#port = port;
    this.#sampler = setInterval(() => {
      const m = process.memoryUsage();
      this.#rssPeak = Math.max(this.#rssPeak, m.rss);
      this.#heapPeak = Math.max(this.#heapPeak, m.heapUsed);
      this.#arrayBuffersPeak = Math.max(this.#arrayBuffersPeak, m.arrayBuffers);
    }, RSS_SAMPLE_MS);
  }

  static async open(sink: Sink, port: number | undefined): Promise<Window> {
    const window = new Window(sink, port);
    window.#receive = await sink.receiveStats();
    window.#tracks = await sink.trackStats();
    window.#drops = await kernelDrops(port);
    window.#stalls = new OwnStalls();
    window.#cpu = process.cpuUsage();
    window.#thread = process.threadCpuUsage();
    window.#started = performance.now();
    window.#delay.enable();
    return window;
  }

  async close(): Promise<Omit<WindowFigures, 'recvBufferBytes'>> {
    const cpu = process.cpuUsage(this.#cpu);
    const thread = process.threadCpuUsage(this.#thread);
    const wallMs = performance.now() - this.#started;
    this.#delay.disable();
    this.#stalls?.stop();
    clearInterval(this.#sampler);
    const atClose = await this.#sink.receiveStats();
    // Counted as lost only if it never comes: a busy machine leaves a backlog in the socket, not a hole.
    const receive = await drained(this.#sink);
    const drops = await kernelDrops(this.#port);
    const before = this.#tracks;
    const after = await this.#sink.trackStats();
    const live = await this.#sink.liveMix();
    const tracks =
      before && after
        ? {
            written: after.written - before.written,
            duplicate: after.duplicate - before.duplicate,
            late: after.late - before.late,
            invalid: after.invalid - before.invalid,
            bytes: after.bytes - before.bytes,
            files: after.files,
          }
        : undefined;
    return {
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      mainThreadCpuMs: (thread.user + thread.system) / 1000,
      rssStartMb: mb(this.#rssStart),
      rssPeakMb: mb(this.#rssPeak),
      heapPeakMb: mb(this.#heapPeak),
      arrayBuffersPeakMb: mb(this.#arrayBuffersPeak),
      processPeakRssMb: process.resourceUsage().maxRSS / 1024,
      // The histogram holds whole sampling intervals; the lag is what exceeds the interval.
      loopDelayP99Ms: Math.max(0, this.#delay.percentile(99) / 1e6 - LOOP_DELAY_RESOLUTION_MS),
      loopDelayMaxMs: Math.max(0, this.#delay.max / 1e6 - LOOP_DELAY_RESOLUTION_MS),
      ownStallMaxMs: this.#stalls?.max ?? 0,
      drainedAfter: receive.delivered - atClose.delivered,
      kernelDrops: drops === null || this.#drops === null ? null : drops - this.#drops,
      receive: minus(receive, this.#receive),
      ...(tracks ? { tracks } : {}),
      ...(live ? { liveMix: live } : {}),
    };
  }
}

async function main(): Promise<void> {
  const mode = required('BENCH_MODE') as BotMode;
  const guildId = required('BENCH_GUILD');
  const channelId = required('BENCH_CHANNEL');
  const client = createDiscordClient({ api: required('BENCH_SIM_API') });
  await login(client, required('BENCH_SIM_TOKEN'));
  const connection = await join(client, guildId, channelId);
  const sink =
    mode === 'discard'
      ? discardSink(connection)
      : await recordSink(connection, guildId, channelId, required('BENCH_DATA_DIR'), mode === 'record');
  send({ type: 'joined', rssMb: mb(process.memoryUsage.rss()) });

  let window: Promise<Window> | undefined;
  process.on('message', (message: ToBot) => {
    const work = async (): Promise<void> => {
      switch (message.type) {
        case 'window-begin':
          window = Window.open(sink, voiceSocket(connection)?.address().port);
          await window;
          send({ type: 'window-open' });
          return;
        case 'window-end': {
          if (!window) throw new Error('window-end before window-begin');
          const figures = await (await window).close();
          window = undefined;
          send({ type: 'window', figures: { ...figures, recvBufferBytes: voiceSocket(connection)?.getRecvBufferSize() ?? null } });
          return;
        }
        case 'subscribe': {
          const started = performance.now();
          await sink.subscribe(message.users);
          send({ type: 'subscribed', setupMs: performance.now() - started });
          return;
        }
        case 'exit':
          // The tracks stay as a running recorder leaves them (flushed every second); the parent deletes them.
          connection.destroy();
          await client.destroy();
          process.exit(0);
      }
    };
    work().catch((error: unknown) => {
      reportError(error);
      process.exitCode = 1;
    });
  });
}

if (import.meta.main) {
  main().catch((error: unknown) => {
    reportError(error);
    process.exit(1);
  });
}
