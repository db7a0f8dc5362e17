// The bot process is killed (SIGKILL: no shutdown code runs) in the middle of a room and started again. The
// new process finds the recording in the store, rejoins, and the host's track continues on the same time
// base: words before and after the crash are where they were said, the downtime is silence.
//
// The bot runs in a child process (scripts/demo/bot-process.ts) against the stand-in in this one. The stand-in's
// voice server uses a self-signed loopback certificate that only this process trusts; the child is given that
// certificate and verifies the voice server against it, as it would verify Discord.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { trackHasSound } from '../../src/recording/speaker-voice.ts';
import { createLayout } from '../../src/storage/layout.ts';
import type { MetaFile } from '../../src/storage/schema.ts';
import { openStore } from '../../src/storage/store.ts';
import { formatDuration } from '../../src/text/format.ts';
import { silentLogger } from '../../src/log.ts';
import { startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import { startBotProcess, type BotProcess } from '../../scripts/demo/bot-process.ts';
import { speechFromPcm, tonePcm, type DiscordSim } from '../../discord-sim/index.ts';
import { decodeOggOpusFile, RATE, rms, toMono, toneAmplitude } from '../helpers/audio.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { recordingOnDisk, untilOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let sim: DiscordSim;
const children = new Set<BotProcess>();
const secret = randomBytes(32).toString('hex');

/** Each data folder's bots log beside it: what one test reads is its own bots' log, whichever test ran first. */
const logOf = (dataDir: string) => `${dataDir}.log`;

async function startChild(sim: DiscordSim, dataDir = path.join(dir, 'data')): Promise<BotProcess> {
  const child = await startBotProcess({ sim, dataDir, logFile: logOf(dataDir), httpPort: 0, env: { LINK_SECRET: secret } });
  children.add(child);
  return child;
}

/** Epoch ms of the newest write under `dir`: no sign of life a crashed process left in a recording's folder is later. */
async function newestWrite(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(path.join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** A stand-in of its own with a host and Bob, and their ids. */
async function hostAndBob(): Promise<{ discord: DiscordSim; host: string; bob: string }> {
  const discord = await startSimForBot({
    users: [
      { username: 'host', globalName: 'Host' },
      { username: 'bob', globalName: 'Bob' },
    ],
  });
  return { discord, host: discord.userByName('host').id, bob: discord.userByName('bob').id };
}

/** Both join the room and the host starts recording it; resolves once the consent message is up. */
async function hostStartsWithBob(discord: DiscordSim, host: string, bob: string): Promise<void> {
  // The gateway delivers in order: the bot has both voice states before the interaction that follows them.
  discord.joinVoice(host);
  discord.joinVoice(bob);
  discord.slash(host, 'record start');
  await until(() => discord.consentMessage() ?? undefined, 'the consent message', 30_000);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-restart-'));
  sim = await startSimForBot({ users: [{ username: 'host', globalName: 'Host' }] });
}, 60_000);

afterAll(async () => {
  await Promise.all([...children].map((child) => child.crash()));
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a bot killed mid-room resumes the recording and the tracks stay aligned', async () => {
  const host = sim.userByName('host').id;
  // Two distinct, easily located sounds: one said before the crash, one after.
  const before = speechFromPcm(tonePcm({ seconds: 1, frequency: 440, amplitude: 0.4 }));
  const after = speechFromPcm(tonePcm({ seconds: 1, frequency: 660, amplitude: 0.4 }));
  const epochBase = Date.now() - performance.now(); // sim clock (performance.now) → epoch ms

  let bot = await startChild(sim);
  // The gateway delivers in order: the bot has the voice state before the interaction that follows it.
  sim.joinVoice(host);
  sim.slash(host, 'record start');
  await until(() => sim.consentMessage() ?? undefined, 'the consent message', 30_000);
  sim.reactToConsent(host);
  await untilListed(sim, ['Host'], 30_000);
  const onDisk = await recordingOnDisk(path.join(dir, 'data'));
  const hostTrack = await onDisk.trackOf(host);
  const soFar = (simMs: number) => (epochBase + simMs - onDisk.startedAt) / 1000;
  const beforeAt = sim.clock() + 200;
  await sim.speak(host, before, { at: beforeAt }).done;
  // Killed once the words are in its pages on disk (written at least once a second): what a crash keeps.
  await untilOnDisk(hostTrack, soFar(beforeAt) + 1, 'the words before the crash');

  await bot.crash();
  const downAt = sim.clock();

  // startBot resumes the recordings it finds before it reports ready: from then on the host is heard again.
  bot = await startChild(sim);
  // At least a second of downtime, whatever the restart took: the silence checked below is that long.
  const afterAt = Math.max(sim.clock(), downAt + 1000) + 300;
  await sim.speak(host, after, { at: afterAt }).done;
  await untilOnDisk(hostTrack, soFar(afterAt) + 1, 'the words after the restart');
  const dmsBefore = sim.dmsTo(host).length;
  sim.slash(host, 'record stop');
  const dm = await until(() => sim.dmsTo(host)[dmsBefore]?.content, 'the link DM', 30_000);
  expect(dm).toMatch(/\/r\//);
  await bot.crash();

  const store = await openStore({ dataDir: path.join(dir, 'data'), log: silentLogger() });
  try {
    const [recording] = await store.listRecordings();
    expect(recording?.state).toBe('ready');
    expect(recording?.speakers).toHaveLength(1);
    const track = toMono((await decodeOggOpusFile(store.layout.file(recording?.id ?? '', recording?.speakers[0]?.trackFile ?? ''))).pcm);
    const zero = recording?.startedAt ?? NaN;
    const position = (simMs: number) => (epochBase + simMs - zero) / 1000;

    for (const at of [position(beforeAt), position(afterAt)]) {
      // The tone starts where it was sent: silence just before, sound right after (20 ms tolerance each way).
      const start = Math.round(at * RATE);
      const tolerance = Math.round(0.02 * RATE);
      expect(rms(track, start - 10 * tolerance, start - tolerance)).toBeLessThan(1e-3);
      expect(rms(track, start + tolerance, start + 10 * tolerance)).toBeGreaterThan(0.1);
    }
    // The time the bot was down is silence of the right length, not collapsed.
    const down = Math.round(position(downAt) * RATE);
    expect(rms(track, down, down + RATE / 2)).toBeLessThan(1e-3);
    expect(track.length / RATE).toBeGreaterThan(position(afterAt) + 0.9);
  } finally {
    await store.close();
  }
  const log = await readFile(logOf(path.join(dir, 'data')), 'utf8');
  expect(log).toContain('recording resumed after restart');
}, 60_000);

test('a speaker who removes their ✅ while the bot is down is not recorded after the crash, in any file', async () => {
  const { discord, host, bob } = await hostAndBob();
  const dataDir = path.join(dir, 'data-withdrawn-while-down');
  try {
    const epochBase = Date.now() - performance.now();
    const BOB_HZ = 880;

    const tone = (seconds: number, frequency: number) => speechFromPcm(tonePcm({ seconds, frequency, amplitude: 0.4 }));

    let bot = await startChild(discord, dataDir);
    await hostStartsWithBob(discord, host, bob);
    discord.reactToConsent(host);
    await untilListed(discord, ['Host'], 30_000);
    discord.reactToConsent(bob);
    await untilListed(discord, ['Host', 'Bob'], 30_000);
    const onDisk = await recordingOnDisk(dataDir);
    const soFar = (simMs: number) => (epochBase + simMs - onDisk.startedAt) / 1000;
    const bobAt = discord.clock() + 200;
    await discord.speak(bob, tone(1, BOB_HZ), { at: bobAt }).done;
    await untilOnDisk(await onDisk.trackOf(bob), soFar(bobAt) + 1, "Bob's words before the crash");

    await bot.crash();
    const crashedAt = epochBase + discord.clock();
    // While the bot is away Bob takes his ✅ back (nobody tells the bot) and keeps talking, right through the
    // restart and after it: every packet the new process could hear.
    discord.withdrawConsent(bob);
    const bobTalks = discord.speak(bob, tone(8, BOB_HZ), { at: discord.clock() + 100 });
    // The restart begins after the old process's last sign of life (which is no later than its newest write in
    // the recording's folder), on the wall clock both processes stamp with: a stamp taken by the new process
    // comes after it.
    const lastWrite = await newestWrite(path.join(dataDir, 'recordings', onDisk.id));
    await until(() => (Date.now() > Math.ceil(lastWrite) ? true : undefined), "the wall clock past the old process's last write");
    const restartingAt = Date.now();
    bot = await startChild(discord, dataDir);
    await discord.speak(host, tone(1, 440), { at: discord.clock() + 200 }).done;
    await bobTalks.done;
    // More of Bob, certainly after the restart however long it took, then a last word of the host's: once that
    // is on disk, the new process has had every packet of Bob's (one socket, in order) and kept none.
    const bobAgain = discord.speak(bob, tone(1, BOB_HZ), { at: discord.clock() + 100 });
    await bobAgain.done;
    expect(
      bobAgain.frames.every((f) => f.arrivals.length > 0),
      'Bob sent to the new process',
    ).toBe(true);
    const lastAt = discord.clock() + 100;
    await discord.speak(host, tone(0.3, 440), { at: lastAt }).done;
    await untilOnDisk(await onDisk.trackOf(host), soFar(lastAt) + 0.3, "the host's last word");
    const dmsBefore = discord.dmsTo(host).length;
    discord.slash(host, 'record stop');
    await until(() => discord.dmsTo(host)[dmsBefore]?.content, 'the link DM', 30_000);
    await bot.crash();

    const store = await openStore({ dataDir, log: silentLogger() });
    try {
      const [recording] = await store.listRecordings();
      if (!recording) throw new Error('no recording');
      expect(recording.state).toBe('ready');
      const bobMeta = recording.speakers.find((s) => s.userId === bob);
      expect(bobMeta?.includeInMix).toBe(false);
      const events = await store.consentEvents(recording.id);
      expect(events.filter((e) => e.userId === bob).map((e) => e.event)).toEqual(['granted', 'withdrawn']);

      const crash = Math.round(((crashedAt - recording.startedAt) / 1000) * RATE);
      const files = [
        ...recording.speakers.map((s) => store.layout.file(recording.id, s.trackFile)),
        store.layout.file(recording.id, recording.mix?.file ?? 'missing'),
      ];
      const window = RATE / 10;
      for (const file of files) {
        const audio = toMono((await decodeOggOpusFile(file)).pcm);
        // Not one 100 ms window after the crash carries Bob's voice.
        for (let at = crash; at + window <= audio.length; at += window) {
          expect(toneAmplitude(audio, BOB_HZ, at, at + window), `${path.basename(file)} at ${(at / RATE).toFixed(1)} s`).toBeLessThan(0.01);
        }
      }
      const bobTrack = toMono((await decodeOggOpusFile(store.layout.file(recording.id, bobMeta?.trackFile ?? ''))).pcm);
      // His track keeps what he said while he consented and ends where the withdrawal is stamped.
      expect(rms(bobTrack, 0, Math.min(crash, bobTrack.length))).toBeGreaterThan(0.05);
      expect(bobTrack.length).toBeLessThan(crash + RATE / 10);
      // Stamped at the last sign of life of the old process, not when the new one noticed.
      expect(bobMeta?.withdrawnAt).toBeLessThanOrEqual(crashedAt + 50);
      expect(bobMeta?.withdrawnAt).toBeLessThan(restartingAt);
    } finally {
      await store.close();
    }
  } finally {
    await discord.close();
  }
}, 60_000);

test("a room finished from disk after a restart DMs its speaker that they were recorded, after the host's link", async () => {
  const { discord, host, bob } = await hostAndBob();
  const dataDir = path.join(dir, 'data-speaker-told');
  try {
    const bot = await startChild(discord, dataDir);
    await hostStartsWithBob(discord, host, bob);
    discord.reactToConsent(bob);
    await untilListed(discord, ['Bob'], 30_000);
    await discord.speak(bob, speechFromPcm(tonePcm({ seconds: 0.6, frequency: 440, amplitude: 0.4 })), { at: discord.clock() + 200 }).done;
    const onDisk = await recordingOnDisk(dataDir);
    const track = await onDisk.trackOf(bob);
    await until(async () => ((await trackHasSound(track).catch(() => false)) ? true : undefined), "Bob's words on disk", 30_000);

    await bot.crash();
    // While the bot is down the consent message goes: the next process cannot resume the room, and finishes it.
    const consent = discord.consentMessage();
    if (consent) discord.world.deleteMessage(consent);
    await startChild(discord, dataDir);

    const notice = await until(() => discord.dmsTo(bob)[0], "Bob's DM", 30_000);
    const link = discord.dmsTo(host).find((m) => m.content.includes('/r/'));
    expect(BigInt(notice.id)).toBeGreaterThan(BigInt(link?.id ?? Infinity));
    const meta = JSON.parse(await readFile(createLayout(dataDir).metaFile(onDisk.id), 'utf8')) as MetaFile;
    expect([meta.recording.state, meta.recording.stopReason]).toEqual(['ready', 'interrupted']);
    const grantedAt = meta.consentEvents.find((e) => e.userId === bob)?.at ?? NaN;
    expect(notice.content).toContain(`You were recorded for ${formatDuration((meta.recording.stoppedAt ?? NaN) - grantedAt)} in`);
    expect(notice.content).toContain(`\`my track ${onDisk.id}\``);
    expect(discord.dmsTo(bob)).toHaveLength(1);
  } finally {
    await discord.close();
  }
}, 90_000);
