// npm run mix -- A.ogg B.ogg … -o OUT.(ogg|mp3|flac|wav) [--normalize[=LUFS]] [--only LABEL,...]
// Mixes any Ogg Opus files (roomrec tracks, opusenc, ffmpeg) into one time-aligned file.
import { parseArgs } from 'node:util';
import { basename } from 'node:path';
import cliProgress from 'cli-progress';
import { formatForPath, mixTracks, MixInputError, type MixResult } from '../src/audio/mixer.ts';
import { DEFAULT_TARGET_LUFS } from '../src/audio/loudness.ts';

const USAGE = `usage: npm run mix -- TRACK.ogg [TRACK.ogg …] -o OUT.(ogg|mp3|flac|wav) [--normalize[=LUFS]] [--only LABEL,…]

  -o, --output FILE    the mix; the extension picks the format (.ogg/.opus Ogg Opus, .mp3, .flac, .wav)
  --normalize[=LUFS]   bring the mix to an integrated loudness (default ${DEFAULT_TARGET_LUFS} LUFS, ITU-R BS.1770)
  --only LABELS        comma-separated speakers to include; a track's label is its file name without extension
  -h, --help           this text`;

class UsageError extends Error {}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      normalize: { type: 'boolean', default: false },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return null;
  if (positionals.length === 0) throw new UsageError('no input tracks given');
  if (!values.output) throw new UsageError('no output file given (-o OUT.ogg)');
  return { inputs: positionals, output: values.output, normalize: values.normalize, only: values.only };
}

// `--normalize=-14` is friendlier than a separate flag; parseArgs treats booleans strictly, so peel it off first.
function splitNormalize(argv: string[]): { argv: string[]; targetLufs: number | null } {
  let targetLufs: number | null = null;
  const rest = argv.filter((a) => {
    const m = /^--normalize=(.+)$/.exec(a);
    if (!m) return true;
    targetLufs = Number(m[1]);
    if (!Number.isFinite(targetLufs) || targetLufs > 0 || targetLufs < -70) throw new UsageError(`--normalize wants a loudness in LUFS like -16, got "${m[1]}"`);
    return false;
  });
  return { argv: rest, targetLufs: targetLufs ?? (rest.includes('--normalize') ? DEFAULT_TARGET_LUFS : null) };
}

function describe(r: MixResult): string {
  const seconds = r.durationSamples / 48_000;
  const parts = [
    `${basename(r.output)}: ${r.format}, ${r.inputs} track${r.inputs === 1 ? '' : 's'}, ${Math.floor(seconds / 60)}:${(seconds % 60).toFixed(1).padStart(4, '0')}`,
    `peak ${(20 * Math.log10(Math.max(r.peak, 1e-9))).toFixed(1)} dBFS`,
  ];
  if (r.limitedSamples > 0) parts.push(`limiter active on ${((r.limitedSamples / Math.max(1, r.durationSamples)) * 100).toFixed(2)} % of the mix`);
  if (r.loudness) parts.push(`loudness ${r.loudness.measuredLufs.toFixed(1)} LUFS -> ${r.loudness.targetLufs} LUFS (${r.loudness.gainDb >= 0 ? '+' : ''}${r.loudness.gainDb.toFixed(1)} dB)`);
  for (const t of r.truncatedInputs) parts.push(`${basename(t)} is cut off (recorder crash?): mixed up to its last complete page`);
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
    if (args) formatForPath(args.output);
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

  const bar = process.stdout.isTTY
    ? new cliProgress.SingleBar({ format: 'mixing [{bar}] {percentage}% | {eta_formatted} left', hideCursor: true }, cliProgress.Presets.shades_classic)
    : null;
  let barStarted = false;
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  try {
    const result = await mixTracks({
      inputs: args.inputs.map((path) => ({ path })),
      output: args.output,
      ...(args.only ? { include: args.only.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
      ...(targetLufs !== null ? { normalize: { targetLufs } } : {}),
      signal: controller.signal,
      onProgress: (done, total) => {
        if (!bar) return;
        if (!barStarted) bar.start(total, done);
        barStarted = true;
        bar.update(done);
      },
    });
    bar?.stop();
    console.log(describe(result));
    return 0;
  } catch (err) {
    bar?.stop();
    if (err instanceof MixInputError) {
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
