// Plays a scenario file (docs/scenario.md, the contract) with the real bot against the local Discord
// stand-in, in real time, and builds result.json. Used by `npm run demo` and by the end-to-end tests.
import { access, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../src/log.ts';
import type { StopReport } from '../../src/bot/rooms.ts';
import type { Bot } from '../../src/main.ts';
import type { Recording } from '../../src/storage/store.ts';
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
import { startBotAgainst, startSimForBot } from './bot-in-sim.ts';
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
  consent: { speaker: string; event: 'granted' | 'withdrawn'; at: number }[];
  dms: { to: string; text: string; links: string[] }[];
  downloadUrl: string | null;
  exitReason: 'completed';
  /** Extensions (compatible with the contract): how the recording ended and how long the link took. */
  stop: { reason: string; state: string; linkSent: boolean; stopToLinkMs: number } | null;
  /** Scenario actions the stand-in could not perform (e.g. a reaction before any consent message). */
  errors: { at: number; action: string; error: string }[];
};

export type ScenarioSession = {
  scenario: Scenario;
  result: ScenarioResult;
  resultFile: string;
  sim: DiscordSim;
  bot: Bot;
  /** Scenario seconds → epoch ms, in the bot's time base. */
  epochAt(scenarioSeconds: number): number;
  close(): Promise<void>;
};

export type RunScenarioOptions = {
  scenarioFile: string;
  outDir: string;
  log: Logger;
  /** Called as each scenario action happens (the demo prints them). */
  onEvent?: (event: ScenarioEvent, scenario: Scenario) => void;
  /** Extra bot configuration (e.g. EMPTY_ROOM_MINUTES). */
  env?: Record<string, string>;
  /** The scenario file already loaded and validated (loadScenarioWithSpeech), so it is not read twice. */
  loaded?: LoadedScenario;
  /** Called when a room starts recording, at that scenario time (the demo prints the voice privacy code). */
  onRecordingStarted?: (room: RoomSummary, atScenarioSeconds: number) => void;
};

/** Loads and validates the scenario first: a bad file fails before anything starts (ScenarioError). */
export async function runScenario(options: RunScenarioOptions): Promise<ScenarioSession> {
  const { scenario, speech } = options.loaded ?? (await loadScenarioWithSpeech(options.scenarioFile));
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });

  // One time base for everything: the stand-in's clock is performance.now(), and the bot's wall clock is the
  // same clock shifted to the epoch, so scenario seconds and stored epoch times convert exactly.
  const epochBase = Date.now() - performance.now();
  const now = () => Math.round(epochBase + performance.now());

  const sim = await startSimForBot({ users: scenarioUsers(scenario), dave: scenario.network.dave });
  let bot: Bot;
  try {
    bot = await startBotAgainst(sim, { dataDir: outDir, log: options.log, now, ...(options.env ? { env: options.env } : {}) });
  } catch (error) {
    await sim.close();
    throw error;
  }
  const stops: StopReport[] = [];
  bot.rooms.onStopped((report) => stops.push(report));
  let scenarioStartedAt: number | undefined;
  bot.rooms.onStarted((room) => {
    const at = scenarioStartedAt === undefined ? 0 : round3((room.startedAt - epochBase - scenarioStartedAt) / 1000);
    options.onRecordingStarted?.(room, at);
  });

  const run = await playScenario(sim, scenario, {
    speech,
    hooks: { onEvent: (event) => options.onEvent?.(event, scenario) },
  });
  scenarioStartedAt = run.startedAt;
  const scenarioStartEpoch = epochBase + run.startedAt;
  const toScenario = (epochMs: number) => round3((epochMs - scenarioStartEpoch) / 1000);
  const outcome = await run.finished;

  // The scenario is over; a room still recording is stopped now so that every file in result.json is complete.
  await bot.rooms.stopAll('shutdown');

  const recording = (await bot.store.listRecordings())[0];
  const result = await buildResult({ bot, sim, recording, userIds: outcome.userIds, toScenario, stops });
  result.errors = outcome.events
    .filter((e) => e.error !== undefined)
    .map((e) => ({
      at: e.at,
      action: describeAction(e),
      error: e.error ?? '',
    }));
  const resultFile = path.join(outDir, 'result.json');
  // Whole or not at all: someone may be polling for the file.
  await writeFile(`${resultFile}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  await rename(`${resultFile}.tmp`, resultFile);

  return {
    scenario,
    result,
    resultFile,
    sim,
    bot,
    epochAt: (seconds) => scenarioStartEpoch + seconds * 1000,
    async close() {
      await bot.stop();
      await sim.close();
    },
  };
}

async function buildResult(input: {
  bot: Bot;
  sim: DiscordSim;
  recording: Recording | undefined;
  userIds: Record<string, string>;
  toScenario: (epochMs: number) => number;
  stops: StopReport[];
}): Promise<ScenarioResult> {
  const { bot, sim, recording, userIds, toScenario } = input;
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
      dms,
      downloadUrl: null,
      exitReason: 'completed',
      stop: null,
      errors: [],
    };
  }
  const layout = bot.store.layout;
  const tracks = withStoredStats(await tracksOnDisk(layout.tracksDir(recording.id), (userId) => speakerOf.get(userId)), recording);
  const e2ee = e2eeSummary(recording.e2ee);
  const mix = recording.mix ? layout.file(recording.id, recording.mix.file) : null;
  const consent = (await bot.store.consentEvents(recording.id)).map((e) => ({
    speaker: nameOf(e.userId),
    event: e.event,
    at: toScenario(e.at),
  }));
  const hostDm = dms.find((dm) => speakerOf.get(recording.hostId) === dm.to && dm.links.length > 0);
  const stop = input.stops.find((s) => s.recordingId === recording.id);
  return {
    recordingId: recording.id,
    recordingStartedAt: toScenario(recording.startedAt),
    recordingStoppedAt: recording.stoppedAt === undefined ? null : toScenario(recording.stoppedAt),
    mix: mix && (await exists(mix)) ? mix : null,
    tracks,
    ...(e2ee === undefined ? {} : { e2ee }),
    consent,
    dms,
    downloadUrl: hostDm?.links[0] ?? null,
    exitReason: 'completed',
    stop: stop ? { reason: stop.reason, state: stop.state, linkSent: stop.linkSent, stopToLinkMs: stop.stopToLinkMs } : null,
    errors: [],
  };
}

function describeAction(event: ScenarioEvent): string {
  const action = event.action;
  if (action.kind === 'end') return 'end';
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
