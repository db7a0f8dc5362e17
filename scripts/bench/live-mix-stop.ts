// Bench (issue 5, item 8): how much of the mix is left at stop when the room was mixed while it ran.
//
// A room of N speakers talking in turns (conversation.ts: the demo voices, as a Discord client sends them:
// every 20 ms while talking, five silence frames after, nothing in pauses) is played on an injected clock by the recorder's own
// SpeakerTrack, faster than real time, while a RoomLiveMix is ticked every simulated second exactly as
// RoomRecorder ticks it (advancing every 5 s to now - 3 s). Then the tracks are closed and:
//   finishMs   the stop's mix phase with the live mix: finish the last seconds, finalise the file;
//   fullMs     the mix phase without it: mixTracks over the same finished tracks (the baseline, same run).
// Also reported: frames left to mix at stop (work, not time), the total time the live mix spent while the
// room ran (background work, and its ratio to the room's length), and the longest single advance step.
//
// `npm run bench` can call measureLiveMixStop(); standalone:
//   node scripts/bench/live-mix-stop.ts [--speakers 10] [--minutes 10,30] [--formats ogg,mp3] [--no-full]
//                                       [--withdraw-at-min M]   (a withdrawal at minute M: measures the catch-up)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { mixTracks, type MixFormat, type MixInput } from '../../src/audio/mixer.ts';
import { silentLogger } from '../../src/log.ts';
import { RoomLiveMix } from '../../src/recording/room-live-mix.ts';
import { OPUS_SILENCE_FRAME } from '../../discord-sim/index.ts';
import { prng } from '../../tests/helpers/audio.ts';
import { playRoom, type RoomSpeaker } from '../../tests/helpers/live-room.ts';
import { demoVoiceFrames, talkInTurns, TRAILING_SILENCE_FRAMES } from './conversation.ts';

export interface LiveMixStopOptions {
  speakers: number;
  minutes: number;
  format: MixFormat;
  /** Also time the full mix of the same tracks (the baseline). Default true. */
  compareFull?: boolean;
  /**
   * The first speaker withdraws at this recording time: the live mix starts again without them and has to
   * catch up (maxAdvanceMs then is that catch-up, which a stop right after the withdrawal would wait for).
   */
  withdrawAtMs?: number;
  seed?: number;
}

export interface LiveMixStopResult {
  speakers: number;
  minutes: number;
  format: MixFormat;
  /** Mix frames (48 kHz) left for the stop. */
  framesAtStop: number;
  /** Wall time of the stop's mix phase with the live mix. */
  finishMs: number;
  /** Wall time of the full mix of the same tracks, when compared. */
  fullMs?: number;
  /** Wall time the live mix worked while the room ran, and that as a fraction of the room's length. */
  liveWorkMs: number;
  liveWorkShare: number;
  /** Longest single advance (a 5 s step; it yields to the event loop every few ms inside it, see live-mix.ts). */
  maxAdvanceMs: number;
  /** Event-loop delay while the live mix worked (what a packet arriving then would wait): p99 and max. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  restarts: number;
  usedLive: boolean;
}

/** The shared conversation in turns (conversation.ts) as the spurts playRoom sends; the room's last second is quiet. */
function conversation(speakers: number, totalMs: number, voices: Buffer[][], seed: number): RoomSpeaker[] {
  const rnd = prng(seed);
  const room: RoomSpeaker[] = Array.from({ length: speakers }, (_, i) => ({ name: `speaker-${i + 1}`, joinMs: 0, spurts: [] }));
  for (const turn of talkInTurns(speakers, totalMs - 1000, seed)) {
    const voice = voices[turn.speaker % voices.length]!;
    // Each turn starts somewhere else in its voice, so turns do not repeat each other.
    const offset = Math.floor(rnd() * voice.length);
    const talk = Array.from({ length: turn.frames }, (_, k) => voice[(offset + k) % voice.length]!);
    room[turn.speaker]!.spurts.push({
      atMs: turn.startMs,
      frames: [...talk, ...Array<Buffer>(TRAILING_SILENCE_FRAMES).fill(OPUS_SILENCE_FRAME)],
    });
  }
  return room;
}

export async function measureLiveMixStop(opts: LiveMixStopOptions): Promise<LiveMixStopResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-live-bench-'));
  try {
    const endMs = opts.minutes * 60_000;
    const room = conversation(opts.speakers, endMs, await demoVoiceFrames(), opts.seed ?? 1);
    if (opts.withdrawAtMs !== undefined) room[0]!.leaveMs = opts.withdrawAtMs;
    let nowMs = 0;
    const output = path.join(dir, `live.${opts.format}`);
    const live = new RoomLiveMix({ output, format: opts.format, now: () => nowMs, log: silentLogger() });
    let inputs: MixInput[] = [];
    let liveWorkMs = 0;
    let maxAdvanceMs = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    await playRoom(
      { dir: path.join(dir, 'tracks'), speakers: room, endMs },
      {
        onJoin: (s, file, at) => {
          nowMs = at;
          inputs.push({ path: file, label: s.name });
          live.setInputs([...inputs]);
        },
        onLeave: (s, _file, at) => {
          nowMs = at;
          inputs = inputs.filter((i) => i.label !== s.name);
          live.setInputs([...inputs]);
        },
        onSecond: async (at) => {
          nowMs = at;
          const t0 = performance.now();
          loopDelay.enable();
          live.tick();
          await live.idle();
          loopDelay.disable();
          const ms = performance.now() - t0;
          liveWorkMs += ms;
          maxAdvanceMs = Math.max(maxAdvanceMs, ms);
        },
      },
    );
    nowMs = endMs;
    const t0 = performance.now();
    const outcome = await live.finish({ inputs, output, format: opts.format });
    const finishMs = performance.now() - t0;
    const restarts = live.status().restarts;
    let fullMs: number | undefined;
    if (opts.compareFull ?? true) {
      const t1 = performance.now();
      await mixTracks({ inputs, output: path.join(dir, `full.${opts.format}`), format: opts.format });
      fullMs = performance.now() - t1;
    }
    return {
      speakers: opts.speakers,
      minutes: opts.minutes,
      format: opts.format,
      framesAtStop: outcome.used ? outcome.framesAtStop : NaN,
      finishMs,
      ...(fullMs === undefined ? {} : { fullMs }),
      liveWorkMs,
      liveWorkShare: liveWorkMs / endMs,
      maxAdvanceMs,
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      loopDelayMaxMs: loopDelay.max / 1e6,
      restarts,
      usedLive: outcome.used,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      speakers: { type: 'string', default: '10' },
      minutes: { type: 'string', default: '10,30' },
      formats: { type: 'string', default: 'ogg,mp3' },
      'no-full': { type: 'boolean', default: false },
      'withdraw-at-min': { type: 'string' },
    },
  });
  const withdraw = values['withdraw-at-min'] === undefined ? {} : { withdrawAtMs: Number(values['withdraw-at-min']) * 60_000 };
  const speakers = Number(values.speakers);
  for (const minutes of values.minutes.split(',').map(Number)) {
    for (const format of values.formats.split(',') as MixFormat[]) {
      const r = await measureLiveMixStop({ speakers, minutes, format, compareFull: !values['no-full'], ...withdraw });
      const full = r.fullMs === undefined ? '' : `, full mix ${(r.fullMs / 1000).toFixed(2)} s`;
      console.log(
        `${r.speakers} spk x ${r.minutes} min ${r.format}: stop mix ${(r.finishMs / 1000).toFixed(2)} s (${(r.framesAtStop / 48_000).toFixed(1)} s of audio left)${full}; ` +
          `live work ${(r.liveWorkMs / 1000).toFixed(1)} s = ${(r.liveWorkShare * 100).toFixed(2)}% of the room, longest step ${r.maxAdvanceMs.toFixed(0)} ms, event-loop delay p99 ${r.loopDelayP99Ms.toFixed(1)} / max ${r.loopDelayMaxMs.toFixed(1)} ms, restarts ${r.restarts}, live used ${r.usedLive}`,
      );
    }
  }
}
