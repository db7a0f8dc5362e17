// The bot process is killed (SIGKILL: no shutdown code runs) in the middle of a room and started again. The
// new process finds the recording in the store, rejoins, and the host's track continues on the same time
// base: words before and after the crash are where they were said, the downtime is silence.
//
// The bot runs in a child process against the stand-in in this one. The stand-in's voice server uses a
// self-signed loopback certificate that only this process trusts; the child is given that certificate
// (NODE_EXTRA_CA_CERTS) and verifies the voice server against it, as it would verify Discord.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { openStore } from '../../src/storage/store.ts';
import { silentLogger } from '../../src/log.ts';
import { startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import { speechFromPcm, tonePcm, type DiscordSim } from '../../discord-sim/index.ts';
import { decodeOggOpusFile, RATE, rms, toMono } from '../helpers/audio.ts';
import { until } from '../helpers/until.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
let dir: string;
let sim: DiscordSim;
const children = new Set<ChildProcess>();

const CHILD = `
import { createRequire } from 'node:module';
const { pino } = createRequire(${JSON.stringify(path.join(ROOT, 'package.json'))})('pino');
import { startBot } from ${JSON.stringify(path.join(ROOT, 'src', 'main.ts'))};
import { loadBotConfig } from ${JSON.stringify(path.join(ROOT, 'src', 'config.ts'))};
const log = pino({ level: 'info' }, pino.destination({ dest: process.env.BOT_LOG, sync: true, append: true }));
const config = loadBotConfig(process.env);
await startBot({ config, discordApi: process.env.SIM_API, httpPort: 0, log });
process.send?.('ready');
`;

async function startChild(sim: DiscordSim, dataDir = path.join(dir, 'data')): Promise<ChildProcess> {
  const script = path.join(dir, 'bot-child.mjs');
  await writeFile(script, CHILD);
  const caFile = path.join(dir, 'discord-sim-ca.pem');
  await writeFile(caFile, sim.caCertPem);
  // Verification stays on in the child whatever the parent's environment says.
  const { NODE_TLS_REJECT_UNAUTHORIZED: _never, ...parentEnv } = process.env;
  const child = fork(script, [], {
    cwd: ROOT,
    execPath: path.join(ROOT, 'node_modules', '.bin', 'node'),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...parentEnv,
      NODE_EXTRA_CA_CERTS: caFile,
      DISCORD_TOKEN: sim.token,
      LINK_SECRET: secret,
      DATA_DIR: dataDir,
      SIM_API: sim.restUrl,
      BOT_LOG: path.join(dir, 'bot.log'),
      NODE_NO_WARNINGS: '1',
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`bot child exited early (${code}); see ${path.join(dir, 'bot.log')}`)));
  });
  return child;
}

const secret = randomBytes(32).toString('hex');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-restart-'));
  sim = await startSimForBot({ users: [{ username: 'host', globalName: 'Host' }] });
}, 60_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
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
  sim.joinVoice(host);
  await sleep(100);
  sim.slash(host, 'record start');
  await until(() => sim.consentMessage() ?? undefined, 'the consent message', 15_000);
  sim.reactToConsent(host);
  await sleep(300);
  const beforeAt = sim.clock() + 200;
  await sim.speak(host, before, { at: beforeAt }).done;
  await sleep(300);

  bot.kill('SIGKILL');
  await new Promise((resolve) => bot.once('exit', resolve));
  const downAt = sim.clock();
  await sleep(1000);

  bot = await startChild(sim);
  const afterAt = sim.clock() + 300;
  await sim.speak(host, after, { at: afterAt }).done;
  await sleep(300);
  const dmsBefore = sim.dmsTo(host).length;
  sim.slash(host, 'record stop');
  const dm = await until(() => sim.dmsTo(host)[dmsBefore]?.content, 'the link DM', 15_000);
  expect(dm).toMatch(/\/r\//);
  bot.kill('SIGKILL');

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
  const log = await readFile(path.join(dir, 'bot.log'), 'utf8');
  expect(log).toContain('recording resumed after restart');
}, 60_000);

/** Amplitude of the `hz` component of `mono` over [from, to) (a single-bin DFT). */
function toneAmplitude(mono: Float32Array, hz: number, from: number, to: number): number {
  let re = 0;
  let im = 0;
  for (let i = from; i < to; i++) {
    re += mono[i]! * Math.cos((2 * Math.PI * hz * i) / RATE);
    im -= mono[i]! * Math.sin((2 * Math.PI * hz * i) / RATE);
  }
  return to > from ? (2 * Math.hypot(re, im)) / (to - from) : 0;
}

test('a speaker who removes their ✅ while the bot is down is not recorded after the crash, in any file', async () => {
  const discord = await startSimForBot({ users: [{ username: 'host', globalName: 'Host' }, { username: 'bob', globalName: 'Bob' }] });
  const dataDir = path.join(dir, 'data-withdrawn-while-down');
  try {
    const host = discord.userByName('host').id;
    const bob = discord.userByName('bob').id;
    const epochBase = Date.now() - performance.now();
    const BOB_HZ = 880;

    let bot = await startChild(discord, dataDir);
    discord.joinVoice(host);
    discord.joinVoice(bob);
    await sleep(100);
    discord.slash(host, 'record start');
    await until(() => discord.consentMessage() ?? undefined, 'the consent message', 15_000);
    discord.reactToConsent(host);
    discord.reactToConsent(bob);
    await sleep(300);
    await discord.speak(bob, speechFromPcm(tonePcm({ seconds: 1, frequency: BOB_HZ, amplitude: 0.4 })), { at: discord.clock() + 200 }).done;
    await sleep(1200); // his pages reach the disk

    bot.kill('SIGKILL');
    await new Promise((resolve) => bot.once('exit', resolve));
    const crashedAt = epochBase + discord.clock();
    // While the bot is away Bob takes his ✅ back (nobody tells the bot) and keeps talking, right through the
    // restart and after it: every packet the new process could hear.
    discord.withdrawConsent(bob);
    const bobTalks = discord.speak(bob, speechFromPcm(tonePcm({ seconds: 8, frequency: BOB_HZ, amplitude: 0.4 })), {
      at: discord.clock() + 100,
    });
    await sleep(300);
    const restartingAt = epochBase + discord.clock();
    bot = await startChild(discord, dataDir);
    await discord.speak(host, speechFromPcm(tonePcm({ seconds: 1, frequency: 440, amplitude: 0.4 })), { at: discord.clock() + 200 }).done;
    await bobTalks.done;
    await sleep(300);
    const dmsBefore = discord.dmsTo(host).length;
    discord.slash(host, 'record stop');
    await until(() => discord.dmsTo(host)[dmsBefore]?.content, 'the link DM', 15_000);
    bot.kill('SIGKILL');

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
