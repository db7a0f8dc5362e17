import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { z } from 'zod';
import type { DiscordSim } from './sim.ts';
import { loadSpeech, type Speech } from './audio-source.ts';
import type { NetworkFaults } from './faults.ts';
import type { Utterance } from './speaker.ts';

/* ------------------------------------------------------------------------------------------------
 * Scenario files: docs/scenario.md (a copy of the team's shared/scenario.md) is the contract, and it says
 * "extend it compatibly": a field this version does not know is ignored (and listed in `unknownFields`, for a warning), never an error, and a
 * speaker id is any non-empty string (layout.ts makes names safe where they become file names).
 *
 * Validation reports every problem at once, in three stages that all run on whatever parsed:
 *   1. shape   each field on its own (zod), so one bad speaker does not hide the next one's problems
 *   2. cross   references between fields and the order of each speaker's events (parseScenario stops here: pure)
 *   3. files   loadScenario: every audio file exists and decodes, so a bad file is a scenario problem
 *              reported before anything starts, not a failure half-way through
 * ---------------------------------------------------------------------------------------------- */

const seconds = z.number().finite().min(0, 'must be ≥ 0 seconds');
const optionalSeconds = seconds.nullable().optional();
const probability = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');

const speakerSchema = z.object({
  id: z.string().min(1, 'must be a non-empty string'),
  name: z.string().min(1).optional(),
  audio: z.string().min(1, 'must name a WAV or Ogg Opus file'),
  joinAt: seconds.default(0),
  consentAt: optionalSeconds,
  withdrawAt: optionalSeconds,
  /** 📣 as well: also OK to publish or reuse (docs/scenario.md). */
  reuseAt: optionalSeconds,
  leaveAt: optionalSeconds,
  speakAt: z.array(seconds).default([]),
});

const commandSchema = z.object({
  at: seconds,
  /** Who sends the slash command or DM; a `bot` command has none. */
  user: z.string().min(1).optional(),
  slash: z.string().min(1).optional(),
  dm: z.string().min(1).optional(),
  /** The bot's process is killed with SIGKILL, or started again on the same data (whoever runs the bot does it). */
  bot: z.enum(['crash', 'start']).optional(),
});

const networkSchema = z.object({
  loss: probability.default(0),
  duplicate: probability.default(0),
  reorder: probability.default(0),
  jitterMs: z.number().min(0).default(0),
  seed: z.number().int().default(1),
  /** DAVE end-to-end encryption on the stand-in's voice server: on unless false, as on Discord. */
  dave: z.boolean().default(true),
});

const scenarioSchema = z.object({
  name: z.string().min(1),
  host: z.string().min(1),
  speakers: z.array(speakerSchema).min(1, 'needs at least one speaker'),
  commands: z.array(commandSchema).default([]),
  network: networkSchema.default({ loss: 0, duplicate: 0, reorder: 0, jitterMs: 0, seed: 1, dave: true }),
  endAt: z.number().positive('must be > 0 seconds'),
});

type Command = z.infer<typeof commandSchema>;

export type Scenario = z.infer<typeof scenarioSchema> & {
  /** directory audio paths are relative to */
  baseDir: string;
  /** Fields the file has that this version does not know (e.g. `speakers[0].consentat`): ignored, worth a warning. */
  unknownFields: string[];
};
type ScenarioSpeaker = Scenario['speakers'][number];

export interface ScenarioIssue {
  /** e.g. `speakers[1].consentAt` */
  path: string;
  message: string;
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  readonly issues: ScenarioIssue[];
  constructor(source: string, issues: ScenarioIssue[]) {
    super(`${source}: invalid scenario\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const AUDIO_EXTENSIONS = ['.wav', '.wave', '.ogg', '.opus', '.oga'];

/** What stages 1 and 2 found: the scenario when there was no problem, and every problem otherwise. */
interface Checked {
  scenario: Scenario | null;
  issues: ScenarioIssue[];
  /** The raw speakers, for the file stage (which runs even when other fields are wrong). */
  rawSpeakers: unknown[];
}

function checkScenario(input: unknown, baseDir: string): Checked {
  const issues: ScenarioIssue[] = [];
  if (!isRecord(input)) return { scenario: null, issues: [{ path: '', message: 'must be a JSON object' }], rawSpeakers: [] };

  // Stage 1, field by field: each part that parses is kept for stage 2.
  const part = <T extends z.ZodType>(schema: T, value: unknown, path: PropertyKey[]): z.output<T> | undefined => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const i of parsed.error.issues) issues.push({ path: formatPath([...path, ...i.path]), message: i.message });
    return undefined;
  };
  const shape = scenarioSchema.shape;
  const name = part(shape.name, input.name, ['name']);
  const host = part(shape.host, input.host, ['host']);
  const endAt = part(shape.endAt, input.endAt, ['endAt']);
  const network = part(shape.network, input.network, ['network']);
  const rawSpeakers = part(z.array(z.unknown()).min(1, 'needs at least one speaker'), input.speakers, ['speakers']);
  const rawCommands = part(z.array(z.unknown()).default([]), input.commands, ['commands']);
  const speakers = (rawSpeakers ?? []).map((raw, i) => part(speakerSchema, raw, ['speakers', i]));
  const commands = (rawCommands ?? []).map((raw, i) => part(commandSchema, raw, ['commands', i]));

  // Stage 2 on whatever parsed. Speaker ids come from the raw entries, so a speaker with some other
  // problem still counts as a speaker (no false "host is not a speaker").
  const ids = rawSpeakers?.map((raw) => (isRecord(raw) && typeof raw.id === 'string' && raw.id !== '' ? raw.id : undefined));
  issues.push(...crossCheck({ host, endAt, ids, speakers, commands, rawSpeakers: rawSpeakers ?? [] }));

  const unknownFields = [
    ...unknownKeys(input, shape, ''),
    ...unknownKeys(input.network, networkSchema.shape, 'network'),
    ...(rawSpeakers ?? []).flatMap((raw, i) => unknownKeys(raw, speakerSchema.shape, `speakers[${i}]`)),
    ...(rawCommands ?? []).flatMap((raw, i) => unknownKeys(raw, commandSchema.shape, `commands[${i}]`)),
  ];
  const complete =
    issues.length === 0 &&
    name !== undefined &&
    host !== undefined &&
    endAt !== undefined &&
    network !== undefined &&
    rawSpeakers !== undefined;
  const scenario: Scenario | null = complete
    ? {
        name,
        host,
        endAt,
        network,
        speakers: speakers.filter((sp): sp is ScenarioSpeaker => sp !== undefined),
        commands: commands.filter((c): c is Command => c !== undefined),
        baseDir,
        unknownFields,
      }
    : null;
  return { scenario, issues, rawSpeakers: rawSpeakers ?? [] };
}

function unknownKeys(raw: unknown, shape: Record<string, unknown>, at: string): string[] {
  if (!isRecord(raw)) return [];
  return Object.keys(raw)
    .filter((k) => !Object.hasOwn(shape, k))
    .map((k) => (at ? `${at}.${k}` : k));
}

/** Validates a parsed JSON value (stages 1 and 2, no file system); every problem is reported at once with its field path. */
export function parseScenario(input: unknown, options: { source?: string; baseDir?: string } = {}): Scenario {
  const checked = checkScenario(input, options.baseDir ?? process.cwd());
  if (!checked.scenario) throw new ScenarioError(options.source ?? 'scenario', checked.issues);
  return checked.scenario;
}

/** The rules a schema cannot express: references between fields and the order of each speaker's events. */
function crossCheck(s: {
  host: string | undefined;
  endAt: number | undefined;
  /** undefined when `speakers` is not an array; an entry is undefined when that speaker has no usable id */
  ids: (string | undefined)[] | undefined;
  speakers: (ScenarioSpeaker | undefined)[];
  commands: (Command | undefined)[];
  rawSpeakers: unknown[];
}): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const endAt = s.endAt ?? Infinity;
  const ids = new Set<string>();
  s.ids?.forEach((id, i) => {
    if (id === undefined) return;
    if (ids.has(id)) issues.push({ path: `speakers[${i}].id`, message: `duplicate speaker id "${id}"` });
    ids.add(id);
  });
  const known = () => [...ids].join(', ');
  s.rawSpeakers.forEach((raw, i) => {
    const audio = isRecord(raw) ? raw.audio : undefined;
    if (typeof audio === 'string' && audio !== '' && !AUDIO_EXTENSIONS.includes(extname(audio).toLowerCase())) {
      issues.push({ path: `speakers[${i}].audio`, message: `"${audio}" is neither .wav nor .ogg/.opus` });
    }
  });
  s.speakers.forEach((sp, i) => {
    if (!sp) return;
    const at = (field: string) => `speakers[${i}].${field}`;
    const leave = sp.leaveAt ?? Infinity;
    if (sp.leaveAt != null && sp.leaveAt <= sp.joinAt) issues.push({ path: at('leaveAt'), message: `must be after joinAt (${sp.joinAt})` });
    if (sp.consentAt != null && (sp.consentAt < sp.joinAt || sp.consentAt >= leave)) {
      issues.push({
        path: at('consentAt'),
        message: `must be while the speaker is in the channel (joinAt ${sp.joinAt}${sp.leaveAt != null ? `, leaveAt ${sp.leaveAt}` : ''})`,
      });
    }
    if (sp.withdrawAt != null) {
      if (sp.consentAt == null)
        issues.push({ path: at('withdrawAt'), message: 'needs consentAt: a speaker can only withdraw a reaction they added' });
      else if (sp.withdrawAt <= sp.consentAt) issues.push({ path: at('withdrawAt'), message: `must be after consentAt (${sp.consentAt})` });
    }
    if (sp.reuseAt != null) {
      if (sp.consentAt == null) issues.push({ path: at('reuseAt'), message: 'needs consentAt: 📣 is given with or after ✅' });
      else if (sp.reuseAt < sp.consentAt) issues.push({ path: at('reuseAt'), message: `must be at or after consentAt (${sp.consentAt})` });
      if (sp.reuseAt >= Math.min(leave, sp.withdrawAt ?? Infinity))
        issues.push({ path: at('reuseAt'), message: 'must be before the speaker withdraws or leaves' });
    }
    sp.speakAt.forEach((t, k) => {
      if (t < sp.joinAt || t >= leave)
        issues.push({ path: at(`speakAt[${k}]`), message: `${t} is outside the time the speaker is in the channel` });
      if (t >= endAt) issues.push({ path: at(`speakAt[${k}]`), message: `${t} is at or after endAt (${endAt})` });
    });
    for (const field of ['joinAt', 'consentAt', 'withdrawAt', 'reuseAt', 'leaveAt'] as const) {
      const value = sp[field];
      if (value != null && value > endAt) issues.push({ path: at(field), message: `${value} is after endAt (${endAt})` });
    }
  });
  if (s.ids && s.host !== undefined && !ids.has(s.host))
    issues.push({ path: 'host', message: `"${s.host}" is not a speaker (speakers: ${known()})` });
  s.commands.forEach((c, i) => {
    if (!c) return;
    if (c.user !== undefined && s.ids && !ids.has(c.user))
      issues.push({ path: `commands[${i}].user`, message: `"${c.user}" is not a speaker (speakers: ${known()})` });
    if ([c.slash, c.dm, c.bot].filter((x) => x !== undefined).length !== 1)
      issues.push({ path: `commands[${i}]`, message: 'needs exactly one of "slash", "dm" or "bot"' });
    else if (c.bot === undefined && c.user === undefined)
      issues.push({
        path: `commands[${i}].user`,
        message: `needs the speaker who sends the ${c.slash !== undefined ? 'slash command' : 'DM'}`,
      });
    if (c.at > endAt) issues.push({ path: `commands[${i}].at`, message: `${c.at} is after endAt (${endAt})` });
  });
  issues.push(...botSequenceIssues(s.commands));
  return issues;
}

/**
 * The bot runs from the start; each `crash` must find it running and each `start` must find it crashed, in time
 * order (commands at the same second in file order), so every command means what it says.
 */
function botSequenceIssues(commands: readonly (Command | undefined)[]): ScenarioIssue[] {
  const issues: ScenarioIssue[] = [];
  const sequence = commands
    .map((c, i) => ({ c, i }))
    .filter((e): e is { c: Command & { bot: 'crash' | 'start' }; i: number } => e.c?.bot !== undefined)
    .sort((a, b) => a.c.at - b.c.at || a.i - b.i);
  let crashedAt: number | null = null;
  let startedAt: number | null = null;
  for (const { c, i } of sequence) {
    const path = `commands[${i}].bot`;
    if (c.bot === 'crash') {
      if (crashedAt !== null)
        issues.push({
          path,
          message: `"crash" at ${c.at}, but the bot is not running then (it crashed at ${crashedAt} and was not started again)`,
        });
      crashedAt = c.at;
    } else {
      if (crashedAt === null) {
        const since = startedAt === null ? 'it runs from the start of the scenario' : `started again at ${startedAt}`;
        issues.push({
          path,
          message: `"start" at ${c.at}, but the bot is already running then (${since}); only a crashed bot can be started`,
        });
      }
      crashedAt = null;
      startedAt = c.at;
    }
  }
  return issues;
}

/** A validated scenario with every speaker's audio loaded (WAV already encoded to Opus packets). */
export interface LoadedScenario {
  scenario: Scenario;
  /** per speaker id */
  speech: Map<string, Speech>;
}

/**
 * Reads a scenario file and runs all three stages: the problems of every stage are reported together
 * (ScenarioError). The audio files are read and decoded here, so a missing or garbage file is a
 * problem of the scenario, found before anything starts.
 */
export async function loadScenarioWithSpeech(file: string): Promise<LoadedScenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ScenarioError(file, [
      { path: '', message: `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})` },
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(file, [{ path: '', message: `not valid JSON: ${(error as Error).message}` }]);
  }
  const baseDir = dirname(resolve(file));
  const checked = checkScenario(json, baseDir);
  const audio = await loadAudio(checked.rawSpeakers, baseDir);
  const issues = [...checked.issues, ...audio.issues];
  if (!checked.scenario || issues.length > 0) throw new ScenarioError(file, issues);
  return { scenario: checked.scenario, speech: audio.speech };
}

/** Reads, parses and validates a scenario file; audio paths are resolved against its directory and must exist and decode. */
export async function loadScenario(file: string): Promise<Scenario> {
  return (await loadScenarioWithSpeech(file)).scenario;
}

/** Stage 3: every speaker's audio file (whenever its id and path are usable, whatever else is wrong). */
async function loadAudio(rawSpeakers: unknown[], baseDir: string): Promise<{ speech: Map<string, Speech>; issues: ScenarioIssue[] }> {
  const speech = new Map<string, Speech>();
  const found = await Promise.all(
    rawSpeakers.map(async (raw, i): Promise<ScenarioIssue | null> => {
      if (!isRecord(raw) || typeof raw.audio !== 'string' || !AUDIO_EXTENSIONS.includes(extname(raw.audio).toLowerCase())) return null;
      const path = resolve(baseDir, raw.audio);
      try {
        const loaded = await loadSpeech(path);
        if (typeof raw.id === 'string') speech.set(raw.id, loaded);
        return null;
      } catch (error) {
        return { path: `speakers[${i}].audio`, message: describeAudioError(path, error) };
      }
    }),
  );
  return { speech, issues: found.filter((i): i is ScenarioIssue => i !== null) };
}

function describeAudioError(path: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `file not found: ${path}`;
  if (code === 'EISDIR') return `${path} is a directory, not an audio file`;
  if (code === 'EACCES') return `${path}: permission denied`;
  // A header field pointing past the end of the file: the reader ran off the buffer.
  if (code === 'ERR_OUT_OF_RANGE' || code === 'ERR_BUFFER_OUT_OF_BOUNDS')
    return `${path}: cut short or damaged (a header points past the end of the file)`;
  const message = error instanceof Error ? error.message : String(error);
  // The loader names the file itself, prefixed for log readers; here the path comes first, once.
  const reason = message
    .replace(/^discord-sim: /, '')
    .replace(`${path}: `, '')
    .replace(`${path} `, '')
    .replace(/^is /, '');
  return `${path}: ${reason}`;
}

/** Users to create at sim start so that they are guild members when the bot logs in. */
export function scenarioUsers(scenario: Scenario): { username: string; globalName: string }[] {
  return scenario.speakers.map((sp) => ({ username: sp.id, globalName: sp.name ?? sp.id }));
}

/* ---------------------------------------- the player ---------------------------------------- */

type ScenarioAction =
  | { kind: 'join'; speaker: string }
  | { kind: 'leave'; speaker: string }
  | { kind: 'consent'; speaker: string }
  | { kind: 'withdraw'; speaker: string }
  | { kind: 'reuse'; speaker: string }
  | { kind: 'speak'; speaker: string; utterance: number }
  | { kind: 'slash'; speaker: string; text: string }
  | { kind: 'dm'; speaker: string; text: string }
  | { kind: 'bot'; event: 'crash' | 'start' }
  | { kind: 'end' };

/**
 * When several things happen at the same second, people are in the room before they react, talk or leave, and
 * the bot crashes (or starts) after what people did at that second: a crash "during" a reaction comes right after it.
 */
const ORDER: Record<ScenarioAction['kind'], number> = {
  join: 0,
  slash: 1,
  dm: 1,
  consent: 2,
  reuse: 2,
  speak: 3,
  withdraw: 4,
  bot: 5,
  leave: 6,
  end: 7,
};

/** 📣 on the consent message: also OK to publish or reuse (the bot's src/bot/reuse-reactions.ts). */
const REUSE_EMOJI = '📣';

const CONSENT_EVENTS = { consent: 'granted', withdraw: 'withdrawn', reuse: 'reuse-granted' } as const;

interface TimedAction {
  at: number;
  action: ScenarioAction;
}

/** The scenario as a time-ordered list of actions (pure). */
export function timeline(s: Scenario): TimedAction[] {
  const out: TimedAction[] = [];
  for (const sp of s.speakers) {
    out.push({ at: sp.joinAt, action: { kind: 'join', speaker: sp.id } });
    if (sp.consentAt != null) out.push({ at: sp.consentAt, action: { kind: 'consent', speaker: sp.id } });
    if (sp.reuseAt != null) out.push({ at: sp.reuseAt, action: { kind: 'reuse', speaker: sp.id } });
    if (sp.withdrawAt != null) out.push({ at: sp.withdrawAt, action: { kind: 'withdraw', speaker: sp.id } });
    if (sp.leaveAt != null) out.push({ at: sp.leaveAt, action: { kind: 'leave', speaker: sp.id } });
    sp.speakAt.forEach((at, utterance) => out.push({ at, action: { kind: 'speak', speaker: sp.id, utterance } }));
  }
  for (const c of s.commands) {
    const speaker = c.user ?? '';
    const action: ScenarioAction =
      c.bot !== undefined
        ? { kind: 'bot', event: c.bot }
        : c.slash !== undefined
          ? { kind: 'slash', speaker, text: c.slash }
          : { kind: 'dm', speaker, text: c.dm ?? '' };
    out.push({ at: c.at, action });
  }
  out.push({ at: s.endAt, action: { kind: 'end' } });
  return out.sort((a, b) => a.at - b.at || ORDER[a.action.kind] - ORDER[b.action.kind]);
}

export interface ScenarioEvent {
  /** scheduled scenario time (s) */
  at: number;
  /** scenario time (s) at which the sim actually performed it */
  actualAt: number;
  action: ScenarioAction;
  /** what went wrong, e.g. no consent message to react to; the scenario carries on */
  error?: string;
}

export interface ScenarioHooks {
  /** Called after each action is performed (or failed). */
  onEvent?: (event: ScenarioEvent) => void;
}

export interface ScenarioOutcome {
  events: ScenarioEvent[];
  /** consent reactions as the simulated users made them (scenario seconds) */
  consent: { speaker: string; event: 'granted' | 'withdrawn' | 'reuse-granted'; at: number }[];
  /** every DM the bot sent, in order, with the links in it */
  dms: { to: string; text: string; links: string[] }[];
  /** slash commands sent, with what the bot answered (the original interaction response, if any) */
  slashes: { speaker: string; text: string; at: number; interactionId: string | null; reply: string | null }[];
  /** speaker id → Discord user id */
  userIds: Record<string, string>;
}

export interface ScenarioRun {
  /** sim-clock ms of scenario time 0 */
  readonly startedAt: number;
  /** scenario seconds for a sim-clock time (default: now) */
  scenarioTime(clockMs?: number): number;
  /** resolves at endAt with what happened */
  readonly finished: Promise<ScenarioOutcome>;
  /** stops early: pending actions are dropped, audio is cut */
  stop(): void;
}

export interface PlayOptions {
  hooks?: ScenarioHooks;
  /** Pre-loaded audio per speaker id (otherwise loaded before the clock starts). */
  speech?: Map<string, Speech>;
  /**
   * Performs a `bot` command: whoever runs the bot kills its process or starts a new one (the stand-in goes on
   * either way). Without it, such a command is recorded with an error.
   */
  bot?: (event: 'crash' | 'start') => void;
}

/** Loads every speaker's audio once (WAV is encoded to Opus here, before the clock starts). */
export async function loadScenarioSpeech(sim: DiscordSim, scenario: Scenario): Promise<Map<string, Speech>> {
  const entries = await Promise.all(
    scenario.speakers.map(async (sp) => [sp.id, await sim.loadSpeech(resolve(scenario.baseDir, sp.audio))] as const),
  );
  return new Map(entries);
}

/** Per-utterance seed: reproducible from the scenario seed, different for each speaker and utterance. */
function utteranceFaults(network: Scenario['network'], speakerIndex: number, utterance: number): NetworkFaults {
  const { dave: _dave, ...faults } = network;
  return { ...faults, seed: (network.seed * 1_000_003 + speakerIndex * 7919 + utterance * 104_729) >>> 0 };
}

/**
 * Plays a scenario on the scenario clock against a running stand-in (the bot must already be logged in).
 * Actions that fail (e.g. a reaction with no consent message) are recorded as events with `error`; the
 * scenario always runs to endAt, as the demo's contract requires.
 */
export async function playScenario(sim: DiscordSim, scenario: Scenario, options: PlayOptions = {}): Promise<ScenarioRun> {
  const speech = options.speech ?? (await loadScenarioSpeech(sim, scenario));
  const userIds: Record<string, string> = {};
  scenario.speakers.forEach((sp) => {
    const existing = [...sim.world.users.values()].find((u) => u.username === sp.id && !u.bot);
    userIds[sp.id] = (existing ?? sim.addUser({ username: sp.id, globalName: sp.name ?? sp.id })).id;
  });
  const speakerById = new Map(scenario.speakers.map((sp, i) => [sp.id, { sp, index: i }]));
  const startedAt = sim.clock();
  const scenarioTime = (clockMs = sim.clock()) => (clockMs - startedAt) / 1000;
  const events: ScenarioEvent[] = [];
  const consent: ScenarioOutcome['consent'] = [];
  const slashes: ScenarioOutcome['slashes'] = [];
  const utterances: Utterance[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let finish: (outcome: ScenarioOutcome) => void = () => undefined;
  const finished = new Promise<ScenarioOutcome>((resolvePromise) => (finish = resolvePromise));
  let ended = false;

  const outcome = async (): Promise<ScenarioOutcome> => {
    await Promise.all(
      slashes.map(async (s) => {
        const record = s.interactionId ? sim.interaction(s.interactionId) : undefined;
        const reply = record ? await sim.waitForInteractionResponse(record, 1).catch(() => null) : null;
        s.reply = reply ? reply.content : null;
      }),
    );
    const speakerOf = new Map(Object.entries(userIds).map(([speaker, id]) => [id, speaker]));
    const dms = sim.allDms().map((dm) => ({ to: speakerOf.get(dm.userId) ?? dm.userId, text: dm.text, links: extractLinks(dm.text) }));
    return { events, consent, dms, slashes, userIds };
  };

  const record = (event: ScenarioEvent): void => {
    events.push(event);
    options.hooks?.onEvent?.(event);
  };

  /**
   * A person reacts to the consent message when they see it: a reaction (or its removal) scheduled before the
   * bot has posted the message waits for it, however long the bot takes to start on a busy machine, so a
   * scenario means the same on any machine. One speaker's reactions keep their order.
   */
  const reactionQueue = new Map<string, Promise<void>>();
  const reactWhenPosted = (speaker: string, event: ScenarioEvent, react: () => void): void => {
    const previous = reactionQueue.get(speaker) ?? Promise.resolve();
    const next = previous.then(async () => {
      while (!ended && sim.consentMessage() === null) {
        const untilEnd = Math.max(1, startedAt + scenario.endAt * 1000 - sim.clock());
        await sim.waitFor((e) => e.kind === 'rest' && e.method === 'PUT' && e.route.endsWith('/@me'), untilEnd).catch(() => undefined);
      }
      event.actualAt = scenarioTime();
      try {
        if (ended) throw new Error('the bot posted no consent message before the scenario ended');
        react();
      } catch (error) {
        event.error = error instanceof Error ? error.message : String(error);
      }
      record(event);
    });
    reactionQueue.set(speaker, next);
  };

  const perform = (timed: TimedAction) => {
    const { action } = timed;
    const event: ScenarioEvent = { at: timed.at, actualAt: scenarioTime(), action };
    try {
      if (action.kind === 'end') {
        end();
        return;
      }
      if (action.kind === 'bot') {
        if (!options.bot) throw new Error(`nothing here runs the bot, so it cannot ${action.event}`);
        options.bot(action.event);
        record(event);
        return;
      }
      const userId = userIds[action.speaker] ?? '';
      switch (action.kind) {
        case 'join':
          sim.joinVoice(userId);
          break;
        case 'leave':
          sim.leaveVoice(userId);
          break;
        case 'consent':
        case 'withdraw':
        case 'reuse':
          // Recorded when it really happens (see reactWhenPosted), so not pushed here.
          reactWhenPosted(action.speaker, event, () => {
            if (action.kind === 'consent') sim.reactToConsent(userId);
            else if (action.kind === 'reuse') sim.react(userId, sim.consentMessage()?.message.id ?? '', REUSE_EMOJI);
            else sim.withdrawConsent(userId);
            consent.push({ speaker: action.speaker, event: CONSENT_EVENTS[action.kind], at: event.actualAt });
          });
          return;
        case 'speak': {
          const entry = speakerById.get(action.speaker);
          const audio = speech.get(action.speaker);
          if (!entry || !audio) throw new Error(`no audio loaded for ${action.speaker}`);
          // The utterance starts at its scheduled instant even if this timer fired late: RTP timestamps stay exact.
          utterances.push(
            sim.speak(userId, audio, {
              at: startedAt + timed.at * 1000,
              faults: utteranceFaults(scenario.network, entry.index, action.utterance),
            }),
          );
          break;
        }
        case 'slash': {
          const slash: ScenarioOutcome['slashes'][number] = {
            speaker: action.speaker,
            text: action.text,
            at: event.actualAt,
            interactionId: null,
            reply: null,
          };
          slashes.push(slash);
          slash.interactionId = sim.slash(userId, action.text).id;
          break;
        }
        case 'dm':
          sim.sendDm(userId, action.text);
          break;
      }
    } catch (error) {
      event.error = error instanceof Error ? error.message : String(error);
    }
    record(event);
  };

  const end = () => {
    if (ended) return;
    ended = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const u of utterances) u.cancel();
    const event: ScenarioEvent = { at: scenario.endAt, actualAt: scenarioTime(), action: { kind: 'end' } };
    events.push(event);
    options.hooks?.onEvent?.(event);
    void outcome().then(finish);
  };

  for (const timed of timeline(scenario)) {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        perform(timed);
      },
      Math.max(0, startedAt + timed.at * 1000 - sim.clock()),
    );
    timers.add(timer);
  }

  return { startedAt, scenarioTime, finished, stop: end };
}

/** http(s) links in a message, without the punctuation that often follows them in prose or markdown. */
export function extractLinks(text: string): string[] {
  return [...text.matchAll(/https?:\/\/[^\s<>()]+/g)].map((m) => m[0].replace(/[.,;:!?'"\]*_>]+$/, ''));
}
