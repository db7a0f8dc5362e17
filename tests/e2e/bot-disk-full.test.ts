// A disk that fills while a room records, then has room again: the real bot against the stand-in, with the
// tracks' file-system write failing with ENOSPC for a while (the write is injected: no real disk is filled).
// The host is told in the room at once and again when recording resumes; what was recorded stays; what came
// past the few seconds kept in memory is silence; the mix is made and the DM says what was lost. And
// `/record start` on a nearly full disk: refused, or warned.
import { mkdtemp } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writeAll } from '../../src/audio/write-all.ts';
import { silentLogger } from '../../src/log.ts';
import { getVoiceConnection } from '@discordjs/voice';
import { speechFromPcm, tonePcm, type SentFrame } from '../../discord-sim/index.ts';
import { startBotAgainst, startSimForBot, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { decodeOggOpusFile, firstOnset, RATE, rms, toMono } from '../helpers/audio.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { secondsOnDisk, untilOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';
import { expectPlacedAsSent, tapArrivals } from '../helpers/words-sent.ts';

const MB = 1024 * 1024;
/** What the track writer holds in memory while the disk is full (its diskFullBufferMs, default). */
const BUFFER_S = 5;
let dir: string;
let env: BotInSim;
let hana = '';
/** What `/record start` reads as free, and whether the tracks' writes fail for a full disk. */
const disk = { freeBytes: 10_000 * MB, full: false };

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-disk-full-'));
  const sim = await startSimForBot({ users: [{ username: 'hana', globalName: 'Hana' }] });
  const bot = await startBotAgainst(sim, {
    dataDir: dir,
    log: silentLogger(),
    // The default threshold, which the demo and other tests turn off.
    env: { MIN_FREE_DISK_MB: '500' },
    startBot: {
      freeDiskBytes: () => Promise.resolve(disk.freeBytes),
      trackWrite: async (fh: FileHandle, data: Uint8Array, position: number) => {
        if (disk.full) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        await writeAll(fh, data, position);
      },
    },
  });
  env = { sim, bot, ownsSim: true };
  hana = sim.userByName('hana').id;
  await joinAndSeen(env, hana);
}, 60_000);

afterAll(async () => {
  await closeBotInSim(env, dir);
});

async function slash(text: string): Promise<string> {
  const record = env.sim.slash(hana, text);
  // A start joins voice and the encryption group first: on a loaded machine that alone has taken over 10 s.
  return until(() => answersTo(env.sim, record).at(-1), `an answer to /${text}`, 30_000);
}

const roomChat = () => env.sim.messagesIn(env.sim.voiceChannelId).map((m) => m.content);
const tone = (seconds: number, frequency: number) => speechFromPcm(tonePcm({ seconds, frequency, amplitude: 0.4 }));

/** Hana says a tone after a second's pause; resolves with when it was to begin (sim clock) and its frames once its last packet is out. */
async function say(seconds: number, frequency: number): Promise<{ at: number; frames: SentFrame[] }> {
  const at = env.sim.clock() + 1000;
  const words = env.sim.speak(hana, tone(seconds, frequency), { at });
  await words.done;
  return { at, frames: words.frames };
}

describe('the disk fills while a room records', () => {
  test('below MIN_FREE_DISK_MB the start is refused, and nothing is posted in the room', async () => {
    disk.freeBytes = 120 * MB;
    const before = roomChat().length;
    expect(await slash('record start')).toMatch(/can't start recording: the bot's disk has only 120 MB free, below the 500 MB/);
    expect(env.bot.rooms.current(env.sim.guildId)).toBeUndefined();
    expect(roomChat().length).toBe(before);
  });

  test('told in the room, resumed by itself, the lost stretch silent and the rest aligned, a mix, and the DM says so', async () => {
    disk.freeBytes = 700 * MB;
    expect(await slash('record start')).toMatch(/Recording <#\d+>[^]*only 700 MB free/);
    env.sim.reactToConsent(hana);
    // Listed once her track is open: a disk that fills before that would be a full disk at her consent, not this case.
    await untilListed(env.sim, ['Hana']);
    await env.sim.dave.settled();
    const connection = getVoiceConnection(env.sim.guildId);
    if (!connection) throw new Error('the bot has no voice connection');
    // When the bot took each tone in: later than the stand-in sent it on a starved machine (see tapArrivals).
    const bot = tapArrivals(connection);
    const id = (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';

    const a = await say(1, 440);
    // The disk fills once the first tone is on disk. The writer then keeps the next BUFFER_S of track in memory,
    // counted from the end of what is on disk, silence included: measured here, not assumed, since how long the
    // first tone takes to reach the disk depends on how busy the machine is.
    const stored = await env.bot.store.getRecording(id);
    const track = env.bot.store.layout.file(id, stored?.speakers[0]?.trackFile ?? 'no track');
    const toTrackSeconds = (simMs: number) => (performance.timeOrigin + simMs - (stored?.startedAt ?? NaN)) / 1000;
    await untilOnDisk(track, toTrackSeconds(bot.heardAt(a.frames) + 1000) - 0.1, 'the first tone');
    disk.full = true;
    const keptUntilS = (await secondsOnDisk(track)) + BUFFER_S;
    // 9 s on a full disk: its first seconds wait in memory, the rest becomes silence.
    const b = await say(9, 660);
    await until(
      () => (roomChat().some((m) => m.includes(`<@${hana}>, the disk is full: recording is paused`)) ? true : undefined),
      'the disk-full notice',
    );
    disk.full = false;
    await until(() => (roomChat().some((m) => m.includes('There is room on the disk again')) ? true : undefined), 'the resumed notice');
    const c = await say(1, 880);

    const dmsBefore = env.sim.dmsTo(hana).length;
    await slash('record stop');
    const dm = await until(() => env.sim.dmsTo(hana)[dmsBefore]?.content, 'the link DM');
    // A mix that is not done a few seconds after the stop (a busy machine) sends the link first, and a second DM
    // once it is ready: either way the link DM says what was lost.
    expect(dm).toMatch(/is ready|The mix is still being prepared/);
    expect(dm).toMatch(/Part of the recording was lost to a full disk: \d+:\d\d–\d+:\d\d \(from its start\)/);
    if (!/is ready/.test(dm))
      await until(() => env.sim.dmsTo(hana)[dmsBefore + 1]?.content.match(/The mix of .* is ready/)?.[0], 'the mix-ready DM');
    const recording = await until(async () => {
      const r = await env.bot.store.getRecording(id);
      return r?.state === 'ready' ? r : undefined;
    }, 'the recording to be ready');

    // The track and the mix, each: where each tone was said relative to the first (placed as the bot took it in),
    // between its schedule and when the bot took it in.
    const heard = (words: { frames: SentFrame[] }) => bot.heardAt(words.frames);
    for (const file of [track, env.bot.store.layout.mixFile(recording.id, 'ogg')]) {
      const mono = toMono((await decodeOggOpusFile(file)).pcm);
      const onset = (fromMs: number): number => (firstOnset(mono, 0.01, Math.round(fromMs * 48)) ?? NaN) / 48;
      const zero = onset(0);
      const placed = (words: { at: number; frames: SentFrame[] }, label: string) => {
        const at = onset(zero + words.at - heard(a) - 200);
        expectPlacedAsSent((at - zero) / 1000, (words.at - heard(a)) / 1000, (heard(words) - heard(a)) / 1000, label);
        return at;
      };
      const bAt = placed(b, 'the second tone');
      const pos = (plus: number) => Math.round((bAt + plus) * 48);
      // What came while the disk was full: its first seconds kept, the rest (past what memory holds) silence. The
      // track's timeline is the recording's, so is the mix's. Left out at the edge: a frame before it, and 100 ms
      // after it, where the decoder's output still fades out of the last kept frame (a few millionths, measured).
      const keptUntil = Math.round(keptUntilS * RATE);
      expect(keptUntil - pos(100), 'the full disk kept some of the second tone').toBeGreaterThan(RATE / 2);
      expect(rms(mono, pos(100), Math.min(pos(2000), keptUntil - RATE / 50))).toBeGreaterThan(0.05);
      expect(rms(mono, keptUntil + RATE / 10, pos(8800))).toBe(0);
      placed(c, 'the third tone');
    }
  }, 90_000);
});
