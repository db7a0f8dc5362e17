// Levelling's cost on the mix (issue 11, "Measure"), and what it does: a room of N speakers x M minutes talking in
// turns, each speaker at their own level (18 dB between the quietest and the loudest), mixed plain and
// levelled by roomrec in alternation, each mix in a fresh child process (start-up included, as for the mixer
// part), the median of several runs on each side. The spread is the loudest speaker's speech loudness minus the
// quietest's, each measured in the decoded mix over their own turns (one speaker at a time, so a turn of the mix
// is that speaker alone).
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoudnessMeter } from '../../src/audio/loudness.ts';
import { openTrack } from '../../src/audio/track-decoder.ts';
import { OPUS_FRAME } from '../../src/audio/opus-codec.ts';
import { prng } from '../../tests/helpers/audio.ts';
import { conversation, ours, writeSpeakerTrack, type Turn } from './mixer.ts';
import { median } from './stats.ts';

export interface LevellingBenchOptions {
  speakers: number;
  minutes: number;
  runs: number;
  keep?: boolean;
  log: (line: string) => void;
}

/**
 * The quietest speaker at the synthetic voice's own level (about -35 LUFS: a weak microphone), the loudest 18 dB
 * above it (about -17 LUFS), the others evenly between.
 */
const levelOf = (speaker: number, speakers: number) => (18 * speaker) / Math.max(1, speakers - 1);

/** Each speaker's loudness in the mix at `path`, over their own turns (LUFS). */
async function loudnessBySpeaker(path: string, turns: Turn[], speakers: number): Promise<number[]> {
  const meters = Array.from({ length: speakers }, () => new LoudnessMeter());
  // Turn boundaries in samples, in order: a mix block is cut at them and each piece goes to whoever was speaking.
  const spans = turns.map((t) => ({ speaker: t.speaker, from: t.start * OPUS_FRAME, to: (t.start + t.frames) * OPUS_FRAME }));
  let next = 0;
  const track = await openTrack(path);
  for await (const block of track.blocks()) {
    if (!block.pcm) continue;
    const end = block.start + block.frames;
    while (next < spans.length && spans[next]!.to <= block.start) next++;
    for (let i = next; i < spans.length && spans[i]!.from < end; i++) {
      const s = spans[i]!;
      const from = Math.max(s.from, block.start) - block.start;
      const to = Math.min(s.to, end) - block.start;
      meters[s.speaker]!.add(Float32Array.from(block.pcm.subarray(from * 2, to * 2), (v) => (v * track.headGain) / 32768));
    }
  }
  return meters.map((m) => m.integrated());
}

const spread = (lufs: number[]) => Math.max(...lufs) - Math.min(...lufs);
const fmt = (n: number, digits = 2) => n.toFixed(digits);

export async function runLevellingBench({ speakers, minutes, runs, keep = false, log }: LevellingBenchOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'roomrec-bench-levelling-'));
  try {
    const totalFrames = minutes * 60 * 50;
    const turns = conversation(speakers, totalFrames, prng(42));
    log(
      `levelling: ${speakers} speakers x ${minutes} min at ${fmt(levelOf(0, speakers), 0)} to +${fmt(levelOf(speakers - 1, speakers), 0)} dB, ${turns.length} turns, in ${dir} ...`,
    );
    const tracks = Array.from({ length: speakers }, (_, i) => join(dir, `speaker${i + 1}.ogg`));
    await Promise.all(tracks.map((t, i) => writeSpeakerTrack(t, i, turns, totalFrames, levelOf(i, speakers))));
    const plain: number[] = [];
    const levelled: number[] = [];
    for (let r = 0; r < runs; r++) {
      plain.push((await ours(tracks, join(dir, 'plain.ogg'))).seconds);
      levelled.push((await ours(tracks, join(dir, 'levelled.ogg'), true)).seconds);
      log(`  run ${r + 1}: plain ${fmt(plain[r]!)} s, levelled ${fmt(levelled[r]!)} s (load average ${fmt(loadavg()[0]!, 1)})`);
    }
    log(
      `  plain mix median ${fmt(median(plain))} s, levelled median ${fmt(median(levelled))} s: levelling costs ${fmt(median(levelled) / median(plain))}x the plain mix (medians of ${runs})`,
    );
    const before = await loudnessBySpeaker(join(dir, 'plain.ogg'), turns, speakers);
    const after = await loudnessBySpeaker(join(dir, 'levelled.ogg'), turns, speakers);
    log(
      `  speakers' speech loudness in the plain mix:    ${before.map((l) => fmt(l, 1)).join(', ')} LUFS: spread ${fmt(spread(before), 1)} LU`,
    );
    log(
      `  speakers' speech loudness in the levelled mix: ${after.map((l) => fmt(l, 1)).join(', ')} LUFS: spread ${fmt(spread(after), 1)} LU`,
    );
  } finally {
    if (keep) log(`  kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
