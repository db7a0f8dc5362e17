// Mixer benchmark (issue 3, item 7): N speakers x M minutes talking in turns, delivered as Discord does
// (Opus packets only while someone talks; the recorder fills pauses with exact-silence packets), mixed to
// Ogg Opus and MP3 by roomrec and by ffmpeg's amix in the same run.
//
// Each measured mix runs in a fresh child process (this file with --job), so wall time includes start-up
// for both sides and the peak RSS is the mixer's own.
//
// The opusenc case (issue 10, item 11) is the full re-mix's worst case: every track is continuous audio
// encoded by `opusenc` (no exact-silence packets, so every packet is decoded), mixed by `npm run mix` and by
// ffmpeg's amix in alternation, each in a fresh child process, the median of several runs on each side.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { createOpusEncoder, OPUS_FRAME } from '../../src/audio/opus-codec.ts';
import { mixTracks, type MixFormat } from '../../src/audio/mixer.ts';
// The same seeded PRNG the tests use, so every run benchmarks the same conversation.
import { prng } from '../../tests/helpers/audio.ts';
import { median } from './stats.ts';

const RATE = 48_000;

export interface MixerBenchOptions {
  speakers: number;
  minutes: number;
  /** Leave the generated tracks and mixes on disk (for listening or profiling). */
  keep?: boolean;
  /** Judge the targets (they are set for 10 speakers x 10 min; start-up dominates smaller runs). */
  judge?: boolean;
  log: (line: string) => void;
}

export interface Turn {
  speaker: number;
  start: number; // frames (20 ms units)
  frames: number;
}

/** Turns of 2-8 s, one speaker at a time (the next picked at random), 0.3-1.5 s pauses between. */
export function conversation(speakers: number, totalFrames: number, rnd: () => number): Turn[] {
  const turns: Turn[] = [];
  let at = Math.round(25 + rnd() * 50);
  let speaker = 0;
  while (at < totalFrames) {
    const frames = Math.min(totalFrames - at, Math.round(100 + rnd() * 300));
    turns.push({ speaker, start: at, frames });
    at += frames + Math.round(15 + rnd() * 60);
    speaker = (speaker + 1 + Math.floor(rnd() * (speakers - 1))) % speakers;
  }
  return turns;
}

// Vowel formants (Hz) for a crude source-filter voice: glottal pulses through three resonators.
const VOWELS = [
  [730, 1090, 2440],
  [270, 2290, 3010],
  [530, 1840, 2480],
  [570, 840, 2410],
  [300, 870, 2240],
];

/** A synthetic voice: pitch contour, syllables at ~4 Hz, formant changes per syllable, some fricatives. */
class Voice {
  #rnd: () => number;
  #f0: number;
  #phase = 0;
  #state = new Float64Array(6);
  #coef = new Float64Array(9);
  #t = 0;
  #syllable = 0;

  constructor(speaker: number, seed: number) {
    this.#rnd = prng(seed);
    this.#f0 = 95 + ((speaker * 37) % 130);
    this.#pickVowel();
  }

  #pickVowel(): void {
    const v = VOWELS[Math.floor(this.#rnd() * VOWELS.length)]!;
    for (let k = 0; k < 3; k++) {
      const f = v[k]! * (0.9 + this.#rnd() * 0.2);
      const r = Math.exp((-Math.PI * (60 + 40 * k)) / RATE);
      this.#coef[k * 3] = 2 * r * Math.cos((2 * Math.PI * f) / RATE);
      this.#coef[k * 3 + 1] = -r * r;
      this.#coef[k * 3 + 2] = (1 - r) * (k === 0 ? 1 : 0.5);
    }
  }

  /** Fills one 20 ms stereo int16 frame. */
  frame(out: Int16Array): void {
    const s = this.#state;
    const c = this.#coef;
    for (let i = 0; i < OPUS_FRAME; i++, this.#t++) {
      const syllablePos = (this.#t % 12_000) / 12_000;
      if (this.#t % 12_000 === 0) {
        this.#syllable++;
        this.#pickVowel();
      }
      const f0 = this.#f0 * (1 + 0.08 * Math.sin(this.#t / 9000 + this.#syllable));
      this.#phase += f0 / RATE;
      let src = 0;
      if (this.#phase >= 1) {
        this.#phase -= 1;
        src = 1;
      }
      const fricative = this.#syllable % 5 === 4 && syllablePos < 0.3;
      const excitation = fricative ? (this.#rnd() * 2 - 1) * 0.15 : src * 6 + (this.#rnd() * 2 - 1) * 0.01;
      let y = 0;
      for (let k = 0; k < 3; k++) {
        const v = c[k * 3 + 2]! * excitation + c[k * 3]! * s[k * 2]! + c[k * 3 + 1]! * s[k * 2 + 1]!;
        s[k * 2 + 1] = s[k * 2]!;
        s[k * 2] = v;
        y += v;
      }
      const envelope = Math.sin(Math.PI * syllablePos) ** 0.5;
      const v = Math.max(-32767, Math.min(32767, Math.round(y * envelope * 2600)));
      out[i * 2] = v;
      out[i * 2 + 1] = v;
    }
  }
}

/**
 * Writes one speaker's track as the recorder would: their packets while they talk, silence packets between;
 * `gainDb` makes them a quieter or louder speaker.
 */
export async function writeSpeakerTrack(path: string, speaker: number, turns: Turn[], totalFrames: number, gainDb = 0): Promise<void> {
  const gain = 10 ** (gainDb / 20);
  const writer = await OggOpusWriter.create({ path, comments: { ARTIST: `speaker${speaker + 1}` } });
  const encoder = createOpusEncoder({ bitrate: 64_000, complexity: 5 });
  const voice = new Voice(speaker, 1000 + speaker);
  const pcm = new Int16Array(OPUS_FRAME * 2);
  let at = 0;
  const fillTo = (frame: number) => {
    if (frame > at) for (const s of silencePackets((frame - at) * OPUS_FRAME)) writer.writePacket(s.packet, s.samples);
    at = Math.max(at, frame);
  };
  for (const turn of turns) {
    if (turn.speaker !== speaker) continue;
    fillTo(turn.start);
    for (let f = 0; f < turn.frames; f++) {
      voice.frame(pcm);
      if (gain !== 1) for (let i = 0; i < pcm.length; i++) pcm[i] = Math.max(-32767, Math.min(32767, Math.round(pcm[i]! * gain)));
      writer.writePacket(encoder.encode(pcm), OPUS_FRAME);
    }
    at += turn.frames;
  }
  fillTo(totalFrames);
  await writer.close();
}

/** 16-bit PCM WAV header for `frames` stereo 48 kHz frames. */
function wavHeader(frames: number): Buffer {
  const h = Buffer.alloc(44);
  const bytes = frames * 4;
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + bytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(2, 22);
  h.writeUInt32LE(RATE, 24);
  h.writeUInt32LE(RATE * 4, 28);
  h.writeUInt16LE(4, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(bytes, 40);
  return h;
}

/**
 * One speaker talking without a pause over a room's noise floor (independent per channel, about -46 dBFS),
 * as a WAV piped into opusenc at its defaults: every frame carries audio, none is exact silence.
 */
async function writeOpusencTrack(path: string, speaker: number, minutes: number): Promise<void> {
  const child = spawn('opusenc', ['--quiet', '-', path], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(child, 'close') as Promise<[number | null]>;
  const voice = new Voice(speaker, 2000 + speaker);
  const rnd = prng(3000 + speaker);
  const frames = minutes * 60 * 50;
  const frame = new Int16Array(OPUS_FRAME * 2);
  child.stdin.write(wavHeader(frames * OPUS_FRAME));
  for (let written = 0; written < frames;) {
    const chunk = new Int16Array(OPUS_FRAME * 2 * Math.min(50, frames - written));
    for (let at = 0; at < chunk.length; at += frame.length, written++) {
      voice.frame(frame);
      for (let i = 0; i < frame.length; i++) frame[i] = frame[i]! + Math.round((rnd() * 2 - 1) * 200);
      chunk.set(frame, at);
    }
    if (!child.stdin.write(Buffer.from(chunk.buffer))) await once(child.stdin, 'drain');
  }
  child.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`opusenc exited ${code}: ${stderr.trim().slice(-500)}`);
}

export function hasTool(command: string, versionFlag: string): boolean {
  try {
    execFileSync(command, [versionFlag], { stdio: 'ignore' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

interface Timed {
  seconds: number;
  maxRssMb: number | null;
}

/** Runs a command to its end: its wall time (start-up included) and its output; a non-zero exit throws. */
export function run(command: string, args: string[]): Promise<{ seconds: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = (performance.now() - started) / 1000;
      if (code === 0) resolve({ seconds, stdout });
      else reject(new Error(`${command} exited ${code}: ${stderr.trim().slice(-500)}`));
    });
  });
}

/** One mix by roomrec in a fresh process; `level`: the levelled mix. */
export async function ours(tracks: string[], output: string, level = false): Promise<Timed> {
  const self = fileURLToPath(import.meta.url);
  const { seconds, stdout } = await run(process.execPath, [self, level ? '--job-level' : '--job', output, ...tracks]);
  const job = JSON.parse(stdout.trim().split('\n').pop()!) as { maxRssMb: number };
  return { seconds, maxRssMb: job.maxRssMb };
}

/** `npm run mix` itself (scripts/mix.ts), as a user re-mixes. */
async function mixCli(tracks: string[], output: string): Promise<number> {
  const cli = fileURLToPath(new URL('../mix.ts', import.meta.url));
  return (await run(process.execPath, [cli, ...tracks, '-o', output])).seconds;
}

async function ffmpeg(tracks: string[], output: string, codec: string[]): Promise<Timed> {
  const inputs = tracks.flatMap((t) => ['-i', t]);
  const { seconds } = await run('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    ...inputs,
    '-filter_complex',
    `amix=inputs=${tracks.length}:normalize=0`,
    ...codec,
    output,
  ]);
  return { seconds, maxRssMb: null };
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

export async function runMixerBench({ speakers, minutes, keep = false, judge = true, log }: MixerBenchOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'roomrec-bench-'));
  try {
    const totalFrames = minutes * 60 * 50;
    const audioSeconds = minutes * 60;
    const rnd = prng(42);
    const turns = conversation(speakers, totalFrames, rnd);
    log(`mixer: ${speakers} speakers x ${minutes} min, ${turns.length} turns, generating tracks in ${dir} ...`);
    const tracks = Array.from({ length: speakers }, (_, i) => join(dir, `speaker${i + 1}.ogg`));
    const genStart = performance.now();
    await Promise.all(tracks.map((t, i) => writeSpeakerTrack(t, i, turns, totalFrames)));
    log(`  generated in ${fmt((performance.now() - genStart) / 1000, 1)} s`);

    // Bytes per speaker-hour: a track that is all silence, and one that is all speech.
    const silentPath = join(dir, 'calibrate-silence.ogg');
    const speechPath = join(dir, 'calibrate-speech.ogg');
    const calibrationFrames = 60 * 50;
    await writeSpeakerTrack(silentPath, 0, [], calibrationFrames);
    await writeSpeakerTrack(speechPath, 0, [{ speaker: 0, start: 0, frames: calibrationFrames }], calibrationFrames);
    const perHour = async (p: string) => ((await stat(p)).size * 3600) / (calibrationFrames / 50);
    log(
      `  on disk per speaker-hour: silence ${fmt((await perHour(silentPath)) / 1e3, 0)} kB, speech ${fmt((await perHour(speechPath)) / 1e6, 1)} MB (64 kbit/s Opus as Discord sends)`,
    );
    const trackBytes = (await Promise.all(tracks.map((t) => stat(t)))).reduce((a, s) => a + s.size, 0);
    log(`  the ${speakers} tracks: ${fmt(trackBytes / 1e6, 1)} MB for ${fmt((speakers * audioSeconds) / 3600, 2)} speaker-hours`);

    const ffmpegPresent = hasTool('ffmpeg', '-version');
    const jobs: { format: MixFormat; codec: string[]; target: string; minSpeedup: number }[] = [
      { format: 'ogg', codec: ['-c:a', 'libopus', '-b:a', '112k'], target: '>= 2x faster', minSpeedup: 2 },
      { format: 'mp3', codec: ['-c:a', 'libmp3lame', '-b:a', '128k'], target: 'no slower', minSpeedup: 1 },
    ];
    for (const job of jobs) {
      const mine = await ours(tracks, join(dir, `mix.${job.format}`));
      log(
        `  roomrec  -> ${job.format}: ${fmt(mine.seconds)} s wall, ${fmt(audioSeconds / mine.seconds, 0)}x real time, peak RSS ${fmt(mine.maxRssMb ?? 0, 0)} MB`,
      );
      if (!ffmpegPresent) {
        log(`  ffmpeg   -> ${job.format}: skipped: ffmpeg not found`);
        continue;
      }
      const theirs = await ffmpeg(tracks, join(dir, `ffmpeg.${job.format}`), job.codec);
      const speedup = theirs.seconds / mine.seconds;
      log(
        `  ffmpeg   -> ${job.format}: ${fmt(theirs.seconds)} s wall, ${fmt(audioSeconds / theirs.seconds, 0)}x real time (amix=inputs=${speakers}:normalize=0, ${job.codec[1]})`,
      );
      log(
        `  ratio ours/ffmpeg (${job.format}): ${fmt(mine.seconds / theirs.seconds)} = ${fmt(speedup)}x the speed; target ${job.target}: ${judge ? (speedup >= job.minSpeedup ? 'met' : 'MISSED') : 'not judged on a --quick run'}`,
      );
    }
  } finally {
    if (keep) log(`  kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

export interface OpusencBenchOptions {
  tracks: number;
  minutes: number;
  /** Runs on each side; the medians are compared. */
  runs: number;
  keep?: boolean;
  judge?: boolean;
  log: (line: string) => void;
}

/** The case, or a smoke-sized one. */
export const opusencScale = (quick: boolean) => ({ tracks: quick ? 2 : 10, minutes: quick ? 1 : 10 });

export async function runOpusencMixBench({
  tracks: count,
  minutes,
  runs,
  keep = false,
  judge = true,
  log,
}: OpusencBenchOptions): Promise<void> {
  if (!hasTool('opusenc', '--version') || !hasTool('ffmpeg', '-version')) {
    log('mixer (opusenc tracks): skipped: needs opusenc and ffmpeg');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'roomrec-bench-opusenc-'));
  try {
    log(`mixer (opusenc tracks): ${count} continuous tracks x ${minutes} min, generating in ${dir} ...`);
    const tracks = Array.from({ length: count }, (_, i) => join(dir, `speaker${i + 1}.opus`));
    const genStart = performance.now();
    await Promise.all(tracks.map((t, i) => writeOpusencTrack(t, i, minutes)));
    const trackBytes = (await Promise.all(tracks.map((t) => stat(t)))).reduce((a, s) => a + s.size, 0);
    log(`  generated in ${fmt((performance.now() - genStart) / 1000, 1)} s: ${fmt(trackBytes / 1e6, 1)} MB (opusenc defaults)`);
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < runs; r++) {
      mine.push(await mixCli(tracks, join(dir, 'mix.ogg')));
      theirs.push((await ffmpeg(tracks, join(dir, 'ffmpeg.ogg'), ['-c:a', 'libopus', '-b:a', '112k'])).seconds);
      // The load says how much of the two cores others left: the threads only help when they get both.
      log(`  run ${r + 1}: npm run mix ${fmt(mine[r]!)} s, ffmpeg ${fmt(theirs[r]!)} s (load average ${fmt(loadavg()[0]!, 1)})`);
    }
    const speedup = median(theirs) / median(mine);
    const audioSeconds = minutes * 60;
    log(`  npm run mix -> ogg: median ${fmt(median(mine))} s, ${fmt(audioSeconds / median(mine), 0)}x real time`);
    log(`  ffmpeg      -> ogg: median ${fmt(median(theirs))} s (amix=inputs=${count}:normalize=0, libopus 112k)`);
    log(
      `  ratio (medians of ${runs}): ${fmt(speedup)}x the speed of ffmpeg; target >= 2x: ${judge ? (speedup >= 2 ? 'met' : 'MISSED') : 'not judged on a --quick run'}`,
    );
  } finally {
    if (keep) log(`  kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

// Child-process entry: one mix (levelled with --job-level), then its peak RSS as JSON on the last line.
const job = process.argv[2] === '--job' || process.argv[2] === '--job-level';
if (job) {
  const [output, ...inputs] = process.argv.slice(3);
  if (!output || inputs.length === 0) throw new Error('usage: mixer.ts --job|--job-level OUTPUT INPUT...');
  await mixTracks({ inputs: inputs.map((path) => ({ path })), output, level: process.argv[2] === '--job-level' });
  console.log(JSON.stringify({ maxRssMb: process.resourceUsage().maxRSS / 1024 }));
}

// `node scripts/bench/mixer.ts --opusenc [--quick] [--runs N] [--keep]`: the opusenc case alone.
if (import.meta.main && !job) {
  const { values } = parseArgs({
    options: {
      opusenc: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string', default: '3' },
      keep: { type: 'boolean', default: false },
    },
  });
  if (!values.opusenc) throw new Error('usage: mixer.ts --opusenc [--quick] [--runs N] [--keep] (the whole bench: npm run bench)');
  await runOpusencMixBench({
    ...opusencScale(values.quick),
    runs: Number(values.runs),
    keep: values.keep,
    judge: !values.quick,
    log: console.log,
  });
}
