// Bench (issue 10, item 9): many rooms at once in one bot process, under faults. N guilds on the stand-in, one
// room in each, its speakers talking in turns (the demo voices, conversation.ts), for M minutes, while a
// seeded schedule injects the faults of a long day on Discord: the bot's voice connection in one room dropped
// (4015 "voice server crashed" and a dead TCP connection, both resumed; 4006, a new session through the main
// gateway), the main gateway's socket closed with a resumable code or op 7 Reconnect (the client resumes), and
// bursts of REST 429s on every authenticated route (discord.js must wait and retry). A room's REST traffic is
// mostly at its start and stop, so each burst comes with a guest (in the call, silent) in some rooms adding
// their ✅, which the bot answers by editing the consent message; and the rooms are stopped inside a burst too.
// (Guests only join: a withdrawal restarts the room's live mix from zero, a cost of its own, measured by the
// stop-to-link bench.)
//
// The bot is the real one (startBot) in a child process (soak-bot.ts), which reports its RSS and event-loop
// delay every second. Everything else is the stand-in in this process. What is measured:
//   packets   per room, sent to the bot (the stand-in's wire log) vs handed to the tracks (the recording's
//             integrity figures, `received`, plus `undecryptable`); a packet sent while that room's voice was
//             down for an injected fault (from the fault until the bot's session is back and the call's DAVE
//             group has taken it in again) is counted apart, as the fault's.
//   stall     the worst event-loop delay while the rooms ran (and apart, while they started and stopped),
//             against a baseline in the same seconds: an idle process (soak-bot.ts without the bot) that only
//             samples its own event loop, which shows what the shared machine alone does to one
//   RSS       medians of the first and last thirds of the run: flat, or growing
//   rooms     every consent message ends listing who consented, despite the bursts; every room stopped with
//             /record stop ends `ready`, its host DM'd a link
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { mulberry32 } from '../../discord-sim/ids.ts';
import type { DiscordSim, SimGuild, SimUser, Utterance } from '../../discord-sim/index.ts';
import { silentLogger } from '../../src/log.ts';
import { openStore, type Recording } from '../../src/storage/store.ts';
import { untilListed } from '../../tests/helpers/consent-message.ts';
import { until } from '../../tests/helpers/until.ts';
import { startSimForBot } from '../demo/bot-in-sim.ts';
import { BotProcess } from './bot-process.ts';
import { demoVoiceFrames, talkInTurns, turnSpeech } from './conversation.ts';
import type { FromSoakBot, SoakSample, ToSoakBot } from './soak-bot.ts';
import { median, percentile } from './stats.ts';

export interface SoakBenchOptions {
  minutes: number;
  rooms?: number;
  speakersPerRoom?: number;
  seed?: number;
  /** Leave the bot's data folder and log on disk. */
  keep?: boolean;
  log: (line: string) => void;
}

type VoiceHow = 4015 | 'drop' | 4006;
type Fault =
  | { atMs: number; kind: 'voice'; room: number; how: VoiceHow }
  | { atMs: number; kind: 'gateway'; how: 'close 4000' | 'op 7' }
  | { atMs: number; kind: '429'; forMs: number; retryAfterMs: number };

/** Per minute of the run: voice disconnects (one room each), gateway resumes, 429 bursts. */
const FAULTS_PER_MINUTE = { voice: 3, gateway: 1, burst: 1 };
const VOICE_HOWS: readonly VoiceHow[] = [4015, 'drop', 4006];
/** No fault in the first and last seconds of the talk: the rooms are settled, and the stop is not a fault's. */
const QUIET_EDGE_MS = 5000;
const RECOVERY_TIMEOUT_MS = 30_000;
/** Share of the rooms where a guest consents in each burst. */
const GUEST_SHARE = 0.25;
const GUESTS_PER_ROOM = 3;
const STOP_BURST = { forMs: 3000, retryAfterMs: 1000 };
const DRAIN_MS = 1000;

/** The faults of a run, reproducible from its seed. */
function faultPlan(talkMs: number, rooms: number, seed: number): Fault[] {
  const rnd = mulberry32(seed);
  const minutes = talkMs / 60_000;
  const count = (perMinute: number) => Math.max(1, Math.round(perMinute * minutes));
  const at = () => Math.round(QUIET_EDGE_MS + rnd() * (talkMs - 2 * QUIET_EDGE_MS));
  const faults: Fault[] = [
    // Each kind of disconnect in turn, so a short run has them all; the room and the moment are drawn.
    ...Array.from({ length: count(FAULTS_PER_MINUTE.voice) }, (_, i): Fault => ({
      atMs: at(),
      kind: 'voice',
      room: Math.floor(rnd() * rooms),
      how: VOICE_HOWS[i % VOICE_HOWS.length]!,
    })),
    // With each gateway resume, a 4006 in one room at the same moment: its rejoin (op 4) meets a gateway that is
    // down, the case that left rooms deaf for good before room-voice.ts rejoined an unanswered connection.
    ...Array.from({ length: count(FAULTS_PER_MINUTE.gateway) }, (_, i): Fault[] => {
      const atMs = at();
      return [
        { atMs, kind: 'gateway', how: i % 2 === 0 ? 'close 4000' : 'op 7' },
        { atMs, kind: 'voice', room: Math.floor(rnd() * rooms), how: 4006 },
      ];
    }).flat(),
    ...Array.from({ length: count(FAULTS_PER_MINUTE.burst) }, (): Fault => ({
      atMs: at(),
      kind: '429',
      forMs: Math.round(2000 + rnd() * 4000),
      retryAfterMs: Math.round(500 + rnd() * 1000),
    })),
  ];
  return faults.sort((a, b) => a.atMs - b.atMs);
}

interface Room {
  index: number;
  guild: SimGuild;
  speakers: SimUser[];
  /** In the call, never talk; one after another adds their ✅ during 429 bursts. */
  guests: SimUser[];
  guestsConsenting: number;
  /** Sim-clock spans in which this room's voice was down for an injected fault; `to` undefined while it is. */
  down: { from: number; to: number | undefined; how: VoiceHow }[];
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

/** The bot's session in the room is back (resumed, or a new one described) and the call's DAVE group has it. */
async function recovered(sim: DiscordSim, room: Room, afterSeq: number): Promise<void> {
  const channelId = room.guild.voiceChannelId;
  await sim.waitFor(
    (e) =>
      e.seq > afterSeq &&
      e.kind === 'voice' &&
      (e.event === 'resumed' || e.event === 'session-description') &&
      e.detail.channelId === channelId,
    RECOVERY_TIMEOUT_MS,
    true,
  );
  await sim.dave.settled(channelId);
}

/** Runs the fault schedule; voice faults end when the room has recovered (awaited at the end). */
async function injectFaults(sim: DiscordSim, rooms: Room[], plan: Fault[], startedAt: number, seed: number, log: (line: string) => void) {
  const rnd = mulberry32(seed + 1);
  const recoveries: Promise<void>[] = [];
  const skipped: Fault[] = [];
  for (const fault of plan) {
    const wait = startedAt + fault.atMs - sim.clock();
    if (wait > 0) await sleep(wait);
    if (fault.kind === 'gateway') {
      if (fault.how === 'op 7') sim.requestGatewayReconnect();
      else sim.dropGateway(4000);
    } else if (fault.kind === '429') {
      sim.rateLimitBurst({ forMs: fault.forMs, retryAfterMs: fault.retryAfterMs });
      for (const room of rooms.filter(() => rnd() < GUEST_SHARE)) guestConsents(sim, room);
    } else {
      const room = rooms[fault.room]!;
      // A room still coming back from the last fault is left to finish.
      if (room.down.some((d) => d.to === undefined)) {
        skipped.push(fault);
        continue;
      }
      const seq = sim.log.entries.length - 1;
      const span: Room['down'][number] = { from: sim.clock(), to: undefined, how: fault.how };
      try {
        sim.disconnectBotVoice(fault.how, room.guild.id);
      } catch {
        skipped.push(fault); // no open voice socket right now (the library is between sockets)
        continue;
      }
      room.down.push(span);
      recoveries.push(
        recovered(sim, room, seq).then(
          () => void (span.to = sim.clock()),
          () => log(`  room ${room.index + 1}: voice NOT back within ${RECOVERY_TIMEOUT_MS / 1000} s of a ${fault.how} disconnect`),
        ),
      );
    }
  }
  await Promise.all(recoveries);
  return { skipped };
}

function guestConsents(sim: DiscordSim, room: Room): void {
  const guest = room.guests[room.guestsConsenting];
  if (!guest) return;
  sim.reactToConsent(guest.id, room.guild.voiceChannelId);
  room.guestsConsenting++;
}

/** Who a room's consent message should list: its speakers, and the guests who consented. */
const consenting = (room: Room) => [...room.speakers, ...room.guests.slice(0, room.guestsConsenting)].map((u) => u.globalName);

/** Schedules each room's turns a little ahead of time, so the stand-in holds only the next few utterances. */
async function talk(sim: DiscordSim, rooms: Room[], talkMs: number, startedAt: number, seed: number): Promise<Utterance[]> {
  const voices = await demoVoiceFrames();
  const rnd = mulberry32(seed);
  const queues = rooms.map((room) => ({ room, turns: talkInTurns(room.speakers.length, talkMs, seed * 1000 + room.index) }));
  const utterances: Utterance[] = [];
  const AHEAD_MS = 1500;
  while (queues.some((q) => q.turns.length > 0)) {
    const horizon = sim.clock() - startedAt + AHEAD_MS;
    for (const q of queues) {
      while (q.turns.length > 0 && q.turns[0]!.startMs < horizon) {
        const turn = q.turns.shift()!;
        const voice = voices[(q.room.index + turn.speaker) % voices.length]!;
        const speech = turnSpeech(turn, voice, Math.floor(rnd() * voice.length));
        utterances.push(sim.speak(q.room.speakers[turn.speaker]!.id, speech, { at: startedAt + turn.startMs }));
      }
    }
    await sleep(500);
  }
  await Promise.all(utterances.map((u) => u.done));
  return utterances;
}

/** Starts the room in each guild: the host's /record start, everyone's ✅, and the call's DAVE group settled. */
async function startRooms(sim: DiscordSim, rooms: Room[]): Promise<void> {
  for (const room of rooms) sim.slash(room.speakers[0]!.id, 'record start', { channelId: room.guild.textChannelId });
  await Promise.all(
    rooms.map(async (room) => {
      const channelId = room.guild.voiceChannelId;
      await until(() => sim.consentMessage(channelId) ?? undefined, `room ${room.index + 1}'s consent message`, 60_000);
      for (const speaker of room.speakers) sim.reactToConsent(speaker.id, channelId);
      await untilListed(sim, consenting(room), 60_000, channelId);
      await sim.dave.settled(channelId);
    }),
  );
}

/** Stops every room at once with /record stop; resolves with each host's wait for the link, in ms. */
async function stopRooms(sim: DiscordSim, rooms: Room[]): Promise<number[]> {
  return Promise.all(
    rooms.map(async (room) => {
      const host = room.speakers[0]!.id;
      const before = sim.dmsTo(host).length;
      const stoppedAt = sim.clock();
      sim.slash(host, 'record stop', { channelId: room.guild.textChannelId });
      await until(
        () =>
          sim
            .dmsTo(host)
            .slice(before)
            .some((m) => /\/r\//.test(m.content))
            ? true
            : undefined,
        `room ${room.index + 1}'s link`,
        180_000,
      );
      return sim.clock() - stoppedAt;
    }),
  );
}

interface RoomPackets {
  sent: number;
  sentWhileDown: number;
  received: number;
  undecryptable: number;
  /** never handed on, neither as audio nor as undecryptable */
  missing: number;
  /** missing beyond what the room's fault windows could account for */
  lostOutsideFaults: number;
}

function roomPackets(sim: DiscordSim, rooms: Room[], recordings: Recording[]): RoomPackets[] {
  const roomOf = new Map(rooms.flatMap((room) => room.speakers.map((s) => [s.id, room] as const)));
  const figures = rooms.map(() => ({ sent: 0, sentWhileDown: 0 }));
  for (const delivery of sim.speakers.wire) {
    const room = roomOf.get(delivery.frame.userId);
    if (!room) continue;
    const f = figures[room.index]!;
    f.sent++;
    if (room.down.some((d) => delivery.at >= d.from && delivery.at <= (d.to ?? Infinity))) f.sentWhileDown++;
  }
  return rooms.map((room, i) => {
    const recording = recordings.find((r) => r.guildId === room.guild.id);
    const stats = recording?.speakers.map((s) => s.stats) ?? [];
    const received = stats.reduce((n, s) => n + (s?.received ?? 0), 0);
    const undecryptable = stats.reduce((n, s) => n + (s?.undecryptable ?? 0), 0);
    const { sent, sentWhileDown } = figures[i]!;
    const missing = Math.max(0, sent - received - undecryptable);
    return { sent, sentWhileDown, received, undecryptable, missing, lostOutsideFaults: Math.max(0, missing - sentWhileDown) };
  });
}

function samplesBetween(samples: SoakSample[], fromEpochMs: number, toEpochMs: number): SoakSample[] {
  return samples.filter((s) => s.atMs >= fromEpochMs && s.atMs <= toEpochMs);
}

export async function runSoakBench({ minutes, rooms: roomCount = 20, speakersPerRoom = 5, seed = 1, keep = false, log }: SoakBenchOptions) {
  const talkMs = Math.round(minutes * 60_000);
  log(
    `soak: ${roomCount} rooms (one per guild) × ${speakersPerRoom} speakers talking in turns for ${minutes} min in one bot process, ` +
      `DAVE on, seed ${seed}; faults per minute: ${FAULTS_PER_MINUTE.voice} voice disconnects, ${FAULTS_PER_MINUTE.gateway} gateway resume, ${FAULTS_PER_MINUTE.burst} REST 429 burst`,
  );
  const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-bench-soak-'));
  const dataDir = path.join(dir, 'data');
  const botLog = path.join(dir, 'bot.log');
  const sim = await startSimForBot({ guilds: roomCount });
  const epochOf = (simMs: number) => performance.timeOrigin + simMs;
  let bot: SoakProcess['process'] | undefined;
  let idle: SoakProcess['process'] | undefined;
  let ok = false;
  try {
    const rooms: Room[] = sim.guilds().map((guild, index) => ({
      index,
      guild,
      speakers: Array.from({ length: speakersPerRoom }, (_, s) =>
        sim.addUser({ username: `r${index + 1}s${s + 1}`, globalName: `Speaker ${index + 1}.${s + 1}`, guildId: guild.id }),
      ),
      guests: Array.from({ length: GUESTS_PER_ROOM }, (_, g) =>
        sim.addUser({ username: `r${index + 1}guest${g + 1}`, globalName: `Guest ${index + 1}.${g + 1}`, guildId: guild.id }),
      ),
      guestsConsenting: 0,
      down: [],
    }));
    for (const room of rooms) for (const user of [...room.speakers, ...room.guests]) sim.joinVoice(user.id, room.guild.voiceChannelId);

    const caFile = path.join(dir, 'discord-sim-ca.pem');
    await writeFile(caFile, sim.caCertPem);
    const env = {
      NODE_EXTRA_CA_CERTS: caFile,
      SOAK_SIM_API: sim.restUrl,
      SOAK_SIM_TOKEN: sim.token,
      SOAK_DATA_DIR: dataDir,
      SOAK_LOG: botLog,
    };
    const botProcess = soakProcess(env);
    bot = botProcess.process;
    // The baseline: a process that does nothing but sample, on the same machine in the same seconds. What it
    // sees of the event loop is the machine's (other processes holding both cores), not the bot's.
    const idleProcess = soakProcess({ SOAK_IDLE: '1' });
    idle = idleProcess.process;
    await Promise.all([bot.next('ready'), idle.next('ready')]);

    const startingAt = sim.clock();
    await startRooms(sim, rooms);
    const startedIn = sim.clock() - startingAt;
    log(
      `  ${roomCount} rooms recording ${fmt(startedIn / 1000)} s after the first /record start (every consent listed, every DAVE group settled)`,
    );

    const talkStart = sim.clock() + 1000;
    const plan = faultPlan(talkMs, roomCount, seed);
    const [, { skipped }] = await Promise.all([
      talk(sim, rooms, talkMs, talkStart, seed),
      injectFaults(sim, rooms, plan, talkStart, seed, log),
    ]);
    await sleep(DRAIN_MS);
    const talkEnd = sim.clock();
    // The consent edits held back by the bursts have all gone out: each message lists who consents now.
    const upToDate = await Promise.all(
      rooms.map((room) =>
        untilListed(sim, consenting(room), 30_000, room.guild.voiceChannelId).then(
          () => true,
          () => false,
        ),
      ),
    );

    sim.rateLimitBurst(STOP_BURST);
    const linkMs = await stopRooms(sim, rooms);
    const stopEnd = sim.clock();
    await Promise.all([bot.exit(60_000), idle.exit()]);
    if (bot.child.exitCode !== 0) throw new Error(`the bot process exited with ${bot.child.exitCode}: ${botProcess.output().slice(-2000)}`);
    const samples = botProcess.samples;
    const store = await openStore({ dataDir, log: silentLogger() });
    const recordings = await store.listRecordings();
    await store.close();

    // Faults as injected.
    const voiceFaults = rooms.flatMap((r) => r.down);
    const byHow = VOICE_HOWS.map((how) => `${voiceFaults.filter((d) => d.how === how).length} × ${how}`).join(', ');
    const downMs = voiceFaults.map((d) => (d.to ?? talkEnd) - d.from);
    const gateway = plan.filter((f) => f.kind === 'gateway');
    const bursts = plan.filter((f) => f.kind === '429');
    const answered429 = (from: number, to: number) =>
      sim.log.entries.filter((e) => e.kind === 'rest' && e.status === 429 && e.at >= from && e.at <= to).length;
    const guestConsents = rooms.reduce((n, room) => n + room.guestsConsenting, 0);
    log(
      `  faults: ${voiceFaults.length} voice disconnects (${byHow}, one 4006 with each gateway resume; ${skipped.length} skipped, their room still reconnecting; ` +
        `${voiceFaults.filter((d) => d.to === undefined).length} never back), ` +
        `down ${fmt(median(downMs) / 1000, 2)} s median, ${fmt(Math.max(0, ...downMs) / 1000, 2)} s worst; ` +
        `${gateway.length} gateway resumes (${gateway.filter((f) => f.how === 'close 4000').length} × close 4000, ${gateway.filter((f) => f.how === 'op 7').length} × op 7), ` +
        `resumed ${sim.log.entries.filter((e) => e.kind === 'gateway-out' && e.t === 'RESUMED').length} times; ` +
        `${bursts.length} REST 429 bursts (${bursts.map((b) => `${fmt(b.forMs / 1000)} s`).join(', ')}) with ${guestConsents} guest consents, ` +
        `${answered429(talkStart, talkEnd)} requests answered 429 and retried; consent messages up to date after them in ${upToDate.filter(Boolean).length} of ${roomCount} rooms`,
    );

    const packets = roomPackets(sim, rooms, recordings);
    const sum = (pick: (p: RoomPackets) => number) => packets.reduce((n, p) => n + pick(p), 0);
    const worst = packets.reduce((w, p, i) => (p.lostOutsideFaults > (packets[w]?.lostOutsideFaults ?? 0) ? i : w), 0);
    log(`  per room, sent/recorded: ${packets.map((p, i) => `${i + 1}: ${p.sent}/${p.received}`).join(', ')}`);
    log(
      `  packets: ${sum((p) => p.sent)} sent to the bot, ${sum((p) => p.sentWhileDown)} of them while their room's voice was down for a fault; ` +
        `${sum((p) => p.received)} recorded, ${sum((p) => p.undecryptable)} undecryptable (a room rejoining its DAVE group), ${sum((p) => p.missing)} never handed on; ` +
        `lost outside the faults: ${sum((p) => p.lostOutsideFaults)}` +
        (sum((p) => p.lostOutsideFaults) > 0 ? ` (worst room ${worst + 1}: ${packets[worst]?.lostOutsideFaults})` : ''),
    );

    const soak = samplesBetween(samples, epochOf(talkStart), epochOf(talkEnd));
    const idleSoak = samplesBetween(idleProcess.samples, epochOf(talkStart), epochOf(talkEnd));
    const maxStall = (list: SoakSample[]) => Math.max(0, ...list.map((s) => s.loopMaxMs));
    const stalledSeconds = (list: SoakSample[]) =>
      `${list.filter((s) => s.loopMaxMs >= 50).length} of ${list.length} seconds with a stall ≥ 50 ms`;
    log(
      `  event loop: worst stall ${fmt(maxStall(soak))} ms while the rooms talked (p99 of the per-second p99s ${fmt(
        percentile(
          soak.map((s) => s.loopP99Ms),
          99,
        ),
      )} ms, ` +
        `${stalledSeconds(soak)}); ` +
        `${fmt(maxStall(samplesBetween(samples, epochOf(startingAt), epochOf(talkStart))))} ms while the rooms started, ` +
        `${fmt(maxStall(samplesBetween(samples, epochOf(talkEnd), epochOf(stopEnd))))} ms while they stopped and mixed; ` +
        `the bot used ${fmt((soak.reduce((n, s) => n + s.cpuMs, 0) / Math.max(1, soak.length * 1000)) * 100, 0)} % of a core while they talked`,
    );
    log(
      `  baseline, an idle process in the same seconds: worst stall ${fmt(maxStall(idleSoak))} ms, ${stalledSeconds(idleSoak)} ` +
        `(1-minute load average ${os.loadavg()[0]?.toFixed(1)} on ${os.availableParallelism()} cores)`,
    );

    const third = Math.floor(soak.length / 3);
    const thirds = (pick: (s: SoakSample) => number) =>
      `${fmt(median(soak.slice(0, third).map(pick)), 0)} → ${fmt(median(soak.slice(soak.length - third).map(pick)), 0)}`;
    const first = median(soak.slice(0, third).map((s) => s.rssMb));
    const last = median(soak.slice(soak.length - third).map((s) => s.rssMb));
    log(
      `  RSS: first third median ${fmt(first, 0)} MB, last third ${fmt(last, 0)} MB (${last >= first ? '+' : ''}${fmt(((last - first) / first) * 100)} %, ` +
        `${fmt((last - first) / Math.max(1e-9, ((talkEnd - talkStart) * (2 / 3)) / 60_000), 1)} MB/min); peak ${fmt(Math.max(...soak.map((s) => s.rssMb)), 0)} MB, ` +
        `heap ${thirds((s) => s.heapMb)} MB, buffers outside it ${thirds((s) => s.arrayBuffersMb)} MB`,
    );

    const ready = rooms.filter((room) => recordings.some((r) => r.guildId === room.guild.id && r.state === 'ready'));
    log(
      `  rooms: ${ready.length} of ${roomCount} ready with a link DM'd to the host; ${roomCount} stops at once inside a ${fmt(STOP_BURST.forMs / 1000)} s ` +
        `429 burst (${answered429(talkEnd, stopEnd)} requests answered 429): link ${fmt(median(linkMs) / 1000)} s median, ${fmt(Math.max(...linkMs) / 1000)} s worst`,
    );
    ok = ready.length === roomCount && upToDate.every(Boolean) && voiceFaults.every((d) => d.to !== undefined);
  } finally {
    await Promise.all([bot?.exit(), idle?.exit()]);
    await sim.close();
    if (ok && !keep) await rm(dir, { recursive: true, force: true });
    else log(`  kept ${dir} (the bot's data and log)`);
  }
}

/** A soak-bot.ts process, what it printed, and the samples it has sent so far. */
interface SoakProcess {
  process: BotProcess<FromSoakBot, ToSoakBot>;
  samples: SoakSample[];
  output: () => string;
}

function soakProcess(env: Record<string, string>): SoakProcess {
  const child = fork(path.join(import.meta.dirname, 'soak-bot.ts'), [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const samples: SoakSample[] = [];
  child.on('message', (m: FromSoakBot) => void (m.type === 'sample' && samples.push(m.sample)));
  return { process: new BotProcess<FromSoakBot, ToSoakBot>(child, 'soak bench'), samples, output: () => output };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '2' },
      rooms: { type: 'string', default: '20' },
      seed: { type: 'string', default: '1' },
      keep: { type: 'boolean', default: false },
    },
  });
  await runSoakBench({
    minutes: Number(values.minutes),
    rooms: Number(values.rooms),
    seed: Number(values.seed),
    keep: values.keep,
    log: (line) => console.log(line),
  });
}
