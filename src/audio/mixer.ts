// Tracks -> one time-aligned mix. Every track starts at sample 0 (the recording's start), so mixing is
// plain summation on a shared timeline: in float (no wrap-around possible), then the look-ahead limiter,
// then an encoder. Memory is bounded: one block of mix (1 s) per track and a few blocks of read-ahead.
//
//   track files --scan--> decoding threads (decode-pool.ts; or this thread for a small mix, track-grid.ts)
//      --rows of 1 s int16 blocks per track (null when silent)--> accumulate, in input order --> float block
//      --(x normalisation gain)--> PeakLimiter --> Encoder (ogg | mp3 | flac | wav) on its thread --> temp file
//      --rename--> output
//
// Where a track is decoded changes nothing in the sum: the blocks are the same, and they are added in the
// same order. With normalisation on, a first pass runs the same summation into a BS.1770 meter only (no
// limiter, no encoder) to find the gain. Levelling (docs/mixing.md) runs a pass before that: each track's
// speech into a meter of its own, to find each track's gain.
import { basename, dirname, extname } from 'node:path';
import { rename, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { trackFromScan, newStats, type DecodeStats, type DecodedTrack } from './track-decoder.ts';
import { MediaFormatError, scanOggOpus } from './ogg-opus-reader.ts';
import type { OggOpusScan } from './ogg-opus-stream.ts';
import { LocalGrids, type GridRow, type GridSource } from './track-grid.ts';
import { DecodePool } from './decode-pool.ts';
import { PeakLimiter } from './limiter.ts';
import {
  LoudnessMeter,
  SpeechLoudness,
  levellingGain,
  normalisationGain,
  DEFAULT_LEVEL_TARGET_LUFS,
  DEFAULT_MAX_BOOST_DB,
  DEFAULT_TARGET_LUFS,
} from './loudness.ts';
import { MIX_FORMATS, type Encoder, type EncoderOptions, type MixFormat } from './encoders/index.ts';
import { createEncoderInWorker } from './encoders/worker-client.ts';

export type { MixFormat } from './encoders/index.ts';

export interface MixInput {
  path: string;
  /** Speaker name used by `include` (which also accepts `path` itself); defaults to the file name without extension. */
  label?: string;
  /** Linear gain, default 1. */
  gain?: number;
}

export interface MixOptions {
  inputs: MixInput[];
  output: string;
  /** Default: from the output extension (.ogg/.opus, .mp3, .flac, .wav), else ogg. */
  format?: MixFormat;
  /** Speakers to include (default all): each entry is a label or an input's path exactly as given. */
  include?: string[];
  /** The recording's notes as chapters, for the formats that carry them in the file (EncoderOptions.chapters). */
  chapters?: EncoderOptions['chapters'];
  normalize?: boolean | { targetLufs: number };
  /**
   * Level the speakers: a first pass measures each input's speech loudness (SpeechLoudness), and each is then
   * mixed at the gain that brings it to `targetLufs` (default DEFAULT_LEVEL_TARGET_LUFS), boosted by at most
   * `maxBoostDb` (default DEFAULT_MAX_BOOST_DB). Before normalisation when both are asked for.
   */
  level?: boolean | { targetLufs?: number; maxBoostDb?: number };
  /** Called once the inputs are read, before mixing, for each thing read differently from what a file says. */
  onInputWarning?: (name: string, warning: string) => void;
  /** Called after each block. Levelling and normalisation each add a pass, so total is a multiple of the length. */
  onProgress?: (doneSamples: number, totalSamples: number) => void;
  signal?: AbortSignal;
  /** Encode on a worker thread, so encoding runs beside decoding and summing (default true). */
  encoderThread?: boolean;
  /**
   * Threads decoding the tracks (each takes a share). Default: one per core, at most one per track, and none
   * for a mix of under 2 minutes of track audio in all. 0 decodes on the calling thread.
   */
  decodeThreads?: number;
}

export interface MixResult {
  output: string;
  format: MixFormat;
  /** Mix length in 48 kHz samples. */
  durationSamples: number;
  /** Largest absolute sample (linear) after the limiter. */
  peak: number;
  /** Sample frames the limiter had to turn down. */
  limitedSamples: number;
  inputs: number;
  /** Inputs that end mid-page or without an end-of-stream page (a crashed recorder): mixed up to their last whole page. */
  truncatedInputs: string[];
  /** Set when normalisation ran: loudness before, and the gain applied. */
  loudness?: { measuredLufs: number; targetLufs: number; gainDb: number };
  /** Set when levelling ran: each input's speech loudness before (LUFS; -Infinity: no speech) and its gain. */
  levelling?: { targetLufs: number; speakers: { label: string; speechLufs: number; gainDb: number }[] };
  decode: DecodeStats;
}

/** Bad input or options: the message is meant for the user as is. */
export class MixInputError extends Error {
  override name = 'MixInputError';
}

/** The output cannot be written (missing directory, permissions, full disk): the message is meant for the user as is. */
export class MixOutputError extends Error {
  override name = 'MixOutputError';
}

export const MIX_BLOCK_FRAMES = 48_000;

const EXTENSIONS: Record<string, MixFormat> = {
  '.ogg': 'ogg',
  '.opus': 'ogg',
  '.oga': 'ogg',
  '.mp3': 'mp3',
  '.flac': 'flac',
  '.wav': 'wav',
};

export const OUTPUT_EXTENSIONS: readonly string[] = Object.keys(EXTENSIONS);

/** The format a path's extension names, or null when it has no extension or one the mixer does not write. */
export function formatOfExtension(path: string): MixFormat | null {
  return EXTENSIONS[extname(path).toLowerCase()] ?? null;
}

/** Output format for a path: its extension, or ogg when there is none. Throws MixInputError for an unknown one. */
export function formatForPath(path: string): MixFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '') return 'ogg';
  const format = formatOfExtension(path);
  if (!format) throw new MixInputError(`unknown output format "${ext}" (use ${OUTPUT_EXTENSIONS.join(', ')})`);
  return format;
}

export function labelOf(input: MixInput): string {
  return input.label ?? basename(input.path, extname(input.path));
}

/**
 * How messages name each path: its file name, unless another path has the same file name (dup1/x.ogg and
 * dup2/x.ogg), then the path as given, so the user can tell which one is meant.
 */
export function displayNames(paths: readonly string[]): string[] {
  const count = new Map<string, number>();
  for (const p of paths) count.set(basename(p), (count.get(basename(p)) ?? 0) + 1);
  return paths.map((p) => ((count.get(basename(p)) ?? 0) > 1 ? p : basename(p)));
}

/**
 * The inputs `include` asks for. An entry matches an input's path exactly as given, or else its label; a
 * label shared by several inputs is refused rather than guessed (the message lists them).
 */
function selectInputs(inputs: MixInput[], include: string[]): MixInput[] {
  const selected = new Set<MixInput>();
  const unknown: string[] = [];
  for (const entry of include) {
    const byPath = inputs.filter((i) => i.path === entry);
    const matches = byPath.length > 0 ? byPath : inputs.filter((i) => labelOf(i) === entry);
    if (matches.length === 0) unknown.push(entry);
    else if (byPath.length === 0 && matches.length > 1) {
      throw new MixInputError(
        `speaker "${entry}" is ambiguous: ${matches.map((i) => i.path).join(' and ')} share that label; give the path of the one you mean (e.g. --only ${matches[0]?.path ?? entry}) or rename the files`,
      );
    }
    for (const m of matches) selected.add(m);
  }
  if (unknown.length > 0) {
    const known = new Set(inputs.map(labelOf));
    throw new MixInputError(`no track for speaker ${unknown.map((l) => `"${l}"`).join(', ')} (have ${[...known].join(', ')})`);
  }
  return inputs.filter((i) => selected.has(i));
}

/**
 * Adds `frames` frames of int16 `src` (mono or stereo interleaved), from frame `srcFrame`, times `scale`,
 * into stereo interleaved float `dst` at frame `dstFrame`. Mono feeds both channels.
 */
export function accumulate(
  dst: Float32Array,
  dstFrame: number,
  src: Int16Array,
  srcChannels: 1 | 2,
  srcFrame: number,
  frames: number,
  scale: number,
): void {
  let d = dstFrame * 2;
  if (srcChannels === 2) {
    const end = (srcFrame + frames) * 2;
    for (let s = srcFrame * 2; s < end; s += 2, d += 2) {
      dst[d] = dst[d]! + src[s]! * scale;
      dst[d + 1] = dst[d + 1]! + src[s + 1]! * scale;
    }
  } else {
    const end = srcFrame + frames;
    for (let s = srcFrame; s < end; s++, d += 2) {
      const v = src[s]! * scale;
      dst[d] = dst[d]! + v;
      dst[d + 1] = dst[d + 1]! + v;
    }
  }
}

interface OpenedInput {
  input: MixInput;
  /** How messages name it (displayNames). */
  name: string;
  track: DecodedTrack;
  scan: OggOpusScan;
}

async function openInputs(inputs: MixInput[], names: string[]): Promise<OpenedInput[]> {
  return Promise.all(
    inputs.map(async (input, i) => {
      const name = names[i] ?? input.path;
      try {
        const scan = await scanOggOpus(input.path);
        return { input, name, track: trackFromScan(input.path, scan), scan };
      } catch (err) {
        throw describeInputError(input.path, err, name);
      }
    }),
  );
}

export function describeInputError(path: string, err: unknown, name = basename(path)): Error {
  if (err instanceof MediaFormatError) return new MixInputError(`${name}: ${err.message}`, { cause: err });
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new MixInputError(`${name}: no such file`, { cause: err });
  if (code === 'EISDIR') return new MixInputError(`${name}: is a directory, not a track`, { cause: err });
  if (code === 'EACCES') return new MixInputError(`${name}: permission denied`, { cause: err });
  return err instanceof Error ? err : new Error(String(err));
}

/** Why `output` cannot be written, for the errno codes a user can act on; anything else is returned as is. */
export function describeOutputError(output: string, err: unknown): Error {
  if (err instanceof MixOutputError) return err;
  const dir = dirname(output);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: `directory ${dir} does not exist`,
    ENOTDIR: `${dir} is not a directory`,
    EISDIR: `${output} is a directory`,
    EACCES: `permission denied (directory ${dir})`,
    EPERM: `permission denied (directory ${dir})`,
    EROFS: `${dir} is on a read-only file system`,
    ENOSPC: 'no space left on the disk; nothing was written',
    EDQUOT: 'disk quota exceeded; nothing was written',
    EFBIG: 'the file would be larger than this system allows; nothing was written',
  };
  const reason = code === undefined ? undefined : reasons[code];
  if (reason === undefined) return err instanceof Error ? err : new Error(String(err));
  return new MixOutputError(`cannot write ${output}: ${reason}`, { cause: err });
}

// Below this many bytes of input in all (about 0.4 s of decoding on one core: 2 minutes of continuous
// 128 kbit/s Opus, far longer of a Discord track with pauses), starting decoding threads costs more than
// they save.
const THREADS_FROM_BYTES = 2_000_000;

/** Decoding threads for a mix: one per core, at most one per track; none for a small one. */
async function decodeThreadsFor(inputs: MixInput[]): Promise<number> {
  // A file that cannot be read counts for nothing here; opening it reports why.
  const sizes = await Promise.all(
    inputs.map((i) =>
      stat(i.path).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  const bytes = sizes.reduce((a, b) => a + b, 0);
  return bytes < THREADS_FROM_BYTES ? 0 : Math.min(availableParallelism(), inputs.length);
}

/**
 * Reads the rows of the whole timeline from `source` (closed at the end), handing each to `use` with the
 * frames of it that are inside the mix. Returns the mix length.
 */
async function readRows(
  source: GridSource,
  knownLength: number,
  stats: DecodeStats,
  use: (row: GridRow, frames: number) => Promise<void> | void,
  progress: (t: number) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  try {
    for (let t = 0; ; t += MIX_BLOCK_FRAMES) {
      signal?.throwIfAborted();
      const row = await source.next();
      const allDone = row.done.every(Boolean);
      const length = Math.max(knownLength, ...row.ends);
      const frames = Math.max(0, Math.min(MIX_BLOCK_FRAMES, length - t));
      // `use` is done with the row's buffers once it returns: they go back to the decoders while it writes.
      const pending = use(row, frames);
      source.recycle(row);
      await pending;
      progress(Math.min(t + MIX_BLOCK_FRAMES, length));
      if (allDone && t + MIX_BLOCK_FRAMES >= length) return length;
    }
  } finally {
    const decoded = source.stats();
    stats.decodedPackets += decoded.decodedPackets;
    stats.skippedPackets += decoded.skippedPackets;
    stats.undecodablePackets += decoded.undecodablePackets;
    await source.close();
  }
}

/** Sums every row (track i times `scales[i]`), calling `sink` with each mixed block (reused between calls). */
function sumTracks(
  source: GridSource,
  opened: OpenedInput[],
  scales: number[],
  knownLength: number,
  stats: DecodeStats,
  sink: (block: Float32Array) => Promise<void> | void,
  progress: (t: number) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  const mix = new Float32Array(MIX_BLOCK_FRAMES * 2);
  const sum = (row: GridRow, frames: number) => {
    mix.fill(0);
    for (const [i, pcm] of row.pcm.entries()) {
      if (pcm) accumulate(mix, 0, pcm, opened[i]!.track.channels, 0, MIX_BLOCK_FRAMES, scales[i]!);
    }
    return frames > 0 ? sink(frames === MIX_BLOCK_FRAMES ? mix : mix.subarray(0, frames * 2)) : undefined;
  };
  return readRows(source, knownLength, stats, sum, progress, signal);
}

/** Each track's speech loudness as it sounds in the mix (times `scales[i]`), LUFS (SpeechLoudness). */
async function measureSpeech(
  source: GridSource,
  opened: OpenedInput[],
  scales: number[],
  knownLength: number,
  progress: (t: number) => void,
  signal: AbortSignal | undefined,
): Promise<number[]> {
  const meters = opened.map(() => new SpeechLoudness());
  const measure = (row: GridRow, frames: number) => {
    for (const [i, pcm] of row.pcm.entries()) meters[i]!.add(pcm, opened[i]!.track.channels, frames, scales[i]!);
  };
  await readRows(source, knownLength, newStats(), measure, progress, signal);
  return meters.map((m) => m.integrated());
}

function scaleInPlace(block: Float32Array, gain: number): void {
  if (gain === 1) return;
  for (let i = 0; i < block.length; i++) block[i] = block[i]! * gain;
}

export async function mixTracks(opts: MixOptions): Promise<MixResult> {
  if (opts.inputs.length === 0) throw new MixInputError('no input tracks');
  const format = opts.format ?? formatForPath(opts.output);
  if (!MIX_FORMATS.includes(format)) throw new MixInputError(`unknown output format "${String(format)}"`);
  const selected = opts.include ? selectInputs(opts.inputs, opts.include) : opts.inputs;
  if (selected.length === 0) throw new MixInputError('no speaker selected');

  const names = displayNames(opts.inputs.map((i) => i.path));
  const threads = opts.decodeThreads ?? (await decodeThreadsFor(selected));
  // Started before the files are scanned, so the threads load meanwhile; a second pass gets threads of its own.
  let pool = threads > 0 ? new DecodePool(threads) : null;
  try {
    const opened = await openInputs(
      selected,
      selected.map((i) => names[opts.inputs.indexOf(i)] ?? i.path),
    );
    const rows = (): GridSource => {
      const tracks = opened.map(({ track, scan }) => ({ path: track.path, scan }));
      // A page or packet that turns out bad mid-mix must still name its file.
      const fail = (i: number, err: unknown) => describeInputError(opened[i]!.track.path, err, opened[i]!.name);
      const threadsOfPass = pool ?? (threads > 0 ? new DecodePool(threads) : null);
      pool = null;
      if (!threadsOfPass) return new LocalGrids(tracks, MIX_BLOCK_FRAMES, fail);
      threadsOfPass.start(tracks, MIX_BLOCK_FRAMES, fail);
      return threadsOfPass;
    };
    return await mixOpened(opts, format, opened, rows);
  } finally {
    await pool?.close();
  }
}

async function mixOpened(opts: MixOptions, format: MixFormat, opened: OpenedInput[], rows: () => GridSource): Promise<MixResult> {
  for (const o of opened) for (const w of o.track.warnings) opts.onInputWarning?.(o.name, w);
  const knownLength = Math.max(0, ...opened.map((o) => o.track.totalSamples ?? 0));
  const passes = 1 + (opts.normalize ? 1 : 0) + (opts.level ? 1 : 0);
  const stats = newStats();
  const report = (pass: number) => (t: number) => opts.onProgress?.(pass * knownLength + Math.min(t, knownLength), passes * knownLength);

  const scales = opened.map(({ input, track }) => ((input.gain ?? 1) * track.headGain) / 32768);
  let levelling: MixResult['levelling'];
  if (opts.level) {
    const { targetLufs = DEFAULT_LEVEL_TARGET_LUFS, maxBoostDb = DEFAULT_MAX_BOOST_DB } = opts.level === true ? {} : opts.level;
    const speech = await measureSpeech(rows(), opened, scales, knownLength, report(0), opts.signal);
    const gains = speech.map((lufs) => levellingGain(lufs, targetLufs, maxBoostDb));
    gains.forEach((g, i) => (scales[i] = scales[i]! * g));
    levelling = {
      targetLufs,
      speakers: opened.map((o, i) => ({ label: labelOf(o.input), speechLufs: speech[i]!, gainDb: 20 * Math.log10(gains[i]!) })),
    };
  }

  let gain = 1;
  let loudness: MixResult['loudness'];
  if (opts.normalize) {
    const targetLufs = typeof opts.normalize === 'object' ? opts.normalize.targetLufs : DEFAULT_TARGET_LUFS;
    const meter = new LoudnessMeter();
    await sumTracks(rows(), opened, scales, knownLength, newStats(), (block) => meter.add(block), report(passes - 2), opts.signal);
    const measuredLufs = meter.integrated();
    gain = normalisationGain(measuredLufs, targetLufs);
    loudness = { measuredLufs, targetLufs, gainDb: 20 * Math.log10(gain) };
  }

  // Decoding starts while the encoder's thread loads.
  const source = rows();
  let sink: LimitedEncoder;
  try {
    sink = await LimitedEncoder.open({
      format,
      output: opts.output,
      partial: `${opts.output}.partial-${process.pid}`,
      totalFrames: knownLength,
      tags: mixTags(opened),
      thread: opts.encoderThread ?? true,
      ...(opts.chapters ? { chapters: opts.chapters } : {}),
    });
  } catch (err) {
    await source.close();
    throw describeOutputError(opts.output, err);
  }
  let length: number;
  try {
    length = await sumTracks(
      source,
      opened,
      scales,
      knownLength,
      stats,
      async (block) => {
        scaleInPlace(block, gain);
        await sink.write(block).catch((err: unknown) => {
          throw describeOutputError(opts.output, err);
        });
      },
      report(passes - 1),
      opts.signal,
    );
  } catch (err) {
    await sink.abort();
    throw err;
  }
  await sink.finish().catch((err: unknown) => {
    throw describeOutputError(opts.output, err);
  });
  const limiter = sink.limiter;
  return {
    output: opts.output,
    format,
    durationSamples: length,
    peak: limiter.peak,
    limitedSamples: limiter.limitedFrames,
    inputs: opened.length,
    truncatedInputs: opened.filter((o) => o.track.truncated).map((o) => o.input.path),
    ...(loudness ? { loudness } : {}),
    ...(levelling ? { levelling } : {}),
    decode: stats,
  };
}

/**
 * The output stage every mix shares: mixed float blocks -> PeakLimiter -> encoder (on a worker thread) ->
 * a partial file, renamed to the output only once it is complete.
 */
export class LimitedEncoder {
  readonly limiter = new PeakLimiter();
  readonly output: string;
  /** The encoder runs on a worker thread of its own. */
  readonly encoderThread: boolean;
  #partial: string;
  #encoder: Encoder;
  // finish() or abort() has run: the encoder is gone either way.
  #settled = false;

  private constructor(output: string, partial: string, encoder: Encoder, encoderThread: boolean) {
    this.output = output;
    this.encoderThread = encoderThread;
    this.#partial = partial;
    this.#encoder = encoder;
  }

  static async open(opts: {
    format: MixFormat;
    output: string;
    partial: string;
    /** Frames the mix will have, or 0 when not known yet (headers are patched at the end). */
    totalFrames: number;
    tags: Record<string, string>;
    thread: boolean;
    chapters?: EncoderOptions['chapters'];
  }): Promise<LimitedEncoder> {
    await rm(opts.partial, { force: true });
    const encoderOptions: EncoderOptions = {
      path: opts.partial,
      totalFrames: opts.totalFrames,
      tags: opts.tags,
      ...(opts.chapters ? { chapters: opts.chapters } : {}),
    };
    let encoder: Encoder;
    try {
      encoder = await createEncoderInWorker(opts.format, encoderOptions, { thread: opts.thread });
    } catch (err) {
      // The encoder may have created the file before failing on its headers (a full disk).
      await rm(opts.partial, { force: true });
      throw err;
    }
    return new LimitedEncoder(opts.output, opts.partial, encoder, opts.thread);
  }

  async write(block: Float32Array): Promise<void> {
    const out = this.limiter.process(block);
    if (out.length > 0) await this.#encoder.write(out);
  }

  /** Flushes the limiter, completes the file and renames it to the output; aborts (removing it) on failure. */
  async finish(): Promise<void> {
    this.#settled = true;
    try {
      await this.#encoder.write(this.limiter.flush());
      await this.#encoder.finish();
    } catch (err) {
      await this.#encoder.abort();
      throw err;
    }
    try {
      await rename(this.#partial, this.output);
    } catch (err) {
      await rm(this.#partial, { force: true });
      throw err;
    }
  }

  /** Stops the encoder and removes the partial file; does nothing once finish() has run. */
  async abort(): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    await this.#encoder.abort();
  }
}

function mixTags(opened: OpenedInput[]): Record<string, string> {
  const tags: Record<string, string> = { ENCODER: 'roomrec', SPEAKERS: opened.map((o) => labelOf(o.input)).join(', ') };
  const recording = opened.map((o) => o.track.comments['ROOMREC_RECORDING']).find((r) => r !== undefined);
  if (recording) tags['ROOMREC_RECORDING'] = recording;
  return tags;
}
