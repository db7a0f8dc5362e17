// The bot's process killed with SIGKILL at ten different moments of a room, through the scenario format's
// `{"bot": "crash"}` and `{"bot": "start"}` (what `npm run demo -- --scenario` plays): during consent, mid-word
// (one speaker, two at once), during a withdrawal, during a withdrawal made while it is down, in a silence,
// during the restart's own recovery, during the stop, during the mix, and with the scenario ending while it is
// down; and a fifth room with a crash in a speaker's first words, while placement still holds them. Five rooms,
// three at a time, each against its own stand-in, which outlives every bot process. For each moment, with the
// files decoded:
//   - each speaker loses at most 1 s of what they said while the bot was up before the crash (pages reach the
//     disk at least once a second, and packets held while a stream's clock is learned are journaled beside the
//     track as they come), and nothing said once the next process is ready;
//   - the recording ends ready (or is left resumable, and a bot started on the data finishes it);
//   - nobody is heard before their ✅ or after they took it back, in their track or in the mix, and a withdrawn
//     speaker is in no part of the mix.
// Every speaker says a pure tone of their own, so each one's presence is measured apart in any file.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeWav, tonePcm } from '../../discord-sim/index.ts';
import type { ScenarioEvent } from '../../discord-sim/scenario.ts';
import { startBotProcess } from '../../scripts/demo/bot-process.ts';
import { runScenario, type ScenarioSession } from '../../scripts/demo/run-scenario.ts';
import type { BotEvent } from '../../scripts/demo/scenario-bot.ts';
import { createLayout } from '../../src/storage/layout.ts';
import { readMetaFile, type ConsentEvent, type Recording } from '../../src/storage/store.ts';
import { decodeOggOpusFile, RATE, toMono, toneAmplitude } from '../helpers/audio.ts';
import { recordingOnDisk } from '../helpers/track-on-disk.ts';

const HZ: Record<string, number> = { alice: 440, bob: 620, carol: 1010 };
/** Each utterance: the speaker's tone for this long. */
const CLIP = 2;
const WINDOW = 0.05;
/** A tone at 0.4 decodes to about that; silence to nothing. */
const HEARD = 0.1;
const ABSENT = 0.02;
/** A reaction's removal reaches the bot over the gateway a moment after it is made. */
const WITHDRAW_SLACK = 0.1;

const speaker = (id: string, times: { consentAt?: number; withdrawAt?: number; speakAt: number[] }) => ({
  id,
  name: id[0]?.toUpperCase() + id.slice(1),
  audio: `${id}.wav`,
  joinAt: 0,
  ...times,
});
const crash = (at: number) => ({ at, bot: 'crash' });
const start = (at: number) => ({ at, bot: 'start' });
const slash = (at: number, text: string) => ({ at, user: 'alice', slash: text });

/**
 * The ten moments, in four rooms, plus a fifth for a crash in a stream's first seconds. A restart is given 5 s to
 * be ready (it takes 1.5 s on a quiet 2-core machine, up to 6 s on a very busy one).
 */
const ROOMS = {
  // 1 during consent (Bob's ✅ and the crash at one instant, Alice mid-word); 2 mid-word, two speakers, one of
  // them heard for the first time since his ✅ (given while the bot was down); 3 in a silence; 4 during the
  // next restart's own recovery (or just after it, on a fast machine).
  a: {
    speakers: [
      speaker('alice', { consentAt: 1.0, speakAt: [1.5, 5.0, 12.0, 15.0] }),
      speaker('bob', { consentAt: 6.0, speakAt: [12.0, 15.0] }),
      speaker('carol', { consentAt: 1.2, speakAt: [1.5] }),
    ],
    commands: [
      slash(0.5, 'record start'),
      crash(6.0),
      start(7.0),
      crash(16.5),
      start(17.0),
      crash(22.0),
      start(22.5),
      crash(23.5),
      start(24.0),
      slash(27.0, 'record stop'),
    ],
    endAt: 28.0,
  },
  // 5 during a withdrawal (Carol's ✅ removed and the crash at one instant; she talks on after the restart);
  // 6 mid-word, after which Bob withdraws while the bot is down; 7 during the stop.
  b: {
    speakers: [
      speaker('alice', { consentAt: 1.0, speakAt: [1.5, 12.0, 15.0, 22.5, 26.0] }),
      speaker('bob', { consentAt: 1.2, withdrawAt: 17.0, speakAt: [1.5, 12.0, 15.0, 17.5, 23.0] }),
      speaker('carol', { consentAt: 1.2, withdrawAt: 6.0, speakAt: [1.5, 5.0, 12.0] }),
    ],
    commands: [
      slash(0.5, 'record start'),
      crash(6.0),
      start(7.0),
      crash(16.5),
      start(17.5),
      slash(27.0, 'record stop'),
      crash(27.15),
      start(28.0),
    ],
    endAt: 30.0,
  },
  // 8 before anyone's ✅ (both react while the bot is down); 9 during the mix: the second process kills itself
  // as its stop starts mixing (a full re-mix, since Carol withdrew), and nothing starts it again before the
  // scenario ends: the recording is left for the next start to finish.
  c: {
    speakers: [
      speaker('alice', { consentAt: 3.5, speakAt: [9.0] }),
      speaker('bob', { speakAt: [9.0] }),
      speaker('carol', { consentAt: 3.5, withdrawAt: 10.0, speakAt: [9.0] }),
    ],
    commands: [slash(0.5, 'record start'), crash(3.0), start(4.0), slash(11.5, 'record stop')],
    endAt: 12.5,
  },
  // 10 mid-word, and the scenario ends with the bot down: the recording is left recording, resumable; the next
  // start resumes the room, and stopping it then makes it ready.
  d: {
    speakers: [speaker('alice', { consentAt: 1.0, speakAt: [1.5, 5.2] })],
    commands: [slash(0.5, 'record start'), crash(6.2)],
    endAt: 7.0,
  },
  // A crash 1.5 s into a speaker's first words: all of them are still held while their stream's clock is being
  // learned (placement.ts, learnMs), so only their journal (held-journal.ts) has them when the bot dies.
  e: {
    speakers: [speaker('alice', { consentAt: 1.0, speakAt: [1.5] })],
    commands: [slash(0.5, 'record start'), crash(3.0)],
    endAt: 3.5,
  },
} as const;
/** Rooms played one after the other; the lanes at once (three bots and stand-ins on two cores is plenty). */
const LANES: RoomName[][] = [['a'], ['b'], ['c', 'd', 'e']];
/** Which start of the bot (0: the first) runs the child that dies in its mix. */
const DIES_IN_MIX_AT: Partial<Record<RoomName, number>> = { c: 1 };
type RoomName = keyof typeof ROOMS;

const DIES_IN_MIX = path.join(import.meta.dirname, '..', 'helpers', 'bot-child-dies-in-mix.ts');

type Played = {
  session: Omit<ScenarioSession, 'sim' | 'close'>;
  /** What the simulated people did, when they really did it. */
  events: ScenarioEvent[];
  userIds: Record<string, string>;
  /** The recording once everything is over (after a bot started on its data, for one a crash left unfinished). */
  recording: Recording;
  /** Consent as the bot stored it: a ✅ given while it was down counts from the restart that read it. */
  consentEvents: ConsentEvent[];
  /** The recording's state as the scenario left it, before anything else ran. */
  stateAtEnd: string;
};

let dir: string;
const played = new Map<RoomName, Played>();

async function play(name: RoomName): Promise<Played> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ name: `crash-${name}`, host: 'alice', ...ROOMS[name] }));
  const events: ScenarioEvent[] = [];
  const session = await runScenario({
    scenarioFile: file,
    outDir: path.join(dir, name),
    onEvent: (event) => events.push(event),
    botScript: (n: number) => (n === DIES_IN_MIX_AT[name] ? DIES_IN_MIX : undefined),
  });
  const userIds = Object.fromEntries(ROOMS[name].speakers.map((sp) => [sp.id, session.sim.userByName(sp.id).id]));
  const onDisk = await recordingOnDisk(session.dataDir);
  const stateAtEnd = (await onDisk.meta())?.state ?? 'none';
  if (stateAtEnd !== 'ready') {
    // Left as the crash left it: the next bot on the same data resumes the room or finishes the recording
    // before it says it is ready; a resumed room is then stopped.
    const bot = await startBotProcess({
      sim: session.sim,
      dataDir: session.dataDir,
      logFile: path.join(session.dataDir, 'roomrec.log'),
      httpPort: 0,
      env: { LINK_SECRET: randomBytes(32).toString('hex') },
    });
    await bot.stopAll();
    await bot.shutDown();
  }
  // Everything left to check is on disk: the next room gets the machine to itself.
  await session.close();
  const meta = await readMetaFile(createLayout(session.dataDir).metaFile(onDisk.id));
  if (!meta.ok) throw new Error(`room ${name}: ${meta.reason}`);
  return { session, events, userIds, recording: meta.value.recording, consentEvents: meta.value.consentEvents, stateAtEnd };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-crash-matrix-'));
  for (const [id, hz] of Object.entries(HZ)) {
    await writeFile(path.join(dir, `${id}.wav`), encodeWav(tonePcm({ seconds: CLIP, frequency: hz, amplitude: 0.4 })));
  }
  await Promise.all(
    LANES.map(async (lane) => {
      for (const name of lane) played.set(name, await play(name));
    }),
  );
}, 150_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function playedRoom(name: RoomName): Played {
  const room = played.get(name);
  if (!room) throw new Error(`room ${name} did not play`);
  return room;
}

type Span = readonly [number, number];
const within = (spans: readonly Span[], from: number, to: number) => spans.some(([a, b]) => from >= a - 1e-9 && to <= b + 1e-9);

/** Scenario seconds in which a bot was up and recording: from time zero or a restart's readiness to a crash or the stop. */
function upSpans(zero: number, stop: number, bot: readonly BotEvent[]): Span[] {
  const spans: Span[] = [];
  let from: number | null = zero;
  for (const e of bot) {
    if (e.event === 'crash') {
      if (from !== null) spans.push([from, Math.min(e.at, stop)]);
      from = null;
    } else if (e.readyAt !== undefined) from = e.readyAt;
  }
  if (from !== null) spans.push([from, stop]);
  return spans.filter(([a, b]) => b > a);
}

const examined = new Map<RoomName, ReturnType<typeof examineRoom>>();
/** Each room's files are decoded once, for all the checks. */
const examine = (name: RoomName) => {
  const done = examined.get(name) ?? examineRoom(name);
  examined.set(name, done);
  return done;
};

/** What one room's files say, in scenario seconds. */
async function examineRoom(name: RoomName) {
  const room = playedRoom(name);
  const { session, events, recording, userIds, consentEvents } = room;
  const seconds = (epochMs: number) => (epochMs - session.epochAt(0)) / 1000;
  const zero = seconds(recording.startedAt);
  const stop = seconds(recording.stoppedAt ?? NaN);
  const up = upSpans(zero, stop, session.result.bot);
  const layout = createLayout(session.dataDir);
  const decode = async (file: string) => toMono((await decodeOggOpusFile(layout.file(recording.id, file))).pcm);
  const mix = await decode(recording.mix?.file ?? 'no mix');
  const withdrew = (id: string) => events.find((e) => e.action.kind === 'withdraw' && e.action.speaker === id && !e.error)?.actualAt;
  const granted = (userId: string) => {
    const at = consentEvents.find((e) => e.userId === userId && e.event === 'granted')?.at;
    return at === undefined ? undefined : seconds(at);
  };

  /** Tone amplitude of `id` in `audio` for each window of the recording, keyed by its scenario time. */
  const heard = (audio: Float32Array, id: string) => {
    const out: { at: number; amplitude: number }[] = [];
    const size = Math.round(WINDOW * RATE);
    for (let i = 0; i + size <= audio.length; i += size) {
      out.push({ at: zero + i / RATE, amplitude: toneAmplitude(audio, HZ[id] ?? 0, i, i + size) });
    }
    return out;
  };
  const speakers = await Promise.all(
    ROOMS[name].speakers.map(async (sp) => {
      const userId = userIds[sp.id] ?? '';
      // Recorded from the moment the bot stored the ✅, never before; not a moment after the ✅ was taken back.
      const consentAt = granted(userId);
      const withdrawAt = withdrew(sp.id);
      const talking: Span[] = sp.speakAt.map((t) => [t, t + CLIP]);
      const trackFile = recording.speakers.find((s) => s.userId === userId)?.trackFile;
      const track = trackFile === undefined ? null : await decode(trackFile);
      return { id: sp.id, consentAt, withdrawAt, talking, track };
    }),
  );

  /** Per up span, the seconds of `id`'s tone missing from `audio` while they talked, consenting, and a bot was up. */
  const lost = (audio: Float32Array, sp: (typeof speakers)[number]) => {
    const consenting: Span[] = sp.consentAt === undefined ? [] : [[sp.consentAt, sp.withdrawAt ?? Infinity]];
    // A word's first and last few ms are where the encoder's onset and the track's frame grid are.
    const saying = sp.talking.map(([a, b]) => [a + 0.03, b - 0.03] as const);
    const windows = heard(audio, sp.id).filter((w) => within(saying, w.at, w.at + WINDOW) && within(consenting, w.at, w.at + WINDOW));
    return up.map((span) => {
      const expected = windows.filter((w) => within([span], w.at, w.at + WINDOW));
      return {
        span,
        expected: expected.length * WINDOW,
        lost: expected.filter((w) => w.amplitude < HEARD).length * WINDOW,
      };
    });
  };
  /** Windows where `id` is heard in `audio` although they had not (or no longer) consented. */
  const unconsented = (audio: Float32Array, sp: (typeof speakers)[number]) =>
    heard(audio, sp.id).filter(
      (w) =>
        w.amplitude >= ABSENT &&
        (sp.consentAt === undefined ||
          w.at + WINDOW <= sp.consentAt ||
          (sp.withdrawAt !== undefined && w.at >= sp.withdrawAt + WITHDRAW_SLACK)),
    );
  return { room, zero, stop, up, mix, speakers, lost, unconsented, heard };
}

const describeWindow = (w: { at: number; amplitude: number }) => `${w.at.toFixed(2)} s (${w.amplitude.toFixed(3)})`;
const spanText = (span: Span) => `${span.map((t) => t.toFixed(2)).join('–')} s`;

async function listsCrashesAndStarts(name: RoomName): Promise<void> {
  const { session } = playedRoom(name);
  const onFile = JSON.parse(await readFile(session.resultFile, 'utf8')) as { bot: BotEvent[] };
  expect(onFile.bot).toEqual(session.result.bot);
  const scheduled = ROOMS[name].commands.flatMap((c) => ('bot' in c ? [c] : []));
  const listed = session.result.bot;
  expect(listed.slice(0, scheduled.length).map((e) => e.event)).toEqual(scheduled.map((c) => c.bot));
  scheduled.forEach((c, i) => {
    const e = listed[i];
    // Performed on the scenario clock, a timer's lateness apart (and a timer may fire a fraction of a ms early).
    expect(e?.at).toBeGreaterThanOrEqual(c.at - 0.005);
    expect(e?.at).toBeLessThan(c.at + 1);
    if (e?.event === 'crash') expect(e.exit).toBe('SIGKILL');
  });
  // Every start got going (a failed one says why, from the child's own report).
  expect(listed.filter((e) => e.error !== undefined)).toEqual([]);
  // A start is ready once the bot has logged in and resumed the room, unless the next crash came first.
  listed.forEach((e, i) => {
    if (e.event === 'start' && e.readyAt === undefined) expect(listed[i + 1]?.event, `the start at ${e.at} was never ready`).toBe('crash');
    if (e.readyAt !== undefined) expect(e.readyAt).toBeGreaterThan(e.at);
  });
  if (DIES_IN_MIX_AT[name] !== undefined) {
    // Nothing in the scenario killed it: the process died by itself, in the mix, after the stop.
    expect(listed.slice(scheduled.length)).toEqual([{ event: 'crash', at: expect.any(Number), exit: 'SIGKILL' }]);
    expect(listed.at(-1)?.at).toBeGreaterThan(11.5);
  } else expect(listed).toHaveLength(scheduled.length);
  expect(session.result.errors).toEqual([]);
}

const STATE_AT_END: Partial<Record<RoomName, string>> = { c: 'mixing', d: 'recording', e: 'recording' };

async function endsReady(name: RoomName): Promise<void> {
  const { room, zero, stop, mix } = await examine(name);
  expect(room.recording.state).toBe('ready');
  // Left by its last crash as resumable (mid-room or mid-mix), and made ready by the next bot on the data.
  expect(room.stateAtEnd).toBe(STATE_AT_END[name] ?? 'ready');
  expect(Math.abs(mix.length / RATE - (stop - zero))).toBeLessThan(0.1);
  if (name === 'b') {
    // The crash right after /record stop came before or after the bot had taken it in: either the stop was
    // finished from disk at its own time, or the room was resumed and stopped at the end.
    expect(stop < 28 || stop >= ROOMS.b.endAt).toBe(true);
  }
}

async function losesAtMostASecond(name: RoomName): Promise<void> {
  const { speakers, lost, mix, room } = await examine(name);
  const worst = { track: 0, mix: 0 };
  let checked = 0;
  for (const sp of speakers) {
    if (sp.consentAt === undefined) {
      expect(sp.track, `${sp.id} never consented: no track`).toBeNull();
      continue;
    }
    if (!sp.track) throw new Error(`${sp.id} consented and has no track`);
    const inTrack = lost(sp.track, sp);
    checked += inTrack.reduce((sum, s) => sum + s.expected, 0);
    const check = (spans: typeof inTrack, where: string, into: 'track' | 'mix') => {
      for (const s of spans) {
        worst[into] = Math.max(worst[into], s.lost);
        expect(s.lost, `${sp.id} ${where}, bot up ${spanText(s.span)}`).toBeLessThanOrEqual(1);
      }
    };
    check(inTrack, 'in their track', 'track');
    if (sp.withdrawAt === undefined) check(lost(mix, sp), 'in the mix', 'mix');
  }
  // Enough of what was said was checked for the figure to mean something, however slow the restarts were.
  expect(checked, 'seconds of speech checked in the tracks').toBeGreaterThan(1);
  const bot = room.session.result.bot
    .map((e) => `${e.event} ${e.at.toFixed(2)}${e.readyAt === undefined ? '' : ` (ready ${e.readyAt.toFixed(2)})`}`)
    .join(', ');
  console.log(
    `crash room ${name}: the most a speaker lost to one crash: ${worst.track.toFixed(2)} s of their track, ` +
      `${worst.mix.toFixed(2)} s of the mix; ${checked.toFixed(2)} s of speech checked; bot: ${bot}`,
  );
}

async function nobodyUnconsented(name: RoomName): Promise<void> {
  const { speakers, unconsented, heard, mix } = await examine(name);
  for (const sp of speakers) {
    expect(unconsented(mix, sp).map(describeWindow), `${sp.id} in the mix`).toEqual([]);
    if (sp.track) expect(unconsented(sp.track, sp).map(describeWindow), `${sp.id}'s track`).toEqual([]);
    if (sp.withdrawAt !== undefined) {
      const inMix = heard(mix, sp.id).filter((w) => w.amplitude >= ABSENT);
      expect(inMix.map(describeWindow), `${sp.id} withdrew: nowhere in the mix`).toEqual([]);
    }
  }
}

describe.each(['a', 'b', 'c', 'd', 'e'] as const)('crash room %s', (name) => {
  test('result.json lists every crash and restart with its scenario time', () => listsCrashesAndStarts(name));
  test('the recording ends ready (or resumable, and the next start makes it ready), its mix as long as it', () => endsReady(name));
  test('each speaker loses at most 1 s per crash, in their track and in the mix', () => losesAtMostASecond(name));
  test('nobody is heard before their consent or after their withdrawal; a withdrawn speaker is not in the mix', () =>
    nobodyUnconsented(name));
});
