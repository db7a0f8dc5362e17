import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { accumulate, formatForPath, mixTracks, MixInputError } from '../../src/audio/mixer.ts';
import { DEFAULT_CEILING } from '../../src/audio/limiter.ts';
import { LoudnessMeter } from '../../src/audio/loudness.ts';
import { concatPcm, correlation, decodeOggOpusFile, firstOnset, rms, sec, toMono, tone, voice } from '../helpers/audio.ts';
import { decodeMono, HAVE_FFMPEG, readWav, writeTrack } from '../helpers/mix-fixtures.ts';

let dir: string;
const silence = (s: number) => new Int16Array(sec(s) * 2);

let alice: string;
let bob: string;
let carol: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-mixer-'));
  alice = join(dir, 'alice.ogg');
  bob = join(dir, 'bob.ogg');
  carol = join(dir, 'carol.ogg');
  // Alice talks 0-2 s and at exactly 3.000 s; Bob overlaps her and is longer; Carol only in the middle.
  await writeTrack(alice, concatPcm(voice(2, 1), silence(1), tone(330, 1500, 0.3), silence(0.5)));
  await writeTrack(bob, concatPcm(silence(1), voice(4, 3), silence(1)));
  await writeTrack(carol, concatPcm(silence(2.2), voice(0.6, 4), silence(0.2)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const decodedTrack = async (path: string) => toMono((await decodeOggOpusFile(path)).pcm);

function sumOf(...tracks: Float32Array[]): Float32Array {
  const out = new Float32Array(Math.max(...tracks.map((t) => t.length)));
  for (const t of tracks) t.forEach((v, i) => (out[i] = out[i]! + v));
  return out;
}

describe('mixTracks', () => {
  test('the mix equals the sum of the decoded tracks; length is the longest track', async () => {
    const out = join(dir, 'sum.ogg');
    const result = await mixTracks({ inputs: [{ path: alice }, { path: bob }], output: out });
    const mix = await decodeMono(out);
    const expected = sumOf(await decodedTrack(alice), await decodedTrack(bob));
    expect(result.durationSamples).toBe(expected.length);
    expect(mix.length).toBe(expected.length);
    expect(correlation(mix, expected)).toBeGreaterThan(0.95);
    const error = mix.map((v, i) => v - expected[i]!);
    expect(rms(error)).toBeLessThan(0.15 * rms(expected));
    expect(result.decode.skippedPackets).toBeGreaterThan(0);
    expect(result.limitedSamples).toBe(0);
  });

  // mp3 and flac are decoded by ffmpeg (CI installs it); ogg by libopus, wav by a WAV reader.
  const formats = HAVE_FFMPEG ? (['ogg', 'mp3', 'flac', 'wav'] as const) : (['ogg', 'wav'] as const);
  test.each(formats)('a word at 3.000 s lands at 3.000 s ±5 ms in %s', async (format) => {
    const out = join(dir, `aligned.${format}`);
    await mixTracks({ inputs: [{ path: alice }, { path: carol }], output: out });
    const mix = await decodeMono(out);
    const reference = await decodedTrack(alice);
    // Carol stops at 2.8 s; Alice's second utterance starts at 3.000 s.
    const onset = firstOnset(mix, 0.02, sec(2.9));
    expect(onset).not.toBeNull();
    expect(Math.abs(onset! - firstOnset(reference, 0.02, sec(2.9))!)).toBeLessThanOrEqual(sec(0.005));
    expect(Math.abs(onset! - sec(3))).toBeLessThanOrEqual(sec(0.005));
  });

  test('two full-scale tracks never wrap: limited, no sign flips, peak under 1', async () => {
    const loudA = join(dir, 'loudA.ogg');
    const loudB = join(dir, 'loudB.ogg');
    await writeTrack(loudA, tone(200, 2000, 0.99));
    await writeTrack(loudB, tone(200, 2000, 0.99));
    const out = join(dir, 'loud.wav');
    const result = await mixTracks({ inputs: [{ path: loudA }, { path: loudB }], output: out });
    expect(result.limitedSamples).toBeGreaterThan(0);
    expect(result.peak).toBeLessThanOrEqual(DEFAULT_CEILING + 1e-6);
    const mix = toMono(await readWav(out));
    const expected = sumOf(await decodedTrack(loudA), await decodedTrack(loudB));
    let flips = 0;
    let peak = 0;
    for (let i = 0; i < mix.length; i++) {
      peak = Math.max(peak, Math.abs(mix[i]!));
      if (Math.abs(expected[i]!) > 0.05 && Math.sign(mix[i]!) !== Math.sign(expected[i]!)) flips++;
    }
    expect(flips).toBe(0);
    expect(peak).toBeLessThanOrEqual(1);
    expect(correlation(mix, expected)).toBeGreaterThan(0.99);
    // And through the lossy encoder: decodes without wrap-around.
    await mixTracks({ inputs: [{ path: loudA }, { path: loudB }], output: join(dir, 'loud.ogg') });
    const lossy = await decodeMono(join(dir, 'loud.ogg'));
    expect(correlation(lossy, expected)).toBeGreaterThan(0.95);
  });

  test('include drops a speaker: nothing of Bob is left in the mix', async () => {
    const out = join(dir, 'only.ogg');
    const result = await mixTracks({ inputs: [{ path: alice }, { path: bob, label: 'Bob' }], output: out, include: ['alice'] });
    expect(result.inputs).toBe(1);
    const mix = await decodeMono(out);
    expect(correlation(mix, await decodedTrack(alice))).toBeGreaterThan(0.95);
    expect(Math.abs(correlation(mix, await decodedTrack(bob)))).toBeLessThan(0.05);
  });

  test('per-input gain is applied', async () => {
    const out = join(dir, 'gain.wav');
    await mixTracks({ inputs: [{ path: alice, gain: 0.5 }], output: out });
    const mix = toMono(await readWav(out));
    const a = await decodedTrack(alice);
    expect(rms(mix) / rms(a)).toBeCloseTo(0.5, 2);
  });

  test.each([-16, -23])('normalisation reaches %d LUFS ±1 LU (measured on the decoded file)', async (target) => {
    const out = join(dir, `norm${target}.ogg`);
    const result = await mixTracks({
      inputs: [{ path: alice }, { path: bob }, { path: carol }],
      output: out,
      normalize: { targetLufs: target },
    });
    const pcm = (await decodeOggOpusFile(out)).pcm;
    const meter = new LoudnessMeter();
    meter.add(Float32Array.from(pcm, (v) => v / 32768));
    expect(Math.abs(meter.integrated() - target)).toBeLessThanOrEqual(1);
    expect(result.loudness?.targetLufs).toBe(target);
  });

  test('progress reaches the total; two passes when normalising', async () => {
    const calls: [number, number][] = [];
    await mixTracks({ inputs: [{ path: bob }], output: join(dir, 'p.wav'), normalize: true, onProgress: (d, t) => calls.push([d, t]) });
    const [done, total] = calls.at(-1)!;
    expect(done).toBe(total);
    expect(calls.some(([d, t]) => d === t / 2)).toBe(true);
  });

  test('an aborted mix leaves no output and no partial file', async () => {
    const controller = new AbortController();
    const out = join(dir, 'aborted.ogg');
    const run = mixTracks({
      inputs: [{ path: bob }],
      output: out,
      signal: controller.signal,
      onProgress: () => controller.abort(new Error('stop')),
    });
    await expect(run).rejects.toThrow('stop');
    expect(existsSync(out)).toBe(false);
    expect((await readdir(dir)).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test('bad requests are MixInputErrors with a clear message', async () => {
    await expect(mixTracks({ inputs: [], output: join(dir, 'x.ogg') })).rejects.toThrow(new MixInputError('no input tracks'));
    await expect(mixTracks({ inputs: [{ path: alice }], output: join(dir, 'x.aac') })).rejects.toThrow(/unknown output format "\.aac"/);
    await expect(mixTracks({ inputs: [{ path: alice }], output: join(dir, 'x.ogg'), include: ['zed'] })).rejects.toThrow(
      /no track for speaker "zed"/,
    );
    await expect(mixTracks({ inputs: [{ path: join(dir, 'missing.ogg') }], output: join(dir, 'x.ogg') })).rejects.toThrow(
      'missing.ogg: no such file',
    );
  });
});

describe('pure parts', () => {
  test('formatForPath', () => {
    expect(formatForPath('a/b.MP3')).toBe('mp3');
    expect(formatForPath('mix')).toBe('ogg');
    expect(formatForPath('x.opus')).toBe('ogg');
    expect(() => formatForPath('x.m4a')).toThrow(MixInputError);
  });

  test('accumulate sums mono into both channels and stereo per channel, scaled', () => {
    const dst = new Float32Array(6).fill(0.5);
    accumulate(dst, 1, Int16Array.from([16384, -16384]), 1, 0, 2, 1 / 32768);
    expect(Array.from(dst)).toEqual([0.5, 0.5, 1, 1, 0, 0]);
    accumulate(dst, 0, Int16Array.from([0, 0, 32767, -32768]), 2, 1, 1, 1 / 32768);
    expect(dst[0]).toBeCloseTo(0.5 + 32767 / 32768);
    expect(dst[1]).toBe(-0.5);
  });
});
