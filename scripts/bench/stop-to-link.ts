// Bench (issue 5, item 8): time from `/record stop` to the DM that carries the download link, for a room of
// 10 speakers talking in turns, and how it grows with the room's length. Target: the link within 5 s of stop,
// whatever the length.
//
// What runs is the product, end to end, against the local Discord stand-in in this process: the real bot
// (startBot: discord.js, @discordjs/voice, router, /record stop, RoomRecorder with its live mix, stop
// pipeline, mixer, store, download server, DM). Only the room's past is prepared: long rooms cannot be played
// in real time, so the tracks are written beforehand by the recorder's own SpeakerTrack (prebuilt-room.ts, in
// a child process) and the bot adopts the recording the way it does after a restart (resumeAll: rejoin voice,
// reopen tracks, re-check the consent reactions). The host then sends `/record stop` through the stand-in and
// the clock runs until the stand-in receives the DM.
//
// The recorder mixes while the room runs (room-live-mix.ts); an adopted room's live mix starts from zero and
// catches up in the background. So each room is stopped in one of three states:
//   steady            after the catch-up (this process's CPU has gone quiet): what a host sees after a room
//                     that ran normally; only the last few seconds are left to mix.
//   after-restart     half a second after adoption: stopping right after a bot restart, while the live mix
//                     is still catching up.
//   after-withdrawal  steady, then the last speaker removes their ✅ (the live mix starts again without them)
//                     and the host stops half a second later.
//
// Where the time goes comes from two sources on the same monotonic clock (bot and stand-in share it here):
// the stand-in's log (when the stop was sent, acknowledged, when the bot left voice, when the DM arrived)
// and the bot's own StopReport (close tracks, mix, receipt, metadata as timed by the stop pipeline); how
// much was left to mix at stop comes from the bot's structured log line 'recording stopped'.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { CONSENT_EMOJI, renderConsentMessage } from '../../src/bot/consent.ts';
import type { StopReport } from '../../src/bot/rooms.ts';
import { createEncoder } from '../../src/audio/encoders/index.ts';
import { MIX_BLOCK_FRAMES, mixTracks } from '../../src/audio/mixer.ts';
import type { MixFormat } from '../../src/config.ts';
import { createLogger, silentLogger } from '../../src/log.ts';
import type { Bot } from '../../src/main.ts';
import { withGrant } from '../../src/recording/room-speakers.ts';
import { createLayout } from '../../src/storage/layout.ts';
import { openStore, type Recording } from '../../src/storage/store.ts';
import type { DiscordSim, SimLogEntry } from '../../discord-sim/index.ts';
import { startBotAgainst, startSimForBot } from '../demo/bot-in-sim.ts';
import type { PrebuiltRoomResult, PrebuiltRoomSpec } from './prebuilt-room.ts';

export interface StopToLinkBenchOptions {
  quick: boolean;
  /** Leave each room's data directory (tracks, mix, bot log) on disk. */
  keep?: boolean;
  log: (line: string) => void;
}

type StopWhen = 'steady' | 'after-restart' | 'after-withdrawal';

interface RoomCase {
  speakers: number;
  minutes: number;
  format: MixFormat;
  stopWhen: StopWhen;
  /** Also take the mix apart (decode + sum alone, encode alone) on this room's tracks, after the stop. */
  splitMix?: boolean;
}

/** What the stop pipeline logged about the live mix ('recording stopped'), when it had one. */
type LiveMixUse = { used: true; framesAtStop: number } | { used: false; reason: string } | undefined;

/** The mix's two halves, each timed alone on one thread (in the product they overlap on two). */
interface MixSplit {
  decodeSumMs: number;
  encodeMs: number;
  decodedPackets: number;
  skippedSilencePackets: number;
}

interface RoomFigures extends RoomCase {
  build: PrebuiltRoomResult;
  /** The mix as stored: how long the room really was (prepared minutes + the few seconds of set-up). */
  mixDurationMs: number;
  totalMs: number;
  replyMs: number;
  /** From the reply to the bot leaving voice: the stop's first step clears the REC indicator over REST. */
  indicatorMs: number;
  pipeline: { closeTracksMs: number; mixMs: number; receiptMs: number; metadataMs: number; totalMs: number };
  /** From the end of the stop pipeline to the DM received: sign the link, open the DM channel, post. */
  linkAndDmMs: number;
  /** The bot's own stop → link figure (from its stop handler starting to the DM sent). */
  botStopToLinkMs: number;
  /** The link went out before the mix was done (the page showed the tracks and "mix being prepared"). */
  linkBeforeMix: boolean;
  /** From the stop command to the end of the stop pipeline: when the mix was ready. */
  mixReadyMs: number;
  restAfterPipeline: string[];
  linkStatus: number;
  /** Signing one download link (HMAC), averaged over many: the "link" part of link + DM. */
  signLinkUs: number;
  /** From adoption until the live mix had caught up (steady rooms). */
  catchUpMs?: number;
  liveMix: LiveMixUse;
  split?: MixSplit;
}

type RestEntry = Extract<SimLogEntry, { kind: 'rest' }>;

const TARGET_MS = 5000;
/** Below this share of one core for QUIET_FOR_MS, the adopted room's live mix has caught up. */
const QUIET_CPU = 0.2;
const QUIET_WINDOW_MS = 250;
const QUIET_FOR_MS = 6000;
const SPEAKERS = 10;
const SEED = 2026;

const run = promisify(execFile);
const isRest = (e: SimLogEntry): e is RestEntry => e.kind === 'rest';
const seconds = (ms: number, digits = 2) => (ms / 1000).toFixed(digits);

/** Runs prebuilt-room.ts in a child process (its tracks stay open, as a running recorder's do). */
async function buildTracks(spec: PrebuiltRoomSpec): Promise<PrebuiltRoomResult> {
  const { stdout } = await run(process.execPath, [path.join(import.meta.dirname, 'prebuilt-room.ts'), JSON.stringify(spec)]);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as PrebuiltRoomResult;
}

/**
 * The room's past: speakers in voice, the consent message the bot posted with everyone's ✅, the recording in
 * the store with each speaker's consent, and their tracks on disk. Returns the recording id.
 */
interface PreparedRoom {
  recordingId: string;
  consentMessageId: string;
  speakerIds: string[];
  build: PrebuiltRoomResult;
}

async function prepareRoom(sim: DiscordSim, dataDir: string, room: RoomCase): Promise<PreparedRoom> {
  const speakers = Array.from({ length: room.speakers }, (_, i) => {
    const user = sim.addUser({ username: `speaker${i + 1}`, globalName: `Speaker ${i + 1}` });
    sim.joinVoice(user.id);
    return { userId: user.id, name: `Speaker ${i + 1}` };
  });
  const host = speakers[0]!;
  const consent = sim.world.createMessage({
    channelId: sim.voiceChannelId,
    authorId: sim.botUserId,
    body: { content: renderConsentMessage({ hostId: host.userId, retentionDays: 30, recording: speakers.map((s) => s.name) }) },
  });
  for (const userId of [sim.botUserId, ...speakers.map((s) => s.userId)]) sim.react(userId, consent.message.id, CONSENT_EMOJI);

  const store = await openStore({ dataDir, log: silentLogger() });
  try {
    let recording = await store.createRecording({
      guildId: sim.guildId,
      channelId: sim.voiceChannelId,
      textChannelId: sim.voiceChannelId,
      hostId: host.userId,
      hostName: host.name,
      startedAt: Date.now(),
      consentMessageId: consent.message.id,
    });
    for (const s of speakers) recording = await store.updateRecording(recording.id, (r) => withGrant(r, { ...s, at: r.startedAt }));
    const build = await buildTracks({
      recordingId: recording.id,
      minutes: room.minutes,
      seed: SEED,
      tracks: recording.speakers.map((s) => ({ path: store.layout.file(recording.id, s.trackFile), userId: s.userId, name: s.name })),
    });
    // Time zero goes `minutes` back from now: the resumed room continues on that time base, so the stop
    // finds a room of that length (plus the seconds the bot takes to start).
    const startedAt = Date.now() - room.minutes * 60_000;
    recording = await store.updateRecording(recording.id, (r) => ({
      ...r,
      startedAt,
      speakers: r.speakers.map((s) => ({ ...s, consentedAt: startedAt })),
    }));
    for (const s of speakers) await store.appendConsentEvent({ recordingId: recording.id, ...s, event: 'granted', at: startedAt });
    return { recordingId: recording.id, consentMessageId: consent.message.id, speakerIds: speakers.map((s) => s.userId), build };
  } finally {
    await store.close();
  }
}

async function until<T>(probe: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Waits until this process (bot, stand-in, the mixer's encoder thread) has been nearly idle for longer than
 * the live mix's advance period (5 s): its catch-up is over and it only tails the room. Resolves with when the
 * quiet stretch began. (A shorter test is fooled: on a shared machine a busy catch-up can get little CPU for
 * a second, and a catch-up can start a few seconds after adoption.)
 */
async function quietCpu(timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let quietSince: number | undefined;
  for (;;) {
    const t = performance.now();
    if (quietSince !== undefined && t - quietSince >= QUIET_FOR_MS) return quietSince;
    if (t > deadline) throw new Error(`the bot was still busy after ${timeoutMs} ms (live mix catch-up?)`);
    const before = process.cpuUsage();
    await sleep(QUIET_WINDOW_MS);
    const used = process.cpuUsage(before);
    const quiet = (used.user + used.system) / 1000 / (performance.now() - t) < QUIET_CPU;
    quietSince = quiet ? (quietSince ?? t) : undefined;
  }
}

/** The stop pipeline's own line about the live mix, from the bot's JSON log. */
async function liveMixOf(logFile: string, recordingId: string): Promise<LiveMixUse> {
  const lines = (await readFile(logFile, 'utf8')).split('\n').filter((l) => l.includes('"recording stopped"'));
  for (const line of lines) {
    const entry = JSON.parse(line) as { recordingId?: string; liveMix?: LiveMixUse };
    if (entry.recordingId === recordingId) return entry.liveMix;
  }
  return undefined;
}

/** Sends `/record stop` as the host and follows it to the DM, on the stand-in's clock. */
async function stopAndFollow(
  sim: DiscordSim,
  bot: Bot,
  recordingId: string,
): Promise<
  Omit<RoomFigures, keyof RoomCase | 'build' | 'mixDurationMs' | 'linkStatus' | 'signLinkUs' | 'catchUpMs' | 'liveMix'> & { url: string }
> {
  const recording = await bot.store.getRecording(recordingId);
  const hostId = recording?.hostId ?? '';
  const reports: StopReport[] = [];
  bot.rooms.onStopped((r) => reports.push(r));
  const dmsBefore = sim.dmsTo(hostId).length;
  const logFrom = sim.log.entries.length;

  const t0 = sim.clock();
  const interaction = sim.slash(hostId, 'record stop');
  await sim.waitFor(
    (e) => isRest(e) && e.method === 'POST' && e.route === '/channels/:channel/messages' && sim.dmsTo(hostId).length > dmsBefore,
    10 * 60_000,
  );
  const report = await until(() => reports.find((r) => r.recordingId === recordingId), 'the stop report', 30_000);

  const entries = sim.log.entries.slice(logFrom);
  const at = (what: string, predicate: (e: SimLogEntry) => boolean): number => {
    const found = entries.find(predicate);
    if (!found) throw new Error(`stop → link: the stand-in never saw ${what}`);
    return found.at;
  };
  const replyAt = at('the reply to /record stop', (e) => isRest(e) && e.interactionId === interaction.id);
  const leftVoiceAt = at(
    'the bot leave voice',
    (e) => e.kind === 'gateway-in' && e.op === 4 && (e.d as { channel_id?: unknown }).channel_id === null,
  );
  const dmChannel = sim.world.dmChannelByUser.get(hostId) ?? '';
  const dm = entries
    .filter(isRest)
    .find((e) => e.method === 'POST' && e.route === '/channels/:channel/messages' && dmChannel !== '' && e.path.includes(dmChannel));
  if (!dm) throw new Error('stop → link: no DM to the host in the stand-in log');
  const pipelineEndAt = leftVoiceAt + report.pipeline.totalMs!;
  // The first DM after the stop carries the link; when the mix was slow a follow-up ("the mix is ready") comes later.
  const content = sim.dmsTo(hostId)[dmsBefore]?.content ?? '';
  const url = /https?:\/\/\S+\/r\/\S+/.exec(content)?.[0];
  if (!url) throw new Error(`stop → link: the DM carries no link: ${content}`);
  const p = report.pipeline;
  return {
    totalMs: dm.at - t0,
    replyMs: replyAt - t0,
    indicatorMs: leftVoiceAt - replyAt,
    pipeline: { closeTracksMs: p.closeTracksMs!, mixMs: p.mixMs!, receiptMs: p.receiptMs!, metadataMs: p.metadataMs!, totalMs: p.totalMs! },
    linkAndDmMs: dm.at - pipelineEndAt,
    botStopToLinkMs: report.stopToLinkMs,
    linkBeforeMix: report.linkBeforeMix,
    mixReadyMs: pipelineEndAt - t0,
    restAfterPipeline: entries
      .filter(isRest)
      .filter((e) => e.at > pipelineEndAt && e.at <= dm.at)
      .map((e) => `${e.method} ${e.route} ${e.status} @+${Math.round(e.at - pipelineEndAt)}ms`),
    url,
  };
}

/**
 * Decode + sum alone: the product's mixer writing WAV (no codec) on one thread. Encode alone: that PCM through
 * the product's Ogg Opus encoder on this thread. Only the public mixer and encoder APIs are used.
 */
async function splitMix(recording: Recording, dataDir: string, dir: string): Promise<MixSplit> {
  const layout = createLayout(dataDir);
  const inputs = recording.speakers
    .filter((s) => s.includeInMix)
    .map((s) => ({ path: layout.file(recording.id, s.trackFile), label: s.name }));
  const wav = path.join(dir, 'split.wav');
  let t = performance.now();
  const decoded = await mixTracks({ inputs, output: wav, format: 'wav', encoderThread: false });
  const decodeSumMs = performance.now() - t;

  const bytes = await readFile(wav);
  const pcm = new Int16Array(bytes.buffer, bytes.byteOffset + 44, (bytes.length - 44) >> 1);
  const frames = pcm.length / 2;
  t = performance.now();
  const encoder = await createEncoder('ogg', { path: path.join(dir, 'split.ogg'), totalFrames: frames });
  const block = new Float32Array(MIX_BLOCK_FRAMES * 2);
  for (let at = 0; at < pcm.length; at += block.length) {
    const n = Math.min(block.length, pcm.length - at);
    for (let i = 0; i < n; i++) block[i] = pcm[at + i]! / 32768;
    await encoder.write(n === block.length ? block : block.subarray(0, n));
  }
  await encoder.finish();
  const encodeMs = performance.now() - t;
  return { decodeSumMs, encodeMs, decodedPackets: decoded.decode.decodedPackets, skippedSilencePackets: decoded.decode.skippedPackets };
}

async function measureRoom(room: RoomCase, keep: boolean, log: (line: string) => void): Promise<RoomFigures> {
  const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-bench-stop-'));
  const dataDir = path.join(dir, 'data');
  await mkdir(dataDir, { recursive: true });
  const sim = await startSimForBot();
  let bot: Bot | undefined;
  let ok = false;
  try {
    const prepared = await prepareRoom(sim, dataDir, room);
    const { recordingId, build } = prepared;
    const logFile = path.join(dir, 'bot.log');
    const botLog = createLogger({ level: 'info', name: 'roomrec', destination: pino.destination({ dest: logFile, sync: true }) });
    bot = await startBotAgainst(sim, { dataDir, log: botLog, env: { MIX_FORMAT: room.format } });
    const adoptedAt = performance.now();
    const live = bot.rooms.current(sim.guildId);
    if (live?.recordingId !== recordingId || live.recording.length !== room.speakers) {
      throw new Error(
        `the bot did not adopt the prepared recording (${live ? `${live.recording.length} speakers` : 'no room'}); see ${logFile}`,
      );
    }
    // Let the resumed room settle (consent message edit, indicator) so the stop starts from a running room.
    await sleep(500);
    let catchUpMs: number | undefined;
    if (room.stopWhen !== 'after-restart') {
      // Generous: the catch-up runs at over 100x real time.
      catchUpMs = (await quietCpu(30_000 + (room.minutes * 60_000) / 20)) - adoptedAt;
    }
    if (room.stopWhen === 'after-withdrawal') {
      const leaving = prepared.speakerIds.at(-1) ?? '';
      sim.unreact(leaving, prepared.consentMessageId, CONSENT_EMOJI);
      await until(
        () => (bot?.rooms.current(sim.guildId)?.recording.length === room.speakers - 1 ? true : undefined),
        'the withdrawal',
        10_000,
      );
      await sleep(500);
    }
    const followed = await stopAndFollow(sim, bot, recordingId);
    const liveMix = await liveMixOf(logFile, recordingId);
    const stored = await bot.store.getRecording(recordingId);
    if (stored?.state !== 'ready' || !stored.mix) throw new Error(`recording ended ${stored?.state ?? 'missing'}: ${stored?.error ?? ''}`);
    const mixed = stored.speakers.filter((s) => s.includeInMix).length;
    const expected = room.stopWhen === 'after-withdrawal' ? room.speakers - 1 : room.speakers;
    if (mixed !== expected) throw new Error(`${mixed} speakers in the mix, expected ${expected}`);
    const page = await fetch(followed.url);
    await page.arrayBuffer();
    ok = page.status === 200;
    const { url: _url, ...figures } = followed;
    const signs = 1000;
    const signStarted = performance.now();
    for (let i = 0; i < signs; i++) bot.server.linkFor(recordingId);
    const signLinkUs = ((performance.now() - signStarted) / signs) * 1000;
    await bot.stop();
    bot = undefined;
    const split = room.splitMix ? await splitMix(stored, dataDir, dir) : undefined;
    return {
      ...room,
      ...figures,
      build,
      mixDurationMs: stored.mix.durationMs,
      linkStatus: page.status,
      signLinkUs,
      liveMix,
      ...(catchUpMs === undefined ? {} : { catchUpMs }),
      ...(split ? { split } : {}),
    };
  } finally {
    await bot?.stop();
    await sim.close();
    if (keep || !ok) log(`    data, tracks and bot log kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** Least-squares line through (minutes, ms). */
function fitLine(points: { x: number; y: number }[]): { slope: number; intercept: number } {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const slope = sxx === 0 ? 0 : points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
  return { slope, intercept: my - slope * mx };
}

function describeLiveMix(r: RoomFigures): string {
  if (!r.liveMix) return 'no live mix (the whole mix ran on stop)';
  if (!r.liveMix.used) return `live mix not used (${r.liveMix.reason}): the whole mix ran on stop`;
  return `live mix used: ${seconds((r.liveMix.framesAtStop / 48_000) * 1000, 1)} s of the ${seconds(r.mixDurationMs, 1)} s were left to mix at stop`;
}

export async function runStopToLinkBench({ quick, keep = false, log }: StopToLinkBenchOptions): Promise<void> {
  const lengths = quick ? [1, 3] : [1, 5, 10, 20, 60];
  const headline = quick ? 3 : 10;
  const cases: RoomCase[] = [
    ...lengths.map((minutes): RoomCase => ({ speakers: SPEAKERS, minutes, format: 'ogg', stopWhen: 'steady' })),
    { speakers: SPEAKERS, minutes: headline, format: 'ogg', stopWhen: 'after-withdrawal', splitMix: quick },
    ...(quick
      ? []
      : [headline, 60].map((minutes): RoomCase => ({
          speakers: SPEAKERS,
          minutes,
          format: 'ogg',
          stopWhen: 'after-restart',
          splitMix: minutes === headline,
        }))),
  ];
  log(
    `stop-to-link: /record stop → DM'd link, ${SPEAKERS} speakers talking in turns, real bot against the stand-in (target ≤ ${seconds(TARGET_MS, 0)} s)`,
  );
  log('  room              stopped          | total   | reply | REC off | close | mix     | receipt | metadata | link+DM | target');
  const results: RoomFigures[] = [];
  for (const room of cases) {
    const r = await measureRoom(room, keep, log);
    results.push(r);
    const p = r.pipeline;
    const label = `${r.speakers} × ${String(r.minutes).padStart(2)} min ${r.format}  ${r.stopWhen.padEnd(16)}`;
    const ms = (v: number, width: number) => `${v.toFixed(0).padStart(width)} ms`;
    log(
      `  ${label} | ${seconds(r.totalMs).padStart(5)} s | ${ms(r.replyMs, 2)} | ${ms(r.indicatorMs, 4)} | ${ms(p.closeTracksMs, 2)} | ` +
        `${seconds(p.mixMs).padStart(5)} s | ${ms(p.receiptMs, 4)} | ${ms(p.metadataMs, 5)} | ${r.linkBeforeMix ? ' early ' : ms(r.linkAndDmMs, 4)} | ` +
        `${r.totalMs <= TARGET_MS ? 'met' : 'MISSED'}`,
    );
    log(
      `    ${describeLiveMix(r)}` +
        (r.catchUpMs === undefined
          ? ''
          : `; after adoption the live mix caught up on the room in ${seconds(r.catchUpMs, 1)} s, in the background`),
    );
    if (r.linkBeforeMix)
      log(
        `    the link was DM'd before the mix was done; the mix was ready ${seconds(r.mixReadyMs)} s after the stop and a follow-up DM said so`,
      );
    log(
      `    ${r.build.turns} turns, ${r.build.packets} packets, ${(r.build.bytes / 1e6).toFixed(1)} MB of tracks (prepared in ${seconds(r.build.buildMs, 1)} s, not timed); ` +
        `bot's own stop→link ${seconds(r.botStopToLinkMs)} s; link page HTTP ${r.linkStatus}; signing a link ${r.signLinkUs.toFixed(0)} µs; ` +
        `REST after the mix: ${r.restAfterPipeline.join(', ')}`,
    );
    if (r.split) {
      const x = r.split;
      const full = r.mixDurationMs / Math.max(x.decodeSumMs, x.encodeMs);
      log(
        `    the whole mix taken apart (each alone, one thread): decode + sum ${seconds(x.decodeSumMs)} s ` +
          `(${x.decodedPackets} packets decoded, ${x.skippedSilencePackets} exact-silence packets skipped), encode Ogg Opus ${seconds(x.encodeMs)} s; ` +
          `overlapped on two threads a whole mix runs at most ≈ ${full.toFixed(0)}× real time, so mixing it all on stop fits 5 s up to ≈ ${(((TARGET_MS / 1000) * full) / 60).toFixed(0)} min`,
      );
    }
  }

  const steady = results.filter((r) => r.stopWhen === 'steady');
  const total = fitLine(steady.map((r) => ({ x: r.mixDurationMs / 60_000, y: r.totalMs })));
  log(
    `  growth, steady rooms: total ≈ ${seconds(total.intercept)} s ${total.slope < 0 ? '-' : '+'} ${Math.abs(total.slope).toFixed(1)} ms per room-minute ` +
      `(${steady.map((r) => `${r.minutes} min ${seconds(r.totalMs)} s`).join(', ')}); worst ${seconds(Math.max(...steady.map((r) => r.totalMs)))} s`,
  );
  const catching = results.filter((r) => r.stopWhen !== 'steady');
  for (const r of catching) {
    log(
      `  stopped 0.5 s ${r.stopWhen === 'after-restart' ? 'after a bot restart' : 'after a withdrawal'} (${r.minutes} min room), while the live mix was catching up: link ${seconds(r.totalMs)} s${r.linkBeforeMix ? ` (before the mix; mix ready at ${seconds(r.mixReadyMs)} s)` : ``}, mix ${seconds(r.pipeline.mixMs)} s`,
    );
  }
  const met = (rs: RoomFigures[]) => rs.map((r) => `${r.minutes} min ${r.totalMs <= TARGET_MS ? 'met' : 'MISSED'}`).join(', ');
  log(
    `  target (link within ${seconds(TARGET_MS, 0)} s of stop, any length): steady rooms ${met(steady)}; stopped during a catch-up ${met(catching)}`,
  );
}

if (import.meta.main) {
  const quick = process.argv.includes('--quick');
  await runStopToLinkBench({ quick, keep: process.argv.includes('--keep'), log: (line) => console.log(line) });
}
