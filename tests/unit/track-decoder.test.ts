import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isExactSilencePacket, newStats, openTrack, type BlockOptions } from '../../src/audio/track-decoder.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { parseOggPage, resealOggPage } from '../../src/audio/ogg-page.ts';
import { wavHeader } from '../../src/audio/encoders/wav.ts';
import { concatPcm, encodeOpusFrames, firstOnset, noise, sec, toMono, tone } from '../helpers/audio.ts';
import { HAVE_FFMPEG, HAVE_OPUSENC, writeTrack } from '../helpers/mix-fixtures.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-trackdec-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** All blocks of a track as one stereo int16 array; checks that blocks tile the timeline without gaps. */
async function decodeAll(path: string, options: BlockOptions = {}): Promise<Int16Array> {
  const track = await openTrack(path);
  const parts: Int16Array[] = [];
  let next = 0;
  for await (const b of track.blocks(options)) {
    expect(b.start).toBe(next);
    next += b.frames;
    const stereo = new Int16Array(b.frames * 2);
    if (b.pcm && track.channels === 2) stereo.set(b.pcm);
    else if (b.pcm) for (let i = 0; i < b.frames; i++) stereo[2 * i] = stereo[2 * i + 1] = b.pcm[i]!;
    parts.push(stereo);
  }
  return concatPcm(...parts);
}

const silence = (ms: number) => new Int16Array(sec(ms / 1000) * 2);

describe('isExactSilencePacket', () => {
  test.each([120, 960, 1920, 5760, 5760 * 3 + 960 + 480 + 120])('every packet silencePackets(%d) makes is recognised', (samples) => {
    for (const p of silencePackets(samples)) expect(isExactSilencePacket(p.packet)).toBe(true);
  });

  test('speech packets, TOC-only packets and padded code-3 packets are not', () => {
    for (const p of encodeOpusFrames(noise(200, 0.3, 9))) expect(isExactSilencePacket(p)).toBe(false);
    expect(isExactSilencePacket(Buffer.from([0xf8]))).toBe(false);
    expect(isExactSilencePacket(Buffer.from([0xf8, 0xff]))).toBe(false);
    expect(isExactSilencePacket(Buffer.from([0xfb, 0x42, 0x00, 0xff, 0xfe, 0xff, 0xfe]))).toBe(false);
    // SILK config (0x08 = config 1) with the same payload bytes is not CELT silence.
    expect(isExactSilencePacket(Buffer.from([0x08, 0xff, 0xfe]))).toBe(false);
  });
});

describe('openTrack blocks', () => {
  test('skipping silence packets gives the same audio as decoding every packet', async () => {
    const path = join(dir, 'gappy.ogg');
    const pcm = concatPcm(noise(1000, 0.3, 1), silence(2000), tone(300, 1000, 0.4), silence(500), noise(500, 0.2, 2), silence(1000));
    await writeTrack(path, pcm);
    const skippedStats = newStats();
    const skipped = await decodeAll(path, { stats: skippedStats });
    const full = await decodeAll(path, { decodeSilence: true });
    // A recorder track ends where its last packet's audio ends: pre-skip (312) earlier than the input.
    expect(skipped.length).toBe(pcm.length - 312 * 2);
    expect(full.length).toBe(skipped.length);
    expect(skippedStats.skippedPackets).toBeGreaterThan(100);
    let maxDiff = 0;
    for (let i = 0; i < full.length; i++) maxDiff = Math.max(maxDiff, Math.abs(full[i]! - skipped[i]!));
    expect(maxDiff).toBeLessThanOrEqual(2);
  });

  test('a pause stays a pause: the second utterance starts where it was spoken', async () => {
    const path = join(dir, 'late.ogg');
    await writeTrack(path, concatPcm(silence(95_000), noise(300, 0.4, 3)));
    const mono = toMono(await decodeAll(path));
    expect(mono.length).toBe(sec(95.3) - 312);
    expect(Math.abs(firstOnset(mono, 0.05)! - sec(95))).toBeLessThanOrEqual(sec(0.005));
  });

  test('OpusHead output gain is reported as a linear gain', async () => {
    const path = join(dir, 'gain.ogg');
    await writeTrack(path, noise(200, 0.1, 4));
    const bytes = await readFile(path);
    const first = parseOggPage(bytes);
    if (first.kind !== 'page') throw new Error('no first page');
    // Page 0 holds only OpusHead: 27-byte header + 1 lacing byte, then the packet; gain is at packet byte 16.
    bytes.writeInt16LE(6 * 256, 28 + 16);
    resealOggPage(bytes.subarray(0, first.page.length));
    await writeFile(path, bytes);
    expect((await openTrack(path)).headGain).toBeCloseTo(10 ** (6 / 20), 4);
  });

  // Other encoders' pre-skip and end trimming: the decoded length and the first word must be exact.
  const burstInput = () => concatPcm(silence(1000), noise(200, 0.5, 5), silence(1300), new Int16Array(123 * 2));
  async function writeWav(path: string, pcm: Int16Array): Promise<void> {
    await writeFile(path, Buffer.concat([wavHeader(pcm.byteLength), Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
  }

  test.skipIf(!HAVE_OPUSENC)('opusenc file (opus-tools; CI installs it): pre-skip and end trimming honoured', async () => {
    const wav = join(dir, 'in-opusenc.wav');
    const pcm = burstInput();
    await writeWav(wav, pcm);
    execFileSync('opusenc', ['--quiet', wav, join(dir, 'opusenc.ogg')]);
    const mono = toMono(await decodeAll(join(dir, 'opusenc.ogg')));
    expect(mono.length).toBe(pcm.length / 2);
    expect(Math.abs(firstOnset(mono, 0.05)! - sec(1))).toBeLessThanOrEqual(sec(0.001));
  });

  test.skipIf(!HAVE_FFMPEG)('ffmpeg libopus file (CI installs ffmpeg): pre-skip and end trimming honoured', async () => {
    const wav = join(dir, 'in-ffmpeg.wav');
    const pcm = burstInput();
    await writeWav(wav, pcm);
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', wav, '-c:a', 'libopus', join(dir, 'ffmpeg.ogg')]);
    const mono = toMono(await decodeAll(join(dir, 'ffmpeg.ogg')));
    expect(mono.length).toBe(pcm.length / 2);
    expect(Math.abs(firstOnset(mono, 0.05)! - sec(1))).toBeLessThanOrEqual(sec(0.001));
  });
});
