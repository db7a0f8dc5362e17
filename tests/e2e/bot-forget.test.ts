// "Forget me" with the real bot against the local Discord stand-in: a speaker DMs `forget <id>` after the room
// stopped; their track answers 410 under the host's old link, the mix that link serves no longer holds their
// voice (by correlation with what they said), the host is told without being told who, and nothing of theirs is
// left in the data folder but the receipt's line. Also while the mix is being made, after a restart in the middle
// of one, twenty requests at once, and a stranger's requests (which change nothing).
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { speechFromPcm, tonePcm, type Pcm } from '../../discord-sim/index.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { mixTracks, type MixOptions } from '../../src/audio/mixer.ts';
import { silentLogger } from '../../src/log.ts';
import { closeBotInSim, joinAndSeen, startBotWithPeople } from '../helpers/bot-env.ts';
import { decodeOggOpusFile, firstOnset, locate, noise, RATE, rms, toMono } from '../helpers/audio.ts';
import { call } from '../helpers/http-call.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { untilOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let ids: Record<string, string> = {};

afterEach(() => closeBotInSim(env, dir));

const PEOPLE = ['Hana', 'Ivan', 'Xena'];
const id = (user: string) => ids[user] ?? '';

/** Ivan's words: noise, whose shape nothing else in the room has (correlation finds it, or finds nothing). */
const IVAN_SAYS = noise(1500, 0.3, 7);
const ivanMono = toMono(IVAN_SAYS);

function pcmOf(interleaved: Int16Array): Pcm {
  const mono = toMono(interleaved);
  return { sampleRate: RATE, channels: [mono, mono] };
}

async function start(options: Parameters<typeof startBotWithPeople>[2] = {}): Promise<void> {
  ({ dir, env, ids } = await startBotWithPeople('roomrec-e2e-forget-', PEOPLE, options));
}

/** DMs `text` as `user` and resolves with the bot's next answer to them. */
async function dm(user: string, text: string): Promise<string> {
  const before = env.sim.dmsTo(id(user)).length;
  env.sim.sendDm(id(user), text);
  return until(() => env.sim.dmsTo(id(user))[before]?.content, `an answer to "${text}"`, 30_000);
}

/**
 * Hana hosts, Hana and Ivan opt in; Hana says a tone, then Ivan his words; Hana stops. Resolves with the
 * recording's id and the host's link once the link DM is out.
 */
async function recordedRoom(): Promise<{ recordingId: string; link: string }> {
  for (const user of ['hana', 'ivan']) await joinAndSeen(env, id(user));
  env.sim.slash(id('hana'), 'record start');
  await until(() => env.sim.consentMessage() ?? undefined, 'the consent message', 30_000);
  env.sim.reactToConsent(id('hana'));
  env.sim.reactToConsent(id('ivan'));
  await untilListed(env.sim, ['Hana', 'Ivan'], 30_000);
  const recording = await until(() => env.bot.store.activeRecordingForGuild(env.sim.guildId), 'the recording');
  await env.sim.speak(id('hana'), speechFromPcm(tonePcm({ seconds: 1, frequency: 440, amplitude: 0.3 })), { at: env.sim.clock() + 100 })
    .done;
  await env.sim.speak(id('ivan'), speechFromPcm(pcmOf(IVAN_SAYS)), { at: env.sim.clock() + 300 }).done;
  const stored = await env.bot.store.getRecording(recording.id);
  const ivanTrack = env.bot.store.layout.file(recording.id, stored?.speakers.find((s) => s.userId === id('ivan'))?.trackFile ?? '');
  await untilOnDisk(ivanTrack, (Date.now() - recording.startedAt) / 1000 - 1, "Ivan's words");
  const dmsBefore = env.sim.dmsTo(id('hana')).length;
  env.sim.slash(id('hana'), 'record stop');
  const linkDm = await until(() => env.sim.dmsTo(id('hana'))[dmsBefore]?.content, 'the link DM', 30_000);
  const link = /(http:\/\/\S+\/r\/[A-Za-z0-9_-]+)/.exec(linkDm)?.[1] ?? '';
  return { recordingId: recording.id, link };
}

async function untilReady(recordingId: string): Promise<void> {
  await until(
    async () => ((await env.bot.store.getRecording(recordingId))?.state === 'ready' ? true : undefined),
    'the recording ready',
    30_000,
  );
  await env.bot.background.idle();
}

/** A bot of its own, and its recording of Hana and Ivan, ready (the levelled mix made too). */
async function readyRoom(): Promise<{ recordingId: string; link: string }> {
  await start();
  const room = await recordedRoom();
  await untilReady(room.recordingId);
  return room;
}

/** Where Ivan's words are (seconds into the recording), found in his own track. */
async function whereIvanSpoke(recordingId: string): Promise<number> {
  const recording = await env.bot.store.getRecording(recordingId);
  const track = recording?.speakers.find((s) => s.userId === id('ivan'))?.trackFile ?? '';
  const mono = toMono((await decodeOggOpusFile(env.bot.store.layout.file(recordingId, track))).pcm);
  const onset = firstOnset(mono) ?? NaN;
  return locate(mono, ivanMono, onset / RATE, 100).seconds;
}

const get = (link: string, rest: string) => {
  const url = new URL(`${link}/${rest}`);
  return call(Number(url.port), url.pathname);
};

/** How well Ivan's words match `file`'s audio where he said them (1: his voice is there as sent). */
async function ivanIn(file: string, at: number): Promise<number> {
  const mono = toMono((await decodeOggOpusFile(file)).pcm);
  return locate(mono, ivanMono, at, 100).correlation;
}

/** Every file under the data folder, with its bytes. */
async function everyFile(root: string): Promise<{ file: string; bytes: Buffer }[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  return Promise.all(files.map(async (file) => ({ file, bytes: await readFile(file) })));
}

/** Nothing of Ivan's in the data folder: not his user id, not his name, not his voice in any audio file. */
async function expectIvanGone(at: number): Promise<void> {
  const files = await everyFile(dir);
  for (const { file, bytes } of files) {
    for (const needle of [id('ivan'), 'Ivan', 'ivan']) expect(bytes.includes(needle), `${needle} in ${file}`).toBe(false);
  }
  const audio = files.filter(({ file }) => /\.(ogg|mp3|flac|wav)$/.test(file));
  // Made on request and cleared by the forget: only Ogg Opus files (the tracks and the mixes) are left.
  expect(audio.every(({ file }) => file.endsWith('.ogg'))).toBe(true);
  expect(audio.length).toBeGreaterThan(0);
  for (const { file } of audio) expect(await ivanIn(file, at), file).toBeLessThan(0.2);
}

/** Ivan is out of the recording's metadata (track 2 forgotten, nothing pending, a mix of Hana) and of the data folder. */
async function expectForgotten(recordingId: string, at: number): Promise<void> {
  const recording = await env.bot.store.getRecording(recordingId);
  expect(recording?.speakers.map((s) => s.userId)).toEqual([id('hana')]);
  expect(recording?.forgotten?.map((f) => f.track)).toEqual([2]);
  expect(recording?.forgetting).toBeUndefined();
  expect(recording?.mix).toBeDefined();
  await env.bot.background.idle();
  await expectIvanGone(at);
}

test('a speaker forgets a recording after its stop: 410 for their track, the mix under the old link without them, the host told, nothing left of them', async () => {
  const { recordingId, link } = await readyRoom();
  const at = await whereIvanSpoke(recordingId);
  const before = await env.bot.store.getRecording(recordingId);
  const mixPath = env.bot.store.layout.file(recordingId, before?.mix?.file ?? 'mix.ogg');
  expect(await ivanIn(mixPath, at), 'Ivan in the mix before').toBeGreaterThan(0.5);
  expect((await get(link, 'tracks/2')).status).toBe(200);
  // A format made before the forget, which must go with it.
  await until(async () => ((await get(link, 'mix.flac')).status === 200 ? true : undefined), 'the FLAC mix', 60_000);

  const hostDms = env.sim.dmsTo(id('hana')).length;
  expect(await dm('ivan', `forget ${recordingId}`)).toMatch(/^Done: your track in `\w+` is deleted/);

  expect((await get(link, 'tracks/2')).status).toBe(410);
  expect((await get(link, 'tracks/2.flac')).status).toBe(410);
  // Hana's track keeps its number.
  expect((await get(link, 'tracks/1')).status).toBe(200);
  const mix = await get(link, 'mix');
  expect(mix.status).toBe(200);
  const served = path.join(`${dir}-served.ogg`);
  await writeFile(served, mix.body);
  try {
    expect(await ivanIn(served, at), 'Ivan in the mix the old link serves').toBeLessThan(0.2);
    const hana = toMono((await decodeOggOpusFile(served)).pcm);
    expect(rms(hana), 'Hana still in the mix').toBeGreaterThan(0.01);
  } finally {
    await rm(served, { force: true });
  }

  const told = await until(() => env.sim.dmsTo(id('hana'))[hostDms]?.content, 'the host told', 30_000);
  expect(told).toMatch(/a speaker asked to be removed/);
  expect(told).not.toMatch(/Ivan|ivan/);
  expect(told).not.toContain(id('ivan'));

  const receipt = await readFile(env.bot.store.layout.receiptFile(recordingId), 'utf8');
  expect(receipt).toMatch(/forgotten {2}a speaker's track removed at the speaker's request/);
  const events = await env.bot.store.consentEvents(recordingId);
  expect(events.filter((e) => e.event === 'forgotten')).toHaveLength(1);
  expect((await get(link, 'receipt.txt')).body.toString()).toContain("removed at the speaker's request");
  await expectIvanGone(at);
}, 120_000);

test('a forget while the mix is being made waits for it, then removes them', async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => (release = resolve));
  let calls = 0;
  const mix = async (opts: MixOptions) => {
    if (calls++ === 0) await gate;
    return mixTracks(opts);
  };
  await start({ startBot: { mix } });
  const { recordingId, link } = await recordedRoom();
  expect((await env.bot.store.getRecording(recordingId))?.state).toBe('mixing');
  expect(await dm('ivan', `forget ${recordingId}`)).toMatch(/still being prepared/);
  // From the request on, the old link no longer serves their track.
  expect((await get(link, 'tracks/2')).status).toBe(410);
  const at = await whereIvanSpoke(recordingId);
  release();
  // The host is told last, once everything (the database's compaction too) is done.
  await until(
    () => (env.sim.dmsTo(id('hana')).some((m) => m.content.includes('a speaker asked to be removed')) ? true : undefined),
    'the removal done and the host told',
    60_000,
  );
  await expectForgotten(recordingId, at);
}, 120_000);

test('a restart in the middle of a forget finishes it at start-up', async () => {
  const { recordingId } = await readyRoom();
  const at = await whereIvanSpoke(recordingId);
  // As a process that died after storing the request and deleting the mix would leave it.
  const requested = await env.bot.store.updateRecording(recordingId, (r) => ({
    ...r,
    forgetting: [{ userId: id('ivan'), requestedAt: Date.now() }],
  }));
  await rm(env.bot.store.layout.file(recordingId, requested.mix?.file ?? ''), { force: true });
  await env.bot.stop();
  env = await startBotInSim({ dataDir: dir, existingSim: env.sim, log: silentLogger() });
  await expectForgotten(recordingId, at);
}, 120_000);

test("twenty forgets at once remove them once; a stranger's and an unknown id change nothing and get the same answer", async () => {
  const { recordingId } = await readyRoom();
  const before = await env.bot.store.getRecording(recordingId);
  const layoutFiles = async () => (await everyFile(path.join(dir, 'recordings'))).map((f) => `${f.file}:${f.bytes.length}`).sort();
  const filesBefore = await layoutFiles();

  const stranger = await dm('xena', `forget ${recordingId}`);
  expect(stranger).toBe(`I have no recording \`${recordingId}\` with your voice in it.`);
  expect(await dm('xena', 'forget zzzzzzzzzz')).toBe('I have no recording `zzzzzzzzzz` with your voice in it.');
  expect(await dm('xena', 'forget')).toBe('I have no recording with your voice in it.');
  expect(await dm('xena', 'forget all')).toBe('I have no recording with your voice in it.');
  expect(stranger).not.toMatch(/Hana|Ivan/);
  expect(await env.bot.store.getRecording(recordingId)).toEqual(before);
  expect(await layoutFiles()).toEqual(filesBefore);

  // `forget all` asks first; nothing changes until it is confirmed.
  expect(await dm('ivan', 'forget all')).toMatch(/DM me `forget all confirm` within 5 minutes/);
  expect(await env.bot.store.getRecording(recordingId)).toEqual(before);

  const hostDms = env.sim.dmsTo(id('hana')).length;
  const ivanDms = env.sim.dmsTo(id('ivan')).length;
  for (let i = 0; i < 20; i++) env.sim.sendDm(id('ivan'), `forget ${recordingId}`);
  const answers = await until(
    () => {
      const got = env.sim.dmsTo(id('ivan')).slice(ivanDms);
      return got.length === 20 ? got.map((m) => m.content) : undefined;
    },
    'twenty answers',
    60_000,
  );
  expect(answers.filter((a) => a.startsWith('Done:'))).toHaveLength(1);
  for (const answer of answers.filter((a) => !a.startsWith('Done:'))) {
    expect(answer).toMatch(/already under way|^I have no recording `\w+` with your voice in it\.$/);
  }
  const after = await env.bot.store.getRecording(recordingId);
  expect(after?.forgotten).toHaveLength(1);
  expect((await env.bot.store.consentEvents(recordingId)).filter((e) => e.event === 'forgotten')).toHaveLength(1);
  await until(() => (env.sim.dmsTo(id('hana')).length > hostDms ? true : undefined), 'the host told');
  expect(env.sim.dmsTo(id('hana')).slice(hostDms)).toHaveLength(1);
}, 120_000);
