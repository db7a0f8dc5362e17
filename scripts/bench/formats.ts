// Formats on demand (issue 11, point 2): how long the download server takes to make each format of a room's
// files, against ffmpeg doing the same conversion of the same files in the same run.
//
// The room is a conversation in turns written by the recorder's own SpeakerTrack (prebuilt-room.ts, in a child
// process): 10 speakers for an hour by default, each track as long as the room and silent while the others talk.
// Each track is made in FLAC, WAV and MP3 by the format thread the server uses (format-thread.ts: transcode.ts,
// exact-silence packets not decoded) and by `ffmpeg -i track.ogg track.<f>`; the mix in Ogg Opus, FLAC, WAV and
// MP3 by the same thread (mixTracks from the tracks) and by ffmpeg's amix of the tracks with the same codec.
// Each conversion runs alone, ours and ffmpeg's in alternation, and its output is deleted after it is timed (an
// hour of stereo WAV is 690 MB). Per track: the medians over the first TRACKS_TIMED tracks (in a conversation in
// turns every track is alike: as long as the room, talk a tenth of it); the mix: one run each.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { runFormatJob, type FormatJob } from '../../src/audio/format-thread.ts';
import type { MixFormat } from '../../src/audio/encoders/encoder.ts';
import { hasTool, run } from './mixer.ts';
import type { PrebuiltRoomResult, PrebuiltRoomSpec } from './prebuilt-room.ts';
import { median } from './stats.ts';

export interface FormatsBenchOptions {
  speakers: number;
  minutes: number;
  keep?: boolean;
  log: (line: string) => void;
}

/** The room the issue measures, or a smoke-sized one. */
export const formatsScale = (quick: boolean) => ({ speakers: quick ? 2 : 10, minutes: quick ? 1 : 60 });

/** ffmpeg's codec for each format, at the settings our encoders use (mixing.md). */
const FFMPEG_CODECS: Record<MixFormat, string[]> = {
  ogg: ['-c:a', 'libopus', '-b:a', '112k'],
  flac: ['-c:a', 'flac', '-sample_fmt', 's16', '-compression_level', '5'],
  wav: ['-c:a', 'pcm_s16le'],
  mp3: ['-c:a', 'libmp3lame', '-b:a', '128k'],
};
const TRACK_FORMATS = ['flac', 'wav', 'mp3'] as const;
const TRACKS_TIMED = 3;
const MIX_FORMATS_MEASURED = ['ogg', 'flac', 'wav', 'mp3'] as const;

async function ours(job: FormatJob): Promise<number> {
  const started = performance.now();
  await runFormatJob(job, () => {}).finished;
  return (performance.now() - started) / 1000;
}

async function ffmpeg(inputs: string[], output: string, format: MixFormat): Promise<number> {
  const mix = inputs.length > 1 ? ['-filter_complex', `amix=inputs=${inputs.length}:normalize=0`] : [];
  const args = ['-nostdin', '-v', 'error', '-y', ...inputs.flatMap((i) => ['-i', i]), ...mix, ...FFMPEG_CODECS[format], output];
  return (await run('ffmpeg', args)).seconds;
}

/** Times `measure`, then deletes what it wrote. */
async function timed(output: string, measure: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const seconds = await measure();
  const { size } = await stat(output);
  await rm(output, { force: true });
  return { seconds, bytes: size };
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

export async function runFormatsBench({ speakers, minutes, keep = false, log }: FormatsBenchOptions): Promise<void> {
  if (!hasTool('ffmpeg', '-version')) {
    log('formats: skipped: needs ffmpeg to compare against');
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-bench-formats-'));
  try {
    log(`formats: a ${speakers}-speaker room of ${minutes} min (prebuilt-room.ts) in ${dir} ...`);
    const spec: PrebuiltRoomSpec = {
      recordingId: 'benchformats',
      minutes,
      seed: 11,
      tracks: Array.from({ length: speakers }, (_, i) => ({
        path: path.join(dir, `speaker${i + 1}.ogg`),
        userId: String(100 + i),
        name: `speaker${i + 1}`,
      })),
    };
    const built = JSON.parse(
      (await run(process.execPath, [path.join(import.meta.dirname, 'prebuilt-room.ts'), JSON.stringify(spec)])).stdout
        .trim()
        .split('\n')
        .at(-1) ?? '',
    ) as PrebuiltRoomResult;
    const tracks = spec.tracks.map((t) => t.path);
    log(`  built in ${fmt(built.buildMs / 1000, 1)} s: ${fmt(built.bytes / 1e6, 1)} MB of tracks, ${built.turns} turns`);
    const audioSeconds = minutes * 60;

    const timedTracks = tracks.slice(0, TRACKS_TIMED);
    log(`  per track (${timedTracks.length} of the ${speakers} tracks, ${minutes} min each; median, and the slowest):`);
    for (const format of TRACK_FORMATS) {
      const mine: number[] = [];
      const theirs: number[] = [];
      for (const [i, input] of timedTracks.entries()) {
        const output = path.join(dir, `track${i + 1}.${format}`);
        mine.push((await timed(output, () => ours({ kind: 'transcode', input, output, format }))).seconds);
        theirs.push((await timed(output, () => ffmpeg([input], output, format))).seconds);
      }
      const ratio = median(theirs) / median(mine);
      log(
        `    ${format.padEnd(4)} roomrec ${fmt(median(mine))} s (max ${fmt(Math.max(...mine))}), ffmpeg ${fmt(median(theirs))} s (max ${fmt(Math.max(...theirs))}): ${fmt(ratio)}x ffmpeg's speed, ${fmt(audioSeconds / median(mine), 0)}x real time`,
      );
    }

    log(`  the mix of the ${speakers} tracks (one run each; load average ${fmt(loadavg()[0]!, 1)}):`);
    const inputs = tracks.map((p, i) => ({ path: p, label: `speaker${i + 1}` }));
    for (const format of MIX_FORMATS_MEASURED) {
      const output = path.join(dir, `mix.${format}`);
      const mine = await timed(output, () => ours({ kind: 'mix', inputs, output, format }));
      const theirs = await timed(output, () => ffmpeg(tracks, output, format));
      log(
        `    ${format.padEnd(4)} roomrec ${fmt(mine.seconds)} s (${fmt(mine.bytes / 1e6, 0)} MB), ffmpeg amix ${fmt(theirs.seconds)} s (${fmt(theirs.bytes / 1e6, 0)} MB): ${fmt(theirs.seconds / mine.seconds)}x ffmpeg's speed, ${fmt(audioSeconds / mine.seconds, 0)}x real time`,
      );
    }
  } finally {
    if (keep) log(`  kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
