// npm run mix -- A.ogg B.ogg … -o OUT.(ogg|mp3|flac|wav) [--format F] [--level] [--normalize[=LUFS]] [--only LABEL,...]
// Mixes any Ogg Opus files (roomrec tracks, opusenc, ffmpeg) into one time-aligned file.
import { parseArgs } from 'node:util';
import { access, constants, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import {
  describeOutputError,
  displayNames,
  formatOfExtension,
  mixTracks,
  MixInputError,
  MixOutputError,
  OUTPUT_EXTENSIONS,
  type MixFormat,
  type MixResult,
} from '../src/audio/mixer.ts';
import { DEFAULT_LEVEL_TARGET_LUFS, DEFAULT_MAX_BOOST_DB, DEFAULT_TARGET_LUFS } from '../src/audio/loudness.ts';

const USAGE = `usage: npm run mix -- TRACK.ogg [TRACK.ogg …] -o OUT.(ogg|mp3|flac|wav) [--format F] [--level] [--normalize[=LUFS]] [--only LABEL,…]

  -o, --output FILE    the mix; the extension picks the format (.ogg/.opus Ogg Opus, .mp3, .flac, .wav);
                       it must not be one of the inputs
  --format F           ogg, opus, mp3, flac or wav: needed when FILE has no such extension
  --level              bring each speaker's speech to ${DEFAULT_LEVEL_TARGET_LUFS} LUFS before the sum (boosting by at most
                       ${DEFAULT_MAX_BOOST_DB} dB), as the bot's levelled mix does
  --normalize[=LUFS]   bring the mix to an integrated loudness (default ${DEFAULT_TARGET_LUFS} LUFS, ITU-R BS.1770)
  --only LABELS        comma-separated speakers to include; a track's label is its file name without
                       extension (a label two inputs share is refused: give that input's path as typed)
  -h, --help           this text`;

const FORMAT_NAMES: Record<string, MixFormat> = { ogg: 'ogg', opus: 'ogg', mp3: 'mp3', flac: 'flac', wav: 'wav' };

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
      normalize: { type: 'boolean', default: false },
      level: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError('no input tracks given');
  if (!values.output) throw new UsageError('no output file given (-o OUT.ogg)');
  return {
    inputs: positionals,
    output: values.output,
    format: outputFormat(values.output, values.format),
    normalize: values.normalize,
    level: values.level,
    only: values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

/** The extension names the format, or --format does; a name with neither is refused rather than guessed. */
function outputFormat(output: string, flag: string | undefined): MixFormat {
  const fromExtension = formatOfExtension(output);
  if (flag === undefined) {
    if (fromExtension) return fromExtension;
    throw new UsageError(`cannot tell the format of "${output}": end it in ${OUTPUT_EXTENSIONS.join(', ')} or give --format`);
  }
  const format = FORMAT_NAMES[flag.toLowerCase()];
  if (!format) throw new UsageError(`unknown --format "${flag}" (use ${Object.keys(FORMAT_NAMES).join(', ')})`);
  if (fromExtension && fromExtension !== format) throw new UsageError(`"${output}" is named as ${fromExtension} but --format says ${flag}`);
  return format;
}

/**
 * Where a path really leads (symlinks resolved), also for a file that does not exist yet. Null when even its
 * directory cannot be resolved: then it cannot be any input either, and checkOutputWritable says what is wrong.
 */
async function realTarget(path: string): Promise<string | null> {
  const unresolvable = () => null;
  const real = await realpath(path).catch(unresolvable);
  if (real !== null) return real;
  const dir = await realpath(dirname(resolve(path))).catch(unresolvable);
  return dir === null ? null : join(dir, basename(path));
}

/** Mixing into one of the inputs would destroy it: refuse (same real path, or the same file through a hard link). */
async function refuseOverwritingAnInput(output: string, inputs: string[]): Promise<void> {
  const target = await realTarget(output);
  const targetStat = await stat(output).catch(() => null);
  for (const input of inputs) {
    const inputStat = await stat(input).catch(() => null);
    const sameInode = targetStat && inputStat && targetStat.dev === inputStat.dev && targetStat.ino === inputStat.ino;
    if (sameInode || (target !== null && target === (await realTarget(input)))) {
      throw new UsageError(`the output "${output}" is the input "${input}": mixing would overwrite it; choose another output file`);
    }
  }
}

/** Fail before any decoding (a normalised mix decodes everything once before it writes) if OUT cannot be created. */
async function checkOutputWritable(output: string): Promise<void> {
  const dir = dirname(resolve(output));
  const existing = await stat(output).catch(() => null);
  if (existing?.isDirectory()) throw describeOutputError(output, Object.assign(new Error('is a directory'), { code: 'EISDIR' }));
  try {
    const d = await stat(dir);
    if (!d.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw describeOutputError(output, err);
  }
}

// `--normalize=-14` is friendlier than a separate flag; parseArgs treats booleans strictly, so peel it off first.
function splitNormalize(argv: string[]): { argv: string[]; targetLufs: number | null } {
  let targetLufs: number | null = null;
  const rest = argv.filter((a) => {
    const m = /^--normalize=(.+)$/.exec(a);
    if (!m) return true;
    targetLufs = Number(m[1]);
    if (!Number.isFinite(targetLufs) || targetLufs > 0 || targetLufs < -70)
      throw new UsageError(`--normalize wants a loudness in LUFS like -16, got "${m[1]}"`);
    return false;
  });
  return { argv: rest, targetLufs: targetLufs ?? (rest.includes('--normalize') ? DEFAULT_TARGET_LUFS : null) };
}

/**
 * What the reader reads differently from what the inputs to be mixed say (a granule position not believed,
 * lost pages), one line each, before the mix starts. An input that cannot be read is left to the mix, which
 * refuses it in its own words.
 */
function describe(r: MixResult, inputs: string[]): string {
  const names = displayNames(inputs);
  const nameOf = (path: string) => names[inputs.indexOf(path)] ?? path;
  // Rounded to tenths before it is split, so 59.97 s reads 1:00.0, not 0:60.0.
  const tenths = Math.round(r.durationSamples / 4_800);
  const parts = [
    `${basename(r.output)}: ${r.format}, ${r.inputs} track${r.inputs === 1 ? '' : 's'}, ${Math.floor(tenths / 600)}:${((tenths % 600) / 10).toFixed(1).padStart(4, '0')}`,
    `peak ${(20 * Math.log10(Math.max(r.peak, 1e-9))).toFixed(1)} dBFS`,
  ];
  if (r.limitedSamples > 0)
    parts.push(`limiter active on ${((r.limitedSamples / Math.max(1, r.durationSamples)) * 100).toFixed(2)} % of the mix`);
  if (r.loudness)
    parts.push(
      `loudness ${r.loudness.measuredLufs.toFixed(1)} LUFS -> ${r.loudness.targetLufs} LUFS (${r.loudness.gainDb >= 0 ? '+' : ''}${r.loudness.gainDb.toFixed(1)} dB)`,
    );
  for (const s of r.levelling?.speakers ?? []) {
    const db = `${s.gainDb >= 0 ? '+' : ''}${s.gainDb.toFixed(1)} dB`;
    parts.push(Number.isFinite(s.speechLufs) ? `${s.label} ${s.speechLufs.toFixed(1)} LUFS ${db}` : `${s.label}: no speech, ${db}`);
  }
  for (const t of r.truncatedInputs) parts.push(`${nameOf(t)} is cut off (recorder crash?): mixed up to its last complete page`);
  if (r.decode.undecodablePackets > 0) parts.push(`${r.decode.undecodablePackets} undecodable packets played as silence`);
  return parts.join('; ');
}

async function main(): Promise<number> {
  let args;
  let targetLufs: number | null;
  try {
    const split = splitNormalize(process.argv.slice(2));
    targetLufs = split.targetLufs;
    args = parse(split.argv);
    if (args) await refuseOverwritingAnInput(args.output, args.inputs);
  } catch (err) {
    if (err instanceof UsageError || err instanceof MixInputError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`mix: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (!args) {
    console.log(USAGE);
    return 0;
  }
  try {
    await checkOutputWritable(args.output);
  } catch (err) {
    if (!(err instanceof MixOutputError)) throw err;
    console.error(`mix: ${err.message}`);
    return 1;
  }

  const bar = process.stdout.isTTY
    ? new cliProgress.SingleBar(
        { format: 'mixing [{bar}] {percentage}% | {eta_formatted} left', hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  let barStarted = false;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  try {
    const result = await mixTracks({
      inputs: args.inputs.map((path) => ({ path })),
      output: args.output,
      format: args.format,
      ...(args.only ? { include: args.only } : {}),
      ...(targetLufs !== null ? { normalize: { targetLufs } } : {}),
      level: args.level,
      signal: controller.signal,
      onInputWarning: (name, warning) => console.error(`mix: warning: ${name}: ${warning}`),
      onProgress: (done, total) => {
        if (!bar) return;
        if (!barStarted) bar.start(total, done);
        barStarted = true;
        bar.update(done);
      },
    });
    bar?.stop();
    console.log(describe(result, args.inputs));
    return 0;
  } catch (err) {
    bar?.stop();
    if (err instanceof MixInputError || err instanceof MixOutputError) {
      console.error(`mix: ${err.message}`);
      return 1;
    }
    if (controller.signal.aborted) {
      console.error('mix: interrupted; no output written');
      return 130;
    }
    throw err;
  }
}

process.exitCode = await main();
