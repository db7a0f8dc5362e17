/**
 * Audio test helpers shared by the suites: decode Ogg Opus with real libopus (@discordjs/opus) through the
 * product's own reader, synthesise test signals, encode them as a Discord client would (20 ms frames),
 * and measure what came out (energy per window, onsets, correlation, lag).
 *
 * Conventions: PCM is 48 kHz. `Int16Array` buffers are interleaved by channel; analysis functions take a
 * mono `Float32Array` in [-1, 1] (see `toMono`).
 */
import { createRequire } from 'node:module';
import { openOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { mulberry32 as prng } from '../../discord-sim/prng.ts';

export { prng };

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

export const RATE = 48000;
export const FRAME = 960; // 20 ms

export interface DecodedAudio {
  /** Interleaved 16-bit PCM, `channels` channels, pre-skip removed and end-trimmed to the final granule. */
  pcm: Int16Array;
  channels: 2;
  /** Samples per channel. */
  samples: number;
  /** Audio packets read from the file. */
  packets: number;
  truncated: boolean;
  comments: Record<string, string>;
}

/** Decode a whole Ogg Opus file to stereo PCM with libopus. */
export async function decodeOggOpusFile(path: string): Promise<DecodedAudio> {
  const file = await openOggOpus(path);
  const decoder = new OpusEncoder(RATE, 2);
  const chunks: Buffer[] = [];
  let packets = 0;
  for await (const p of file.packets()) {
    const pcm = decoder.decode(p.data);
    if (pcm.length !== p.samples * 4) throw new Error(`packet ${packets}: TOC says ${p.samples} samples, libopus gave ${pcm.length / 4}`);
    chunks.push(pcm);
    packets++;
  }
  const all = Buffer.concat(chunks);
  let pcm = new Int16Array(all.buffer, all.byteOffset, all.length / 2).slice(file.head.preSkip * 2);
  if (file.totalSamples !== null && file.totalSamples * 2 < pcm.length) pcm = pcm.slice(0, file.totalSamples * 2);
  return { pcm, channels: 2, samples: pcm.length / 2, packets, truncated: file.truncated, comments: file.comments };
}

/**
 * Decode a file of any length without holding its PCM: total samples (after pre-skip, end-trimmed) and
 * the peak absolute sample value. For hour-long tracks, where decodeOggOpusFile would need ~700 MB.
 */
export async function decodeOggOpusSummary(path: string): Promise<{ samples: number; peak: number; packets: number }> {
  const file = await openOggOpus(path);
  const decoder = new OpusEncoder(RATE, 2);
  let decoded = 0;
  let peak = 0;
  let packets = 0;
  const end = file.totalSamples === null ? Infinity : file.totalSamples + file.head.preSkip;
  for await (const p of file.packets()) {
    const pcm = decoder.decode(p.data);
    const values = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    const from = Math.max(0, file.head.preSkip - decoded) * 2;
    const to = Math.max(from, Math.min(values.length, (end - decoded) * 2));
    for (let i = from; i < to; i++) peak = Math.max(peak, Math.abs(values[i]!));
    decoded += values.length / 2;
    packets++;
  }
  return { samples: Math.max(0, Math.min(decoded, end) - file.head.preSkip), peak, packets };
}

/** Average channels into one Float32 channel in [-1, 1]. */
export function toMono(pcm: Int16Array, channels = 2): Float32Array {
  const out = new Float32Array(Math.floor(pcm.length / channels));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let c = 0; c < channels; c++) sum += pcm[i * channels + c]!;
    out[i] = sum / channels / 32768;
  }
  return out;
}

/** Stereo sine tone, `ms` long, amplitude in [0, 1]. */
export function tone(freqHz: number, ms: number, amplitude = 0.5): Int16Array {
  const n = Math.round((ms * RATE) / 1000);
  const out = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = Math.round(Math.sin((2 * Math.PI * freqHz * i) / RATE) * amplitude * 32767);
    out[i * 2] = v;
    out[i * 2 + 1] = v;
  }
  return out;
}

/** Stereo white noise burst (speech-like for correlation: no periodicity), seeded. */
export function noise(ms: number, amplitude = 0.3, seed = 1): Int16Array {
  const rnd = prng(seed);
  const n = Math.round((ms * RATE) / 1000);
  const out = new Int16Array(n * 2);
  for (let i = 0; i < n; i++) {
    const v = Math.round((rnd() * 2 - 1) * amplitude * 32767);
    out[i * 2] = v;
    out[i * 2 + 1] = v;
  }
  return out;
}

/** Concatenate interleaved PCM buffers. */
export function concatPcm(...parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Encode stereo PCM into 20 ms Opus packets as a Discord client does (the last frame zero-padded).
 * `bitrate` in bit/s (default 64000).
 */
export function encodeOpusFrames(pcm: Int16Array, bitrate = 64000): Buffer[] {
  const encoder = new OpusEncoder(RATE, 2);
  encoder.setBitrate(bitrate);
  const frames: Buffer[] = [];
  for (let at = 0; at < pcm.length; at += FRAME * 2) {
    const frame = new Int16Array(FRAME * 2);
    frame.set(pcm.subarray(at, Math.min(pcm.length, at + FRAME * 2)));
    frames.push(encoder.encode(Buffer.from(frame.buffer)));
  }
  return frames;
}

/** RMS of a range of samples [from, to). */
export function rms(mono: Float32Array, from = 0, to = mono.length): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += mono[i]! * mono[i]!;
  return to > from ? Math.sqrt(sum / (to - from)) : 0;
}

/**
 * Amplitude of the `hz` component of `mono` over [from, to): a single-bin DFT through a Hann window, so that a
 * tone a few hundred hertz away leaks nothing measurable into it (a rectangular window would leak a few percent).
 */
export function toneAmplitude(mono: Float32Array, hz: number, from: number, to: number): number {
  let re = 0;
  let im = 0;
  let weight = 0;
  const n = to - from;
  for (let i = from; i < to; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i - from)) / n);
    const v = (mono[i] ?? 0) * w;
    re += v * Math.cos((2 * Math.PI * hz * i) / RATE);
    im -= v * Math.sin((2 * Math.PI * hz * i) / RATE);
    weight += w;
  }
  return weight > 0 ? (2 * Math.hypot(re, im)) / weight : 0;
}

/**
 * First sample at or after `from` whose absolute value exceeds `threshold` (linear, default -40 dBFS):
 * where a word starts. Null when the signal never gets there.
 */
export function firstOnset(mono: Float32Array, threshold = 0.01, from = 0): number | null {
  for (let i = from; i < mono.length; i++) if (Math.abs(mono[i]!) > threshold) return i;
  return null;
}

/** Normalised correlation of a and b over their common length, at lag 0: 1 = identical shape. */
export function correlation(a: Float32Array, b: Float32Array, from = 0, to = Math.min(a.length, b.length)): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = from; i < to; i++) {
    ab += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * The lag (samples, within ±maxLag) at which b best matches a over [from, to) of a: positive when b is
 * late. Use it to show that audio did not shift.
 */
export function bestLag(a: Float32Array, b: Float32Array, maxLag: number, from = 0, to = a.length): { lag: number; correlation: number } {
  let best = { lag: 0, correlation: -Infinity };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = Math.max(from, -lag); i < Math.min(to, b.length - lag); i++) {
      const x = a[i]!;
      const y = b[i + lag]!;
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    const c = aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
    if (c > best.correlation) best = { lag, correlation: c };
  }
  return best;
}

const DECIMATE = 6; // 48 kHz → 8 kHz for the correlation search

function decimate(x: Float32Array): Float32Array {
  const out = new Float32Array(Math.floor(x.length / DECIMATE));
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (let k = 0; k < DECIMATE; k++) sum += x[i * DECIMATE + k]!;
    out[i] = sum / DECIMATE;
  }
  return out;
}

/**
 * Where `ref` (48 kHz mono) best matches `signal` within ±searchMs of `expectedSeconds`: the offset found
 * (seconds) and the normalised correlation there (1 = the same waveform). Searched at 8 kHz, then refined at
 * 48 kHz around the best match, so neither the offset nor the correlation depends on where between two 8 kHz
 * samples a word happened to land.
 */
export function locate(
  signal: Float32Array,
  ref: Float32Array,
  expectedSeconds: number,
  searchMs = 150,
): { seconds: number; correlation: number } {
  const rate = RATE / DECIMATE;
  const maxLag = Math.round((searchMs / 1000) * rate);
  const coarse = bestPlacement(decimate(signal), decimate(ref), Math.round(expectedSeconds * rate) - maxLag, 2 * maxLag);
  if (coarse.lag === null) return { seconds: Number.NaN, correlation: 0 };
  // The coarse search steps 1/8 ms: a word that sits between two steps would correlate worse by its phase alone,
  // so the best lag is refined at the full rate, one coarse step either side.
  const fine = bestPlacement(signal, ref, coarse.lag * DECIMATE - DECIMATE, 2 * DECIMATE);
  return { seconds: (fine.lag ?? coarse.lag * DECIMATE) / RATE, correlation: fine.correlation };
}

/** The lag in [from, from + span] (samples of `signal`) where `ref` correlates best, and that correlation. */
function bestPlacement(signal: Float32Array, ref: Float32Array, from: number, span: number): { lag: number | null; correlation: number } {
  let rr = 0;
  for (const v of ref) rr += v * v;
  let best: { lag: number | null; correlation: number } = { lag: null, correlation: 0 };
  for (let lag = from; lag <= from + span; lag++) {
    let sr = 0;
    let ss = 0;
    for (let i = 0; i < ref.length; i++) {
      const x = signal[lag + i] ?? 0;
      sr += x * ref[i]!;
      ss += x * x;
    }
    const c = ss > 0 && rr > 0 ? sr / Math.sqrt(ss * rr) : 0;
    if (c > best.correlation) best = { lag, correlation: c };
  }
  return best;
}

/** Seconds -> 48 kHz samples. */
export const sec = (s: number): number => Math.round(s * RATE);

/** Speech-like: harmonics of a gliding pitch under a syllable envelope, seeded per speaker. */
export function voice(seconds: number, seed: number, level = 0.2): Int16Array {
  const rnd = prng(seed);
  const f0 = 100 + rnd() * 120;
  const n = sec(seconds);
  const out = new Int16Array(n * 2);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    phase += (f0 * (1 + 0.1 * Math.sin(i / 7000))) / 48000;
    let v = 0;
    for (let h = 1; h <= 10; h++) v += Math.sin(2 * Math.PI * h * phase + h * seed) / h;
    const env = Math.abs(Math.sin((Math.PI * i) / 12000));
    out[2 * i] = out[2 * i + 1] = Math.round(v * env * level * 32767 * 0.5);
  }
  return out;
}
