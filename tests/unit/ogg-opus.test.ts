import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { rmSync } from 'node:fs';
import { buildOggPage, parseOggPage } from '../../src/audio/ogg-page.ts';
import { buildOpusHead, buildOpusTags } from '../../src/audio/opus-head.ts';
import { MediaFormatError, openOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { bestLag, correlation, decodeOggOpusFile, encodeOpusFrames, noise, rms, toMono, tone } from '../helpers/audio.ts';
import { until } from '../helpers/until.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-ogg-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tmp = (ext = 'ogg'): string => join(dir, `f${n++}.${ext}`);
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const FFMPEG = has('ffmpeg');
const OPUSENC = has('opusenc');

/** Packets per page after the two header pages. */
function audioPageSizes(bytes: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 0; at < bytes.length;) {
    const parsed = parseOggPage(bytes, at);
    if (parsed.kind !== 'page') throw new Error(`no whole page at byte ${at}`);
    if (parsed.page.sequence >= 2) sizes.push(parsed.page.lacing.filter((v) => v < 255).length);
    at += parsed.page.length;
  }
  return sizes;
}

async function collect(path: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of (await openOggOpus(path)).packets()) out.push(p.data);
  return out;
}

function writeWav(path: string, pcm: Int16Array): void {
  const data = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(48000, 24);
  h.writeUInt32LE(48000 * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  writeFileSync(path, Buffer.concat([h, data]));
}

describe('OggOpusWriter -> openOggOpus round trip', () => {
  test('headers, comments and every packet come back byte for byte; libopus decodes the exact duration', async () => {
    const path = tmp();
    const packets = encodeOpusFrames(tone(440, 1000));
    const w = await OggOpusWriter.create({ path, comments: { ARTIST: 'Alice', ROOMREC_RECORDING: 'r1', ROOMREC_USER: 'u1' }, serial: 77 });
    for (const p of packets) w.writePacket(p, 960);
    expect(w.samplesWritten).toBe(48000 - 312);
    await w.close();
    const file = await openOggOpus(path);
    expect(file.head).toEqual({ version: 1, channels: 2, preSkip: 312, inputSampleRate: 48000, outputGain: 0, mappingFamily: 0 });
    expect(file.vendor).toBe('roomrec');
    expect(file.comments).toEqual({ ARTIST: 'Alice', ROOMREC_RECORDING: 'r1', ROOMREC_USER: 'u1' });
    expect(file.truncated).toBe(false);
    expect(file.totalSamples).toBe(48000 - 312);
    expect(await collect(path)).toEqual(packets);
    const decoded = await decodeOggOpusFile(path);
    expect(decoded.samples).toBe(48000 - 312);
    expect(rms(toMono(decoded.pcm), 4800, 40000)).toBeGreaterThan(0.3);
  });

  test('packets of 255 / 510 / 1275 bytes (255-lacing) and pages past the 255-segment limit', async () => {
    const path = tmp();
    const sizes = [254, 255, 509, 510, 1275, 1, 2];
    const packets: Buffer[] = [];
    for (let i = 0; i < 400; i++) {
      const size = sizes[i % sizes.length]!;
      packets.push(Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(size, i & 0xff)]));
    }
    const w = await OggOpusWriter.create({ path });
    for (const p of packets) w.writePacket(p, 960);
    await w.close();
    expect(await collect(path)).toEqual(packets);
  });

  test('an OpusTags header larger than a page spans pages and still reads', async () => {
    const path = tmp();
    const big = 'x'.repeat(200_000);
    const w = await OggOpusWriter.create({ path, comments: { BIG: big, ARTIST: 'Bob' } });
    w.writePacket(Buffer.from([0xf8, 0xff, 0xfe]), 960);
    await w.close();
    const file = await openOggOpus(path);
    expect(file.comments.BIG).toBe(big);
    expect(file.comments.ARTIST).toBe('Bob');
    expect((await collect(path)).length).toBe(1);
  });

  test('reads audio packets that span pages (hand-built continued pages)', async () => {
    const path = tmp();
    const serial = 5;
    const a = Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(1000, 7)]);
    const b = Buffer.from([0xf8, 0xff, 0xfe]);
    const pages = [
      buildOggPage({ serial, sequence: 0, granule: 0, bos: true, packets: [buildOpusHead({ channels: 2, preSkip: 0 })] }),
      buildOggPage({ serial, sequence: 1, granule: 0, packets: [buildOpusTags('hand', {})] }),
      buildOggPage({ serial, sequence: 2, granule: 960, packets: [b, a.subarray(0, 510)], lastIncomplete: true }),
      buildOggPage({ serial, sequence: 3, granule: -1, continued: true, packets: [a.subarray(510, 765)], lastIncomplete: true }),
      buildOggPage({ serial, sequence: 4, granule: 2880, continued: true, eos: true, packets: [a.subarray(765), b] }),
    ];
    writeFileSync(path, Buffer.concat(pages));
    expect(await collect(path)).toEqual([b, a, b]);
    const file = await openOggOpus(path);
    expect(file.totalSamples).toBe(2880);
    expect(file.truncated).toBe(false);
  });

  test('a page is on disk within flushIntervalMs without any flush() call', async () => {
    const path = tmp();
    const w = await OggOpusWriter.create({ path, flushIntervalMs: 50 });
    const packets = encodeOpusFrames(noise(200));
    for (const p of packets) w.writePacket(p, 960);
    // The writer's own timer puts the page out: waited for, with the test's deadline as the bound.
    await until(async () => ((await collect(path).catch(() => [])).length >= packets.length ? true : undefined), 'the page on disk');
    const file = await openOggOpus(path);
    expect(file.truncated).toBe(true); // no EOS yet
    expect(await collect(path)).toEqual(packets);
    await w.close();
  });

  test('by default a page is emitted every half second of packets: what a crash can lose stays under 1 s', async () => {
    const path = tmp();
    let clock = 0;
    const w = await OggOpusWriter.create({ path, now: () => clock });
    const packets = encodeOpusFrames(noise(200));
    w.writePacket(packets[0]!, 960);
    clock += 499;
    w.writePacket(packets[1]!, 960); // within half a second: same page
    clock += 1;
    w.writePacket(packets[2]!, 960); // at 500 ms: the page holding the first two is emitted
    await w.flush();
    expect(audioPageSizes(readFileSync(path))).toEqual([2, 1]);
    await w.close();
  });

  test('with packets arriving, a page is emitted once the injected clock has moved flushIntervalMs (no real waiting)', async () => {
    const path = tmp();
    let clock = 5_000;
    // Only the manual clock moves, so the real-time backstop timer (1 s here) cannot be what emits the pages
    // checked below (the test ends long before it would fire).
    const w = await OggOpusWriter.create({ path, now: () => clock, flushIntervalMs: 1000 });
    const packets = encodeOpusFrames(noise(200));
    const pagesOnDisk = async (): Promise<number[]> => {
      await w.flush();
      return audioPageSizes(readFileSync(path));
    };
    w.writePacket(packets[0]!, 960); // t = 0
    clock += 999;
    w.writePacket(packets[1]!, 960); // t = 999: still within the interval, same page
    clock += 1;
    w.writePacket(packets[2]!, 960); // t = 1000: the page holding the first two is emitted
    clock += 400;
    w.writePacket(packets[3]!, 960); // t = 1400: the interval restarted at 1000
    clock += 600;
    w.writePacket(packets[4]!, 960); // t = 2000: emits [2, 3]
    w.writePacket(packets[5]!, 960);
    expect(await pagesOnDisk()).toEqual([2, 2, 2]); // the last page is flush()'s
    await w.close();
    expect((await collect(path)).slice(0, 6)).toEqual(packets.slice(0, 6));
  });

  test('create refuses an existing file and surfaces a missing directory', async () => {
    const path = tmp();
    writeFileSync(path, 'keep me');
    await expect(OggOpusWriter.create({ path })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(path, 'utf8')).toBe('keep me');
    await expect(OggOpusWriter.create({ path: join(dir, 'no/such/dir/x.ogg') })).rejects.toMatchObject({ code: 'ENOENT' });
  });

  test('a disk-full style error (EFBIG) rejects flush and close, is kept, and reported once', () => {
    const path = tmp();
    const script = `
      process.on('SIGXFSZ', () => {});
      const { OggOpusWriter } = await import(${JSON.stringify(new URL('../../src/audio/ogg-opus-writer.ts', import.meta.url).href)});
      const seen = []; const flushes = [];
      const w = await OggOpusWriter.create({ path: ${JSON.stringify(path)}, onError: (e) => seen.push(e.code) });
      const packet = Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(1000, 1)]);
      let thrown = null;
      try { for (let i = 0; i < 200; i++) { w.writePacket(packet, 960); if (i % 20 === 0) await w.flush().catch((e) => flushes.push(e.code)); } } catch (e) { thrown = e.code; }
      const flush = await w.flush().then(() => 'ok', (e) => e.code);
      const close = await w.close().then(() => 'ok', (e) => e.code);
      console.log(JSON.stringify({ flush, close, kept: w.error?.code, seen, thrown, anEarlierFlushFailed: flushes.length > 0 }));
    `;
    const child = spawnSync('sh', ['-c', `ulimit -f 40; exec "${process.execPath}" --input-type=module -e "$0"`, script], {
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout.trim()) as Record<string, unknown>;
    expect(result).toEqual({ flush: 'EFBIG', close: 'EFBIG', kept: 'EFBIG', seen: ['EFBIG'], thrown: 'EFBIG', anEarlierFlushFailed: true });
    expect(statSync(path).size).toBeLessThanOrEqual(40 * 1024);
  });
});

describe('clear errors for files that are not Ogg Opus', () => {
  test.each([
    ['empty file', Buffer.alloc(0), /^empty file$/],
    ['a WAV file', Buffer.from('RIFF\x24\x00\x00\x00WAVEfmt ', 'latin1'), /^not an Ogg file$/],
    [
      'Ogg Vorbis',
      buildOggPage({
        serial: 1,
        sequence: 0,
        granule: 0,
        bos: true,
        packets: [Buffer.from('\x01vorbis\x00\x00\x00\x00\x02\x44\xac\x00\x00', 'latin1')],
      }),
      /^Ogg but not Opus \(Vorbis\?\)$/,
    ],
    [
      'headers cut short',
      buildOggPage({ serial: 1, sequence: 0, granule: 0, bos: true, packets: [buildOpusHead({ channels: 2, preSkip: 312 })] }),
      /before the Opus headers are complete/,
    ],
  ])('%s', async (_name, bytes, message) => {
    const path = tmp();
    writeFileSync(path, bytes);
    const err = await openOggOpus(path).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MediaFormatError);
    expect((err as Error).message).toMatch(message);
  });

  test('a damaged page in the middle is reported with its byte offset', async () => {
    const path = tmp();
    const w = await OggOpusWriter.create({ path, flushIntervalMs: 1 });
    const packets = encodeOpusFrames(noise(3000));
    for (let i = 0; i < packets.length; i++) {
      w.writePacket(packets[i]!, 960);
      if (i % 20 === 19) await w.flush();
    }
    await w.close();
    const bytes = readFileSync(path);
    const third = bytes.indexOf('OggS', bytes.indexOf('OggS', bytes.indexOf('OggS', 1) + 1) + 1);
    bytes[third + 40]! ^= 0xff;
    writeFileSync(path, bytes);
    await expect(openOggOpus(path)).rejects.toThrow(new MediaFormatError(`corrupt page at byte ${third}`));
  });

  // The reader looks for a valid page after a bad one in 64 kB windows: one that starts anywhere, across a
  // window's end included, makes the bad bytes corruption; none makes them a torn tail.
  test.each([0, 65_536 - 40, 65_536 - 1, 65_536, 65_536 + 1, 3 * 65_536 + 5])(
    '%i bytes of junk after the end: a torn tail, unless a valid page follows them',
    async (junk) => {
      const path = tmp();
      const w = await OggOpusWriter.create({ path, serial: 8 });
      for (const p of encodeOpusFrames(noise(200))) w.writePacket(p, 960);
      await w.close();
      const good = readFileSync(path);
      const bad = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(junk)]);
      writeFileSync(path, Buffer.concat([good, bad]));
      const torn = await openOggOpus(path);
      expect(torn.warnings).toEqual([`${bad.length} bytes after the end of its stream (byte ${good.length}) are ignored`]);
      const page = buildOggPage({ serial: 8, sequence: 99, granule: 0, packets: [Buffer.alloc(1000, 0xf8)] }); // 1 kB: it can straddle
      writeFileSync(path, Buffer.concat([good, bad, page]));
      await expect(openOggOpus(path)).rejects.toThrow(new MediaFormatError(`corrupt page at byte ${good.length}`));
    },
  );

  test.skipIf(!FFMPEG)('Ogg Vorbis made by ffmpeg (needs ffmpeg)', async () => {
    const path = tmp();
    const r = spawnSync('ffmpeg', [
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=0.5',
      '-c:a',
      'libvorbis',
      path,
    ]);
    if (r.status !== 0) return expect.fail(`ffmpeg has no libvorbis here: ${r.stderr.toString()}`);
    await expect(openOggOpus(path)).rejects.toThrow('Ogg but not Opus (Vorbis?)');
  });
});

describe('files from other encoders', () => {
  const source = tone(440, 1000, 0.4);
  test.skipIf(!OPUSENC)('reads and decodes an opusenc file (needs opusenc from opus-tools)', async () => {
    const wav = tmp('wav');
    const path = tmp();
    writeWav(wav, source);
    const r = spawnSync('opusenc', ['--quiet', '--comment', 'ARTIST=Carol', wav, path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const decoded = await decodeOggOpusFile(path);
    expect(decoded.comments.ARTIST).toBe('Carol');
    expect(decoded.samples).toBe(48000);
    const lag = bestLag(toMono(source), toMono(decoded.pcm), 100, 2400, 45000);
    expect(Math.abs(lag.lag)).toBeLessThanOrEqual(2);
    expect(lag.correlation).toBeGreaterThan(0.95);
  });

  test.skipIf(!FFMPEG)('reads and decodes an ffmpeg (libopus) file with multi-packet pages (needs ffmpeg)', async () => {
    const wav = tmp('wav');
    const path = tmp();
    writeWav(wav, source);
    const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-i', wav, '-c:a', 'libopus', '-b:a', '96k', path], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const decoded = await decodeOggOpusFile(path);
    expect(decoded.truncated).toBe(false);
    expect(decoded.samples).toBe(48000);
    const lag = bestLag(toMono(source), toMono(decoded.pcm), 100, 2400, 45000);
    expect(Math.abs(lag.lag)).toBeLessThanOrEqual(2);
    expect(lag.correlation).toBeGreaterThan(0.95);
  });

  test.skipIf(!FFMPEG)('ffmpeg, an independent decoder, reads our files to the same audio (needs ffmpeg)', async () => {
    const path = tmp();
    const w = await OggOpusWriter.create({ path });
    for (const p of encodeOpusFrames(noise(2000, 0.3, 9))) w.writePacket(p, 960);
    await w.close();
    const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-i', path, '-f', 's16le', '-ac', '2', '-ar', '48000', '-'], {
      maxBuffer: 1 << 26,
    });
    expect(r.status, String(r.stderr)).toBe(0);
    const theirs = toMono(new Int16Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.length / 2));
    const ours = toMono((await decodeOggOpusFile(path)).pcm);
    expect(theirs.length).toBe(ours.length);
    expect(correlation(ours, theirs)).toBeGreaterThan(0.99);
  });
});
