// Formats on demand, end to end through the download server with a real store: real tracks (one stereo, one
// mono), a stored MP3 mix (which this server cannot decode: the mix's other formats must come from the tracks),
// every format of each decoded and compared with the Ogg it came from, the jobs' dedupe, progress, failure and
// retry, Range on a made file, the zips per format and their projects, the offers, and retention taking the
// made files with the recording.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mixTracks, type MixResult } from '../../src/audio/mixer.ts';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { catalogOf, offersOf, type Locate } from '../../src/http/catalog.ts';
import { agreementOf } from '../../src/recording/consent-choice.ts';
import { startDownloadServer, type DownloadServer } from '../../src/http/download-server.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/http/page.ts';
import { removeLeftoverMixFiles } from '../../src/storage/leftover-mix-files.ts';
import { levelledMixFileName, trackFileName } from '../../src/storage/layout.ts';
import { runRetention } from '../../src/storage/retention.ts';
import { openStore, type Recording, type Store } from '../../src/storage/store.ts';
import { bestLag, correlation, decodeOggOpusFile, FRAME, RATE, rms, sec, toMono } from '../helpers/audio.ts';
import { call, type Reply } from '../helpers/http-call.ts';
import { capturingLogger } from '../helpers/log-lines.ts';
import { HAVE_FFMPEG, writeTrack } from '../helpers/mix-fixtures.ts';
import { newRoom } from '../helpers/new-recording.ts';
import { parseLof, readRpp } from '../helpers/project-files.ts';
import { until } from '../helpers/until.ts';
import { readZip } from '../helpers/zip-reader.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

const T0 = Date.UTC(2025, 4, 2, 9, 30);
const LENGTH_S = 3;
// Waiting for a format is waiting for a thread to decode and encode 3 s of audio: seconds on a loaded machine.
const MADE_WITHIN_MS = 60_000;

/** Harmonics of `f0` (voice-like, and something MP3 keeps well) between `from` and `to` seconds, silence elsewhere. */
function voiced(f0: number, from: number, to: number, channels: 1 | 2): Int16Array {
  const out = new Int16Array(sec(LENGTH_S) * channels);
  for (let i = sec(from); i < sec(to); i++) {
    let v = 0;
    for (let h = 1; h <= 6; h++) v += (0.25 / h) * Math.sin((2 * Math.PI * f0 * h * i) / RATE + h);
    for (let c = 0; c < channels; c++) out[i * channels + c] = Math.round(v * (c === 1 ? 0.8 : 1) * 32767);
  }
  return out;
}

/** A mono track written as the recorder writes one: 20 ms packets, exact-silence packets in the pauses. */
async function writeMonoTrack(file: string, pcm: Int16Array): Promise<void> {
  const writer = await OggOpusWriter.create({ path: file, channels: 1, comments: {} });
  const encoder = new OpusEncoder(RATE, 1);
  encoder.setBitrate(64_000);
  for (let at = 0; at < pcm.length; at += FRAME) {
    const frame = pcm.subarray(at, at + FRAME);
    if (frame.every((v) => v === 0)) for (const s of silencePackets(FRAME)) writer.writePacket(s.packet, s.samples);
    else writer.writePacket(encoder.encode(Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength)), FRAME);
  }
  await writer.close();
}

/** An audio file as ffmpeg decodes it, in its own channel count (ffprobe's), averaged to mono. */
function ffDecode(file: string): { channels: number; mono: Float32Array } {
  const probe = JSON.parse(
    execFileSync('ffprobe', [
      '-v',
      'error',
      '-select_streams',
      'a:0',
      '-show_entries',
      'stream=channels,sample_rate',
      '-of',
      'json',
      file,
    ]).toString(),
  ) as { streams: { channels: number; sample_rate: string }[] };
  const stream = probe.streams[0]!;
  expect(Number(stream.sample_rate)).toBe(RATE);
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', String(stream.channels), '-'], {
    maxBuffer: 1 << 28,
  });
  const pcm = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { channels: stream.channels, mono: toMono(pcm, stream.channels) };
}

/**
 * `ref` and `decoded` are the same audio at the same place: one frame of length at most, no shift, the same
 * shape. `word` is where to look for a shift, in seconds: around a word.
 */
function expectSameAudio(what: string, decoded: Float32Array, ref: Float32Array, word: [number, number] = [0.45, 1.35]): void {
  expect([what, decoded.length - ref.length]).toEqual([what, expect.toSatisfy((d: number) => Math.abs(d) <= FRAME)]);
  expect([what, correlation(decoded, ref)]).toEqual([what, expect.toSatisfy((c: number) => c > 0.99)]);
  expect([what, bestLag(ref, decoded, 48, sec(word[0]), sec(word[1])).lag]).toEqual([what, 0]);
}

let root: string;
let store: Store;
let server: DownloadServer;
let logged: ReturnType<typeof capturingLogger>;
let recording: Recording;
let broken: Recording;
let oggMixed: Recording;
const refs: { alice: Float32Array; bob: Float32Array; mix: Float32Array } = {
  alice: new Float32Array(),
  bob: new Float32Array(),
  mix: new Float32Array(),
};
let linkPath: (id: string) => string;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomrec-formats-'));
  logged = capturingLogger();
  store = await openStore({ dataDir: path.join(root, 'data'), log: logged.log, now: () => T0 + 60_000 });
  const created = await store.createRecording(newRoom(T0, { hostName: 'Hostess' }));
  const aliceFile = trackFileName(1, 'Ålice', '111');
  const bobFile = trackFileName(2, 'Bob', '222');
  await mkdir(store.layout.tracksDir(created.id), { recursive: true });
  const alicePath = store.layout.file(created.id, aliceFile);
  const bobPath = store.layout.file(created.id, bobFile);
  await writeTrack(alicePath, concatStereo(voiced(180, 0.5, 1.3, 2), voiced(220, 2.0, 2.6, 2)));
  await writeMonoTrack(bobPath, voiced(130, 1.5, 1.9, 1));
  // The stored mix is an MP3 (MIX_FORMAT=mp3): its other formats cannot be made from it here.
  const mixed = await mixTracks({
    inputs: [
      { path: alicePath, label: 'Ålice' },
      { path: bobPath, label: 'Bob' },
    ],
    output: store.layout.mixFile(created.id, 'mp3'),
    format: 'mp3',
  });
  const speakers = [
    { userId: '111', name: 'Ålice', trackFile: aliceFile, consentedAt: T0, includeInMix: true },
    { userId: '222', name: 'Bob', trackFile: bobFile, consentedAt: T0, includeInMix: true },
  ];
  /** Recording `id` stopped and ready: both speakers, its stored mix, its notes. */
  const ready = (id: string, mix: MixResult, notes: NonNullable<Recording['notes']>) =>
    store.updateRecording(id, (r) => ({
      ...r,
      state: 'ready',
      stoppedAt: T0 + LENGTH_S * 1000,
      speakers,
      mix: { file: `mix.${mix.format}`, format: mix.format, durationMs: Math.round(mix.durationSamples / 48) },
      notes,
    }));
  recording = await ready(created.id, mixed, [{ at: 1500, by: '222', byName: 'Bob', text: 'Bob speaks' }]);
  refs.alice = toMono((await decodeOggOpusFile(alicePath)).pcm);
  refs.bob = toMono((await decodeOggOpusFile(bobPath)).pcm);
  refs.mix = refs.alice.map((v, i) => v + (refs.bob[i] ?? 0));

  // A recording whose only track is not Ogg at all: making any format of it fails.
  const other = await store.createRecording(newRoom(T0, { guildId: '100000000000000002' }));
  const eveFile = trackFileName(1, 'Eve', '555');
  await mkdir(store.layout.tracksDir(other.id), { recursive: true });
  await writeFile(store.layout.file(other.id, eveFile), Buffer.alloc(4000, 7));
  broken = await store.updateRecording(other.id, (r) => ({
    ...r,
    state: 'failed',
    stoppedAt: T0 + 1000,
    speakers: [{ userId: '555', name: 'Eve', trackFile: eveFile, consentedAt: T0, includeInMix: true }],
  }));

  // The same tracks under a stored Ogg Opus mix (the default MIX_FORMAT), with two notes: its MP3 is made.
  const third = await store.createRecording(newRoom(T0, { guildId: '100000000000000003' }));
  await mkdir(store.layout.tracksDir(third.id), { recursive: true });
  for (const file of [aliceFile, bobFile]) await copyFile(store.layout.file(created.id, file), store.layout.file(third.id, file));
  const oggMix = await mixTracks({
    inputs: [aliceFile, bobFile].map((file) => ({ path: store.layout.file(third.id, file) })),
    output: store.layout.mixFile(third.id, 'ogg'),
  });
  oggMixed = await ready(third.id, oggMix, [
    { at: 400, by: '111', byName: 'Ålice', text: 'Hello' },
    { at: 1900, by: '222', byName: 'Bob', text: 'Bob replies' },
  ]);

  server = await startDownloadServer({
    source: store,
    dataDir: store.layout.dataDir,
    signer: createLinkSigner({ secret: 'formats-test-secret-0123456789-abcdefghij' }),
    host: '127.0.0.1',
    port: 0,
    retentionDays: 30,
    log: logged.log,
    now: () => T0 + 60_000,
    refusedLinks: { limit: Infinity },
    // Two at once, so a second job for the same file would have a free slot to run in.
    formatConcurrency: 2,
  });
  linkPath = (id) => new URL(server.linkFor(id).url).pathname;
});

afterAll(async () => {
  await server.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

function concatStereo(a: Int16Array, b: Int16Array): Int16Array {
  return a.map((v, i) => v + b[i]!);
}

/** GETs `key` of the recording until it is served (200), and returns that reply. */
async function made(key: string, id = recording.id): Promise<Reply> {
  return until(
    async () => {
      const reply = await call(server.port, `${linkPath(id)}/${key}`);
      expect([key, reply.status]).toEqual([key, expect.toSatisfy((s: number) => s === 200 || s === 202)]);
      return reply.status === 200 ? reply : undefined;
    },
    `${key} to be made`,
    MADE_WITHIN_MS,
  );
}

async function saved(name: string, body: Buffer): Promise<string> {
  const file = path.join(root, name);
  await writeFile(file, body);
  return file;
}

const startsOf = (output: string, id = recording.id) =>
  logged.lines.filter((l) => l.msg === 'making a format on request' && l.output === output && l.recordingId === id).length;

describe('made on request', () => {
  test('the URL answers 202 with a page that says how far it is and refreshes itself, then serves the file', async () => {
    const url = `${linkPath(recording.id)}/tracks/1.wav`;
    const first = await call(server.port, url);
    expect(first.status).toBe(202);
    expect(first.headers['retry-after']).toBe('2');
    expect(first.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).not.toContain('script-src');
    const html = first.body.toString('utf8');
    expect(html).toMatch(/<h1>Preparing WAV of Ålice&#39;s track… \d{1,2} %<\/h1>/);
    expect(html).toContain('<meta http-equiv="refresh" content="2; url=1.wav">');
    expect(html).toContain('href="../"');
    expect(html).not.toContain('<script');
    const done = await made('tracks/1.wav');
    expect(done.headers['content-type']).toBe('audio/wav');
    expect(done.body.subarray(0, 4).toString('latin1')).toBe('RIFF');
  });

  test('many requests at once make one job', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => call(server.port, `${linkPath(recording.id)}/tracks/2.mp3`)));
    expect(replies.every((r) => r.status === 202 || r.status === 200)).toBe(true);
    await made('tracks/2.mp3');
    expect(startsOf('2-bob-222.mp3')).toBe(1);
  });

  test('a made file is private (0600, in a 0700 folder) and serves byte ranges', async () => {
    const whole = await made('tracks/2.flac');
    const file = path.join(store.layout.formatsDir(recording.id), '2-bob-222.flac');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(store.layout.formatsDir(recording.id))).mode & 0o777).toBe(0o700);
    const part = await call(server.port, `${linkPath(recording.id)}/tracks/2.flac`, { headers: { Range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 100-199/${whole.body.length}`);
    expect(part.body.equals(whole.body.subarray(100, 200))).toBe(true);
    const resumed = await call(server.port, `${linkPath(recording.id)}/tracks/2.flac`, {
      headers: { Range: 'bytes=1000-', 'If-Range': String(whole.headers.etag) },
    });
    expect(resumed.status).toBe(206);
    expect(Buffer.concat([whole.body.subarray(0, 1000), resumed.body]).equals(whole.body)).toBe(true);
  });

  test('a HEAD only looks: it starts nothing', async () => {
    const reply = await call(server.port, `${linkPath(recording.id)}/tracks/1.mp3`, { method: 'HEAD' });
    expect(reply.status).toBe(202);
    expect(startsOf('1-alice-111.mp3')).toBe(0);
  });
});

describe('a job that fails', () => {
  test('a track that cannot be read: the URL says plainly it failed, offers to try again, and a retry runs it again', async () => {
    const url = `${linkPath(broken.id)}/tracks/1.flac`;
    expect([202, 500]).toContain((await call(server.port, url)).status);
    const failed = await until(
      async () => {
        const reply = await call(server.port, url);
        return reply.status === 500 ? reply : undefined;
      },
      'the job to fail',
      MADE_WITHIN_MS,
    );
    const html = failed.body.toString('utf8');
    expect(html).toContain('<h1>Making FLAC of Eve&#39;s track failed</h1>');
    expect(html).toContain('<a href="1.flac?retry">Try again</a>');
    expect(logged.lines.some((l) => l.msg === 'making a format failed; the page offers to try again' && l.recordingId === broken.id)).toBe(
      true,
    );
    expect(await readdir(store.layout.formatsDir(broken.id))).toEqual([]);
    // Asking again without ?retry does not run it again; with it, it does.
    expect((await call(server.port, url)).status).toBe(500);
    expect(startsOf('1-eve-555.flac', broken.id)).toBe(1);
    expect((await call(server.port, `${url}?retry`)).status).toBe(202);
    expect(startsOf('1-eve-555.flac', broken.id)).toBe(2);
    await until(async () => ((await call(server.port, url)).status === 500 ? true : undefined), 'the retry to fail', MADE_WITHIN_MS);
    const page = (await call(server.port, `${linkPath(broken.id)}/`)).body.toString('utf8');
    expect(page).toContain('FLAC <span class="lost">failed</span> <a href="tracks/1.flac?retry">try again</a>');
  });

  test('an output that cannot be put in place (disk full, a folder in the way) leaves no partial file, and works once it can', async () => {
    const blocker = path.join(store.layout.formatsDir(recording.id), '1-alice-111.mp3');
    await mkdir(path.dirname(blocker), { recursive: true });
    await mkdir(blocker);
    const url = `${linkPath(recording.id)}/tracks/1.mp3`;
    await call(server.port, url);
    await until(async () => ((await call(server.port, url)).status === 500 ? true : undefined), 'the job to fail', MADE_WITHIN_MS);
    expect((await readdir(path.dirname(blocker))).filter((f) => f.includes('partial'))).toEqual([]);
    await rm(blocker, { recursive: true });
    expect((await call(server.port, `${url}?retry`)).status).toBe(202);
    expect((await made('tracks/1.mp3')).body.length).toBeGreaterThan(1000);
  });

  test('a partial file a dead process left is never served, and start-up removes it', async () => {
    const dir = store.layout.formatsDir(recording.id);
    const partial = path.join(dir, 'mix.mp3.partial-99999');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'mix.wav.partial-99999'), 'half a file');
    await writeFile(partial, 'half a file');
    // Looked at, not started (HEAD): the half file is not what it answers with.
    const reply = await call(server.port, `${linkPath(recording.id)}/mix.wav`, { method: 'HEAD' });
    expect(reply.status).toBe(202);
    const removed = await removeLeftoverMixFiles({ layout: store.layout, isLive: () => false, log: logged.log });
    expect(removed).toEqual([{ recordingId: recording.id, files: ['formats/mix.mp3.partial-99999', 'formats/mix.wav.partial-99999'] }]);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });
});

describe.skipIf(!HAVE_FFMPEG)('every format decodes to the Ogg it came from (ffmpeg decodes them)', () => {
  test.each(['flac', 'wav', 'mp3'] as const)('each track in %s: its length, its channels, its waveform, in place', async (format) => {
    for (const [n, name, ref, channels, word] of [
      [1, 'alice', refs.alice, 2, [0.45, 1.35]],
      [2, 'bob', refs.bob, 1, [1.45, 1.95]],
    ] as const) {
      const reply = await made(`tracks/${n}.${format}`);
      expect(reply.headers['content-type']).toBe({ flac: 'audio/flac', wav: 'audio/wav', mp3: 'audio/mpeg' }[format]);
      expect(reply.headers['content-disposition']).toContain(`.${format}"`);
      const decoded = ffDecode(await saved(`${name}.${format}`, reply.body));
      // The mono track stays mono.
      expect([name, decoded.channels]).toEqual([name, channels]);
      expectSameAudio(`${name} ${format}`, decoded.mono, ref, [...word]);
    }
  });

  test.each(['ogg', 'flac', 'wav'] as const)(
    'the mix in %s is made from the tracks: the sum of them, as long as the recording',
    async (format) => {
      const reply = await made(`mix.${format}`);
      const decoded = ffDecode(await saved(`mix.${format}`, reply.body));
      expect(decoded.channels).toBe(2);
      expectSameAudio(`mix ${format}`, decoded.mono, refs.mix);
      expect(Math.abs(decoded.mono.length - sec(LENGTH_S))).toBeLessThanOrEqual(FRAME);
    },
  );

  test('an MP3 of the mix made on request carries the notes as ID3v2 chapters, and the mix from the tracks', async () => {
    const reply = await made('mix.mp3', oggMixed.id);
    const file = await saved('chaptered.mp3', reply.body);
    expectSameAudio('mp3 of an ogg mix', ffDecode(file).mono, refs.mix);
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_chapters', '-of', 'json', file]).toString()) as {
      chapters: { start_time: string; end_time: string; tags: { title: string } }[];
    };
    expect(probe.chapters.map((c) => [Number(c.start_time), Number(c.end_time), c.tags.title])).toEqual([
      [0.4, 1.9, 'Hello'],
      // The last chapter ends with the recording, as long as its mix.
      [1.9, (oggMixed.mix?.durationMs ?? NaN) / 1000, 'Bob replies'],
    ]);
  });

  test('the levelled mix in another format is made levelled, as its stored Ogg is, not as the plain sum', async () => {
    const levelledOgg = store.layout.file(oggMixed.id, levelledMixFileName('ogg'));
    const levelled = await mixTracks({
      inputs: [oggMixed.speakers[0]!, oggMixed.speakers[1]!].map((s) => ({
        path: store.layout.file(oggMixed.id, s.trackFile),
        label: s.name,
      })),
      output: levelledOgg,
      level: true,
    });
    await store.updateRecording(oggMixed.id, (r) => ({
      ...r,
      levelledMix: {
        state: 'ready',
        file: levelledMixFileName('ogg'),
        format: 'ogg',
        durationMs: Math.round(levelled.durationSamples / 48),
      },
    }));
    const decoded = ffDecode(await saved('levelled.wav', (await made('mix-levelled.wav', oggMixed.id)).body)).mono;
    expectSameAudio('levelled mix in WAV', decoded, toMono((await decodeOggOpusFile(levelledOgg)).pcm));
    // Bob (alone from 1.5 to 1.9 s) against Ålice (alone from 0.5 to 1.3 s): levelling changed their balance.
    // Each speaker at their levelling gain: Ålice alone from 0.5 to 1.3 s, Bob alone from 1.5 to 1.9 s.
    for (const [name, from, to] of [
      ['Ålice', 0.5, 1.3],
      ['Bob', 1.5, 1.9],
    ] as const) {
      const gainDb = levelled.levelling?.speakers.find((x) => x.label === name)?.gainDb ?? NaN;
      expect(Math.abs(gainDb)).toBeGreaterThan(3);
      const measuredDb = 20 * Math.log10(rms(decoded, sec(from), sec(to)) / rms(refs.mix, sec(from), sec(to)));
      expect([name, measuredDb]).toEqual([name, expect.closeTo(gainDb, 0)]);
    }
  });

  test("the stored mix's own format is the stored file itself", async () => {
    const reply = await call(server.port, `${linkPath(recording.id)}/mix.mp3`);
    expect(reply.status).toBe(200);
    expect(reply.body.equals(await readFile(store.layout.mixFile(recording.id, 'mp3')))).toBe(true);
    expect(startsOf('mix.mp3')).toBe(0);
    expectSameAudio('stored mp3 mix', ffDecode(await saved('stored.mp3', reply.body)).mono, refs.mix);
  });
});

describe('the page', () => {
  test('lists every format of the mix and of each track, with where each stands', async () => {
    const html = (await call(server.port, `${linkPath(recording.id)}/`)).body.toString('utf8');
    const mix = html.slice(html.indexOf('<h2>Mix</h2>'), html.indexOf('<h2>Tracks</h2>'));
    expect(mix).toContain('Also as: ');
    for (const format of ['ogg', 'flac', 'wav']) expect(mix).toContain(`href="mix.${format}"`);
    expect(mix).not.toContain('href="mix.mp3"');
    const tracks = html.slice(html.indexOf('<h2>Tracks</h2>'), html.indexOf('<h2>Consent receipt</h2>'));
    // Made in the tests above: a download link; never asked for: "make it".
    expect(tracks).toContain('<a href="tracks/2.flac" download>FLAC</a>');
    expect(html).toContain('The same zip with the audio as: ');
    for (const zip of ['all-flac.zip', 'all-wav.zip', 'all-mp3.zip']) expect(html).toContain(`href="${zip}"`);
    expect(html).not.toContain('<script');
  });
});

describe('a zip per format', () => {
  test('all-flac.zip holds the mix and the tracks in FLAC, the notes, projects that name the FLAC tracks, and the receipt', async () => {
    const zip = readZip((await made('all-flac.zip')).body);
    expect([...zip.keys()]).toEqual([
      'tracks/01-Ålice.flac',
      'tracks/02-Bob.flac',
      'roomrec-2025-05-02-0930-mix.flac',
      'roomrec-2025-05-02-0930-labels.txt',
      'roomrec-2025-05-02-0930-chapters.vtt',
      'roomrec-2025-05-02-0930-chapters.json',
      'roomrec-2025-05-02-0930-audacity.lof',
      'roomrec-2025-05-02-0930-reaper.rpp',
      'receipt.txt',
    ]);
    expect(zip.get('tracks/02-Bob.flac')!.equals((await made('tracks/2.flac')).body)).toBe(true);
    const lof = parseLof(zip.get('roomrec-2025-05-02-0930-audacity.lof')!.toString('utf8'));
    expect(lof.map((l) => l.file)).toEqual(['tracks/01-Ålice.flac', 'tracks/02-Bob.flac']);
    const rpp = readRpp(zip.get('roomrec-2025-05-02-0930-reaper.rpp')!.toString('utf8'));
    expect(rpp.tracks.map((t) => [t.source, t.file])).toEqual([
      ['FLAC', 'tracks/01-Ålice.flac'],
      ['FLAC', 'tracks/02-Bob.flac'],
    ]);
    // all.zip is still the stored files.
    const stored = readZip((await call(server.port, `${linkPath(recording.id)}/all.zip`)).body);
    expect([...stored.keys()].filter((k) => k.startsWith('tracks/'))).toEqual(['tracks/01-Ålice.ogg', 'tracks/02-Bob.ogg']);
  });
});

describe('offers', () => {
  test('result.json lists every format the page offers, with its URL', async () => {
    const locate: Locate = (r, file) => store.layout.file(r.id, file);
    const catalog = catalogOf(recording, locate);
    const present = new Set(['mix', 'tracks/1', 'tracks/2']);
    const offers = offersOf(recording, catalog, present, locate).map((o) => [o.kind, o.format, o.speaker?.userId, o.key]);
    expect(offers.slice(0, 15)).toEqual([
      ['mix', 'mp3', undefined, 'mix'],
      ['mix', 'ogg', undefined, 'mix.ogg'],
      ['mix', 'flac', undefined, 'mix.flac'],
      ['mix', 'wav', undefined, 'mix.wav'],
      ['track', 'ogg', '111', 'tracks/1'],
      ['track', 'mp3', '111', 'tracks/1.mp3'],
      ['track', 'flac', '111', 'tracks/1.flac'],
      ['track', 'wav', '111', 'tracks/1.wav'],
      ['track', 'ogg', '222', 'tracks/2'],
      ['track', 'mp3', '222', 'tracks/2.mp3'],
      ['track', 'flac', '222', 'tracks/2.flac'],
      ['track', 'wav', '222', 'tracks/2.wav'],
      ['zip', 'zip', undefined, 'all.zip'],
      ['zip', 'flac', undefined, 'all-flac.zip'],
      ['zip', 'wav', undefined, 'all-wav.zip'],
    ]);
    expect(offers.slice(15).map((o) => o[0])).toEqual(['zip', 'chapters', 'chapters', 'chapters', 'project', 'project']);
    // While the room records, a track is offered as stored only.
    const live = { ...recording, state: 'recording' as const, stoppedAt: undefined, mix: undefined };
    expect(offersOf(live, catalogOf(live, locate), present, locate).map((o) => o.key)).toEqual(['tracks/1', 'tracks/2', 'all.zip']);
  });

  test('when only some speakers allow reuse, the publishable mix is offered in every format, marked publishable', () => {
    const locate: Locate = (r, file) => store.layout.file(r.id, file);
    const present = new Set(['mix', 'tracks/1', 'tracks/2']);
    const mixes = (r: Recording) =>
      offersOf(r, catalogOf(r, locate), present, locate)
        .filter((o) => o.kind === 'mix')
        .map((o) => [o.format, o.publishable, o.key]);
    const [first, second] = recording.speakers;
    if (!first || !second) throw new Error('the fixture has two speakers');
    const someReuse = { ...recording, speakers: [{ ...first, agreed: agreementOf(true, first.consentedAt) }, second] };
    expect(mixes(someReuse).filter(([, publishable]) => publishable)).toEqual(
      ['ogg', 'mp3', 'flac', 'wav'].map((format) => [format, true, `mix-publishable.${format}`]),
    );
    // Nobody, or everybody, allowing reuse: the publishable mix would be no mix or the mix itself.
    const allReuse = { ...someReuse, speakers: someReuse.speakers.map((s) => ({ ...s, agreed: agreementOf(true, s.consentedAt) })) };
    expect(mixes(recording).some(([, publishable]) => publishable)).toBe(false);
    expect(mixes(allReuse).some(([, publishable]) => publishable)).toBe(false);
  });
});

describe('retention', () => {
  test('deleting the recording deletes the formats made of it', async () => {
    await made('mix.flac');
    const made1 = path.join(store.layout.formatsDir(recording.id), 'mix.flac');
    expect((await stat(made1)).isFile()).toBe(true);
    const report = await runRetention({ store, now: T0 + 40 * 24 * 3_600_000, policy: { retentionDays: 30 }, log: logged.log });
    expect(report.deleted.map((d) => d.recordingId)).toContain(recording.id);
    await expect(stat(made1)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(stat(store.layout.recordingDir(recording.id))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
