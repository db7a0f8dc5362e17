// Plays a scenario file (docs/scenario.md, the contract) with the real bot against the local Discord
// stand-in, in real time, and builds result.json. Used by `npm run demo` and by the end-to-end tests. The bot
// runs in a child process (bot-child.ts), so that the scenario's `{"bot": "crash"}` can kill it while the
// stand-in, here, goes on; result.json is read from the data folder, which outlives any process.
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { LogLevel } from '../../src/config.ts';
import type { StopReport } from '../../src/bot/rooms.ts';
import { createLayout, type Layout } from '../../src/storage/layout.ts';
import { readMetaFile } from '../../src/storage/store.ts';
import type { MetaFile, Recording } from '../../src/storage/schema.ts';
import { catalogOf, offersOf, type Locate, type Offer } from '../../src/http/catalog.ts';
import type { DiscordSim } from '../../discord-sim/index.ts';
import {
  extractLinks,
  loadScenarioWithSpeech,
  playScenario,
  scenarioUsers,
  type LoadedScenario,
  type Scenario,
  type ScenarioEvent,
} from '../../discord-sim/scenario.ts';
import { e2eeSummary } from '../../src/recording/e2ee-record.ts';
import type { RoomSummary } from '../../src/bot/services.ts';
import { startSimForBot } from './bot-in-sim.ts';
import { forkBot } from './bot-process.ts';
import { scenarioBot, type BotEvent } from './scenario-bot.ts';
import { tracksOnDisk, withStoredStats, type TrackOnDisk } from './tracks-on-disk.ts';

type ScenarioResult = {
  recordingId: string | null;
  recordingStartedAt: number | null;
  recordingStoppedAt: number | null;
  mix: string | null;
  /** Read from the recording's tracks folder (tracks-on-disk.ts), not from metadata; `stats` from metadata. */
  tracks: TrackOnDisk[];
  /** DAVE end-to-end encryption as the recording stored it; null when it was off; absent when unknown. */
  e2ee?: ReturnType<typeof e2eeSummary>;
  consent: (
    | { speaker: string; event: 'granted' | 'withdrawn' | 'reuse-granted' | 'reuse-withdrawn'; at: number }
    | { speaker?: undefined; event: 'forgotten'; at: number }
  )[];
  /** `/note`s, in the order they were added: seconds on the recording's clock, the scenario id of who added it. */
  notes: { at: number; by: string; text: string }[];
  /** Every file the download page offers, from the server's catalog, with its URL under the host's link. */
  offers: { kind: Offer['kind']; format: string; speaker?: string; levelled?: boolean; publishable?: true; url: string }[];
  dms: { to: string; text: string; links: string[] }[];
  downloadUrl: string | null;
  exitReason: 'completed';
  /** Extensions (compatible with the contract): how the recording ended and how long the link took. */
  stop: { reason: string; state: string; linkSent: boolean; stopToLinkMs: number } | null;
  /** Scenario actions the stand-in could not perform (e.g. a reaction before any consent message). */
  errors: { at: number; action: string; error: string }[];
  /** Each crash and restart of the bot's process (the contract's `bot`, with when a restart was ready). */
  bot: BotEvent[];
};

export type ScenarioSession = {
  scenario: Scenario;
  result: ScenarioResult;
  resultFile: string;
  sim: DiscordSim;
  /** The bot's data folder (recordings, store), which is also the output folder; its log is `roomrec.log` in it unless `logFile` says otherwise. */
  dataDir: string;
  /** Scenario seconds → epoch ms, in the bot's time base. */
  epochAt(scenarioSeconds: number): number;
  close(): Promise<void>;
};

export type RunScenarioOptions = {
  scenarioFile: string;
  outDir: string;
  /** The bot's log, appended to by every process of the run. Default: `roomrec.log` in outDir. */
  logFile?: string;
  logLevel?: LogLevel;
  /** Called as each scenario action happens (the demo prints them). */
  onEvent?: (event: ScenarioEvent, scenario: Scenario) => void;
  /** Extra bot configuration (e.g. EMPTY_ROOM_MINUTES). */
  env?: Record<string, string>;
  /** The scenario file already loaded and validated (loadScenarioWithSpeech), so it is not read twice. */
  loaded?: LoadedScenario;
  /** Called when a room starts recording, at that scenario time (the demo prints the voice privacy code). */
  onRecordingStarted?: (room: RoomSummary, atScenarioSeconds: number) => void;
  /** The child script for the n-th start of the bot (0: the first), for a test's own; default bot-child.ts. */
  botScript?: (n: number) => string | undefined;
};

/** Loads and validates the scenario first: a bad file fails before anything starts (ScenarioError). */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioSession> {
  const { scenario, speech } = options.loaded ?? (await loadScenarioWithSpeech(options.scenarioFile));
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });

  // One time base for everything: the stand-in's clock is performance.now(), and each bot process's wall clock is
  // its own performance.now() shifted to the epoch (bot-child.ts), the same monotonic clock, so scenario seconds
  // and stored epoch times convert exactly.
  const epochBase = performance.timeOrigin;

  const sim = await startSimForBot({ users: scenarioUsers(scenario), dave: scenario.network.dave });
  const stops: StopReport[] = [];
  let scenarioStartedAt: number | undefined;
  const scenarioNow = () => (scenarioStartedAt === undefined ? 0 : round3((performance.now() - scenarioStartedAt) / 1000));
  const logFile = options.logFile ?? path.join(outDir, 'roomrec.log');
  // Every process of the run signs links with one secret and serves them on one port: a link DM'd before a crash
  // opens once the next process is up.
  const common = {
    sim,
    dataDir: outDir,
    logFile,
    ...(options.logLevel ? { logLevel: options.logLevel } : {}),
    httpPort: await freePort(),
    env: { LINK_SECRET: randomBytes(32).toString('hex'), ...options.env },
  };
  const bot = scenarioBot({
    now: scenarioNow,
    fork: (n) =>
      forkBot({
        ...common,
        ...(options.botScript?.(n) ? { script: options.botScript(n) } : {}),
        onStopped: (report) => stops.push(report),
        onStarted: (room) => {
          const at = scenarioStartedAt === undefined ? 0 : round3((room.startedAt - epochBase - scenarioStartedAt) / 1000);
          options.onRecordingStarted?.(room, at);
        },
      }),
  });
  try {
    await bot.first();
  } catch (error) {
    await bot.close();
    await sim.close();
    throw error;
  }

  const run = await playScenario(sim, scenario, {
    speech,
    hooks: { onEvent: (event) => options.onEvent?.(event, scenario) },
    bot: (event) => bot.perform(event),
  });
  scenarioStartedAt = run.startedAt;
  const scenarioStartEpoch = epochBase + run.startedAt;
  const toScenario = (epochMs: number) => round3((epochMs - scenarioStartEpoch) / 1000);
  const outcome = await run.finished;

  // The scenario is over; a room still recording is stopped now so that every file in result.json is complete.
  // A bot that is down at the end stays down: its recording is left as the crash left it, for the next start.
  await bot.stopAll();

  const layout = createLayout(outDir);
  const result = await buildResult({ layout, sim, meta: await firstRecording(layout), userIds: outcome.userIds, toScenario, stops });
  result.errors = outcome.events
    .filter((e) => e.error !== undefined)
    .map((e) => ({
      at: e.at,
      action: describeAction(e),
      error: e.error ?? '',
    }));
  result.bot = [...bot.events];
  const resultFile = path.join(outDir, 'result.json');
  // Whole or not at all: someone may be polling for the file.
  await writeFile(`${resultFile}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  await rename(`${resultFile}.tmp`, resultFile);

  return {
    scenario,
    result,
    resultFile,
    sim,
    dataDir: outDir,
    epochAt: (seconds) => scenarioStartEpoch + seconds * 1000,
    async close() {
      await bot.close();
      await sim.close();
    },
  };
}

/** A port free now, for every bot process of the run to listen on in turn. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port to listen on');
  return address.port;
}

/** The run's recording as its meta.json has it (the store's mirror, which a killed process leaves whole). */
async function firstRecording(layout: Layout): Promise<MetaFile | undefined> {
  const ids = await readdir(layout.recordingsDir).catch(() => [] as string[]);
  const metas = await Promise.all(ids.map(async (id) => readMetaFile(layout.metaFile(id))));
  return metas.flatMap((read) => (read.ok ? [read.value] : [])).sort((a, b) => a.recording.startedAt - b.recording.startedAt)[0];
}

async function buildResult(input: {
  layout: Layout;
  sim: DiscordSim;
  meta: MetaFile | undefined;
  userIds: Record<string, string>;
  toScenario: (epochMs: number) => number;
  stops: StopReport[];
}): Promise<ScenarioResult> {
  const { layout, sim, userIds, toScenario } = input;
  const recording = input.meta?.recording;
  const speakerOf = new Map(Object.entries(userIds).map(([speaker, id]) => [id, speaker]));
  const nameOf = (userId: string) => speakerOf.get(userId) ?? userId;
  const dms = sim.allDms().map((dm) => ({ to: nameOf(dm.userId), text: dm.text, links: extractLinks(dm.text) }));
  if (!recording) {
    return {
      recordingId: null,
      recordingStartedAt: null,
      recordingStoppedAt: null,
      mix: null,
      tracks: [],
      consent: [],
      notes: [],
      offers: [],
      dms,
      downloadUrl: null,
      exitReason: 'completed',
      stop: null,
      errors: [],
      bot: [],
    };
  }
  const tracks = withStoredStats(await tracksOnDisk(layout.tracksDir(recording.id), (userId) => speakerOf.get(userId)), recording);
  const e2ee = e2eeSummary(recording.e2ee);
  const mix = recording.mix ? layout.file(recording.id, recording.mix.file) : null;
  // A forgotten speaker's events are one that names nobody (docs/scenario.md).
  const consent = (input.meta?.consentEvents ?? []).map((e) =>
    e.event === 'forgotten'
      ? { event: e.event, at: toScenario(e.at) }
      : { speaker: nameOf(e.userId), event: e.event, at: toScenario(e.at) },
  );
  const hostDm = dms.find((dm) => speakerOf.get(recording.hostId) === dm.to && dm.links.length > 0);
  const downloadUrl = hostDm?.links[0] ?? null;
  const stop = input.stops.find((s) => s.recordingId === recording.id);
  return {
    recordingId: recording.id,
    recordingStartedAt: toScenario(recording.startedAt),
    recordingStoppedAt: recording.stoppedAt === undefined ? null : toScenario(recording.stoppedAt),
    mix: mix && (await exists(mix)) ? mix : null,
    tracks,
    ...(e2ee === undefined ? {} : { e2ee }),
    consent,
    notes: (recording.notes ?? []).map((n) => ({ at: round3(n.at / 1000), by: nameOf(n.by), text: n.text })),
    offers: downloadUrl === null ? [] : await offers(layout, recording, downloadUrl, nameOf),
    dms,
    downloadUrl,
    exitReason: 'completed',
    stop: stop ? { reason: stop.reason, state: stop.state, linkSent: stop.linkSent, stopToLinkMs: stop.stopToLinkMs } : null,
    errors: [],
    bot: [],
  };
}

async function offers(
  layout: Layout,
  recording: Recording,
  link: string,
  nameOf: (userId: string) => string,
): Promise<ScenarioResult['offers']> {
  const locate: Locate = (r, file) => layout.file(r.id, file);
  const catalog = catalogOf(recording, locate);
  const present = new Set<string>();
  for (const asset of [catalog.mix, catalog.levelledMix, ...catalog.tracks]) {
    if (asset?.path !== undefined && (await exists(asset.path))) present.add(asset.key);
  }
  return offersOf(recording, catalog, present, locate).map(({ kind, format, speaker, levelled, publishable, key }) => ({
    kind,
    format,
    ...(speaker ? { speaker: nameOf(speaker.userId) } : {}),
    ...(levelled === undefined ? {} : { levelled }),
    ...(publishable ? { publishable } : {}),
    url: `${link.replace(/\/+$/, '')}/${key}`,
  }));
}

function describeAction(event: ScenarioEvent): string {
  const action = event.action;
  if (action.kind === 'end') return 'end';
  if (action.kind === 'bot') return `bot: ${action.event}`;
  if (action.kind === 'slash') return `${action.speaker}: /${action.text}`;
  if (action.kind === 'dm') return `${action.speaker}: DM "${action.text}"`;
  return `${action.speaker}: ${action.kind}`;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
