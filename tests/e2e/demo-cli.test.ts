// `npm run demo -- --scenario FILE --out DIR [--hold]` as a user runs it: a child process, the contract's
// result.json, exit codes, and the download server held open until SIGINT.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { tracksOnDisk, withStoredStats } from '../../scripts/demo/tracks-on-disk.ts';
import { decodeOggOpusFile, encodeOpusFrames, rms, tone, toMono } from '../helpers/audio.ts';
import { readRpp } from '../helpers/project-files.ts';
import { until } from '../helpers/until.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-demo-'));
  for (const name of ['alice', 'bob']) await copyFile(path.join(ROOT, 'scripts', 'demo', `${name}.wav`), path.join(dir, `${name}.wav`));
});
const leftovers: string[] = [];
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  for (const d of leftovers) await rm(d, { recursive: true, force: true });
});

async function writeScenario(name: string, scenario: object): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, JSON.stringify(scenario));
  return file;
}

/** Resolves with the first match of `pattern` in what `read` returns, failing after `timeoutMs` with what was read. */
async function waitFor(read: () => string, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  try {
    return await until(() => pattern.exec(read()) ?? undefined, String(pattern), timeoutMs);
  } catch (error) {
    throw new Error(`${(error as Error).message} in:\n${read()}`, { cause: error });
  }
}

function demo(args: string[]) {
  const child = spawn(NODE, ['scripts/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, out: () => stdout, err: () => stderr };
}

test('a bad scenario file: non-zero exit, every problem named, nothing written', async () => {
  const file = await writeScenario('bad.json', { name: 'x', host: 'nobody', speakers: [{ id: 'a', audio: 'a.mp3' }], endAt: 5 });
  const run = demo(['--scenario', file, '--out', path.join(dir, 'bad-out')]);
  expect(await run.exit).toBe(2);
  expect(run.err()).toContain('speakers[0].audio');
  expect(run.err()).toContain('host');
  expect(existsSync(path.join(dir, 'bad-out', 'result.json'))).toBe(false);
});

test('a scenario file: result.json as the contract says, link served with --hold until SIGINT, exit 0', async () => {
  const file = await writeScenario('short.json', {
    name: 'short',
    host: 'alice',
    speakers: [
      { id: 'alice', name: 'Alice', audio: 'alice.wav', joinAt: 0, consentAt: 1.0, speakAt: [1.5] },
      { id: 'bob', name: 'Bob', audio: 'bob.wav', joinAt: 0, speakAt: [2.0] },
    ],
    commands: [
      { at: 0.5, user: 'alice', slash: 'record start' },
      { at: 2.5, user: 'alice', slash: 'note Intro done' },
      { at: 4.0, user: 'alice', slash: 'record stop' },
    ],
    endAt: 5.5,
  });
  const out = path.join(dir, 'out');
  const run = demo(['--scenario', file, '--out', out, '--hold']);
  const resultFile = path.join(out, 'result.json');
  // Printed once result.json is in place (written whole) and the process waits for SIGINT.
  await waitFor(run.out, /Serving downloads/, 30_000);
  const result = JSON.parse(await readFile(resultFile, 'utf8')) as Record<string, unknown> & {
    tracks: { speaker: string; path: string; stats?: Record<string, number> }[];
    e2ee: { protocol: string; version: number; privacyCode: string; transitions: number } | null;
    dms: { to: string; links: string[] }[];
    downloadUrl: string;
    mix: string;
    notes: { at: number; by: string; text: string }[];
    offers: { kind: string; format: string; speaker?: string; levelled?: boolean; url: string }[];
  };
  for (const field of [
    'recordingId',
    'recordingStartedAt',
    'recordingStoppedAt',
    'mix',
    'tracks',
    'consent',
    'dms',
    'downloadUrl',
    'exitReason',
  ]) {
    expect(result, field).toHaveProperty(field);
  }
  expect(result.exitReason).toBe('completed');
  expect(result.tracks.map((t) => t.speaker)).toEqual(['alice']);
  expect(existsSync(result.mix)).toBe(true);
  expect(result.dms[0]?.links[0]).toBe(result.downloadUrl);
  expect(result.recordingStartedAt).toBeGreaterThan(0.5);
  expect(result.recordingStoppedAt).toBeGreaterThanOrEqual(4.0);
  expect(Object.keys(result.tracks[0]?.stats ?? {}).sort()).toEqual([
    'duplicate',
    'late',
    'lost',
    'received',
    'silenceFilledSeconds',
    'undecryptable',
  ]);
  expect(result.tracks[0]?.stats?.received).toBeGreaterThan(0);
  // The stand-in speaks DAVE, as Discord does; the demo prints the code people compare, as the room starts.
  expect(result.e2ee).toMatchObject({ protocol: 'dave', version: 1, privacyCode: expect.stringMatching(/^\d{30}$/) });
  const printed = /voice privacy code: ((?:\d{5} ){5}\d{5})/.exec(run.out())?.[1];
  expect(printed).toBeDefined();
  // Printed at the start; result.json has the latest, the same unless the group changed meanwhile.
  if (result.e2ee?.transitions === 0) expect(printed?.replaceAll(' ', '')).toBe(result.e2ee.privacyCode);

  // Held: the link keeps working after the scenario ended, until SIGINT.
  expect((await fetch(result.downloadUrl)).status).toBe(200);
  // Every file the page offers, each served at its URL; the note's chapter starts where result.json has the note.
  expect(result.notes).toEqual([{ at: expect.any(Number), by: 'alice', text: 'Intro done' }]);
  // MIX_LEVELLING is on by default: the plain mix and the levelled one, told apart by `levelled`, each in every format.
  expect(result.offers.map(({ kind, format, speaker, levelled }) => [kind, format, speaker ?? levelled])).toEqual([
    ['mix', 'ogg', false],
    ['mix', 'mp3', false],
    ['mix', 'flac', false],
    ['mix', 'wav', false],
    ['mix', 'ogg', true],
    ['mix', 'mp3', true],
    ['mix', 'flac', true],
    ['mix', 'wav', true],
    ['track', 'ogg', 'alice'],
    ['track', 'mp3', 'alice'],
    ['track', 'flac', 'alice'],
    ['track', 'wav', 'alice'],
    ['zip', 'zip', undefined],
    ['zip', 'flac', undefined],
    ['zip', 'wav', undefined],
    ['zip', 'mp3', undefined],
    ['chapters', 'audacity-labels', undefined],
    ['chapters', 'webvtt', undefined],
    ['chapters', 'podcast-chapters', undefined],
    ['project', 'audacity', undefined],
    ['project', 'reaper', undefined],
  ]);
  for (const offer of result.offers) {
    expect(offer.url.startsWith(`${result.downloadUrl}/`)).toBe(true);
    // The other formats are made on request: until then their URL answers 202 with its progress.
    const onRequest = !['ogg', 'zip'].includes(offer.format) && (offer.kind === 'mix' || offer.kind === 'track' || offer.kind === 'zip');
    expect([offer.url, (await fetch(offer.url, { method: 'HEAD' })).status]).toEqual([offer.url, onRequest ? 202 : 200]);
  }
  // One of them, asked for: made from the track, as long as the recording.
  const flacUrl = result.offers.find((o) => o.kind === 'track' && o.format === 'flac')?.url ?? '';
  const flac = await until(
    async () => {
      const reply = await fetch(flacUrl);
      return reply.status === 200 ? Buffer.from(await reply.arrayBuffer()) : (await reply.arrayBuffer(), undefined);
    },
    'the FLAC of the track',
    60_000,
  );
  expect(flac.subarray(0, 4).toString('latin1')).toBe('fLaC');
  const json = result.offers.find((o) => o.format === 'podcast-chapters')?.url ?? '';
  const chapters = (await (await fetch(json)).json()) as { chapters: { startTime: number; title: string }[] };
  expect(chapters.chapters).toEqual([{ startTime: expect.any(Number), title: 'Intro done' }]);
  expect(Math.abs((chapters.chapters[0]?.startTime ?? NaN) - (result.notes[0]?.at ?? NaN))).toBeLessThan(0.001);
  const rpp = readRpp(await (await fetch(result.offers.find((o) => o.format === 'reaper')?.url ?? '')).text());
  expect(rpp.tracks).toEqual([
    expect.objectContaining({ position: 0, source: 'OPUS', file: expect.stringMatching(/^tracks\/01-.+\.ogg$/) }),
  ]);
  expect(Math.abs((rpp.markers[0]?.at ?? NaN) / 1000 - (result.notes[0]?.at ?? NaN))).toBeLessThan(0.001);
  expect(run.out()).toContain(result.downloadUrl);
  run.child.kill('SIGINT');
  expect(await run.exit).toBe(0);
}, 60_000);

test('a garbage audio file is a bad scenario like any other: exit 2 naming the file and why, before anything starts', async () => {
  await writeFile(path.join(dir, 'garbage.wav'), 'this is not a WAV file at all');
  const file = await writeScenario('garbage.json', {
    name: 'garbage',
    host: 'alice',
    speakers: [
      { id: 'alice', audio: 'alice.wav', consentAt: 1 },
      { id: 'bob', audio: 'garbage.wav', speakAt: [1] },
    ],
    commands: [{ at: 0.5, user: 'alice', slash: 'record start' }],
    endAt: 3,
  });
  const out = path.join(dir, 'garbage-out');
  const run = demo(['--scenario', file, '--out', out]);
  expect(await run.exit).toBe(2);
  expect(run.err()).toContain(`speakers[1].audio: ${path.join(dir, 'garbage.wav')}: not a RIFF/WAVE file`);
  expect(run.out()).not.toContain('Playing');
  expect(existsSync(out)).toBe(false);
});

test('fields the scenario format does not know are ignored with a warning, and any speaker id works', async () => {
  const file = await writeScenario('extended.json', {
    name: 'extended',
    host: 'Alice Smith (host)',
    speakers: [{ id: 'Alice Smith (host)', audio: 'alice.wav', consentAt: 0.5, speakAt: [0.8], mood: 'cheerful' }],
    commands: [{ at: 0.2, user: 'Alice Smith (host)', slash: 'record start', note: 'go' }],
    endAt: 2.5,
    futureSection: { anything: true },
  });
  const out = path.join(dir, 'extended-out');
  const run = demo(['--scenario', file, '--out', out]);
  expect(await run.exit).toBe(0);
  expect(run.err()).toContain('ignoring fields this version does not know (misspelt?): futureSection, speakers[0].mood, commands[0].note');
  const result = JSON.parse(await readFile(path.join(out, 'result.json'), 'utf8')) as { tracks: { speaker: string; path: string }[] };
  expect(result.tracks.map((t) => t.speaker)).toEqual(['Alice Smith (host)']);
  // The id is only sanitised where it becomes a file name.
  expect(path.basename(result.tracks[0]?.path ?? '')).toMatch(/^[a-z0-9_-]+\.ogg$/);
}, 60_000);

test('network.dave false: a plain room, so result.json says e2ee null and the demo says it is not end-to-end encrypted', async () => {
  const file = await writeScenario('plain.json', {
    name: 'plain',
    host: 'alice',
    speakers: [{ id: 'alice', audio: 'alice.wav', consentAt: 0.5, speakAt: [0.8] }],
    commands: [{ at: 0.2, user: 'alice', slash: 'record start' }],
    network: { dave: false },
    endAt: 2.5,
  });
  const out = path.join(dir, 'plain-out');
  const run = demo(['--scenario', file, '--out', out]);
  expect(await run.exit).toBe(0);
  const result = JSON.parse(await readFile(path.join(out, 'result.json'), 'utf8')) as {
    e2ee: unknown;
    tracks: { stats?: { received: number } }[];
  };
  expect(result.e2ee).toBeNull();
  expect(result.tracks[0]?.stats?.received).toBeGreaterThan(0);
  expect(run.out()).toMatch(/the bot is recording \([a-z0-9]+\)\. 🔓 This room is not end-to-end encrypted/);
  expect(run.out()).not.toContain('voice privacy code');
}, 60_000);

test("result.json's tracks come from the disk: every file in the tracks folder, matched by its tags or its name", async () => {
  const tracks = path.join(dir, 'disk', 'tracks');
  await mkdir(tracks, { recursive: true });
  const writeTrackFile = async (name: string, user: string | null) => {
    const w = await OggOpusWriter.create({ path: path.join(tracks, name), comments: user === null ? {} : { ROOMREC_USER: user } });
    for (const p of encodeOpusFrames(tone(440, 100))) w.writePacket(p, 960);
    await w.close();
  };
  const users: Record<string, string> = { '111': 'alice', '222': 'bob', '333': 'carol' };
  await writeTrackFile('1-alice-111.ogg', '111');
  await writeTrackFile('2-whoever.ogg', '222'); // the name says nothing, the tags say bob: a file bob never consented to shows up
  await writeTrackFile('10-carol-333.ogg', null); // no tags: matched by the user id that ends the name
  await writeFile(path.join(tracks, 'stray.ogg'), 'not even audio');
  const listed = await tracksOnDisk(tracks, (id) => users[id]);
  expect(listed).toEqual([
    { speaker: 'alice', userId: '111', path: path.join(tracks, '1-alice-111.ogg') },
    { speaker: 'bob', userId: '222', path: path.join(tracks, '2-whoever.ogg') },
    { speaker: 'carol', userId: '333', path: path.join(tracks, '10-carol-333.ogg') },
    { speaker: 'stray', userId: null, path: path.join(tracks, 'stray.ogg') },
  ]);
  expect(await tracksOnDisk(path.join(dir, 'disk', 'no-tracks-yet'), (id) => users[id])).toEqual([]);

  // Each file gets the figures the metadata holds for its user; a file matched to nobody, or a user the
  // metadata has no figures for, gets none.
  const stats = { received: 5, lost: 1, late: 0, duplicate: 0, undecryptable: 0, silenceFilledSeconds: 0.5 };
  const speaker = (userId: string, withStats: boolean) => ({
    userId,
    name: userId,
    trackFile: 'x',
    consentedAt: 0,
    includeInMix: true,
    ...(withStats ? { stats } : {}),
  });
  const annotated = withStoredStats(listed, { speakers: [speaker('111', true), speaker('222', false)] });
  expect(annotated.map((t) => t.stats)).toEqual([stats, undefined, undefined, undefined]);
  expect(annotated[1]).not.toHaveProperty('stats');
});

test('npm run demo with no arguments: the built-in room, the link printed and served, the mix audible, Ctrl-C exits 0 and names the data folder', async () => {
  const run = demo([]);
  try {
    const dataDir = (await waitFor(run.out, /Data and result in (\S+) \(bot log/, 30_000))[1] ?? '';
    leftovers.push(dataDir);
    const link = (await waitFor(run.out, /Download link DM'd to the host:\n\s+(http:\/\/127\.0\.0\.1:\d+\/\S+)/, 90_000))[1] ?? '';
    await waitFor(run.out, /Serving downloads/, 30_000);

    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    const src = /<audio id="mix"[^>]* src="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    expect(src).toBeDefined();
    const mix = await fetch(new URL(src ?? '', link));
    expect(mix.status).toBe(200);
    const mixFile = path.join(dir, 'demo-mix.ogg');
    await writeFile(mixFile, Buffer.from(await mix.arrayBuffer()));
    const decoded = await decodeOggOpusFile(mixFile);
    expect(decoded.samples / 48_000).toBeGreaterThan(10); // the room is recorded from ~1 s to ~16 s
    expect(rms(toMono(decoded.pcm))).toBeGreaterThan(0.01);

    run.child.kill('SIGINT');
    expect(await run.exit).toBe(0);
    expect(run.out()).toContain(`Stopped. The recording, result.json and the bot log are kept in ${dataDir}`);
    expect(existsSync(path.join(dataDir, 'result.json'))).toBe(true);
  } finally {
    if (run.child.exitCode === null) run.child.kill('SIGKILL');
  }
}, 120_000);
