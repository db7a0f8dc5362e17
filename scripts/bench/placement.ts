// Bench: the placement reducer (src/recording/placement.ts) alone, in µs per packet. It runs on the bot's
// main thread for every packet of every consenting speaker (2,500 packets/s at 50 speakers), so its cost
// is paid in event-loop time, next to the UDP socket.
//
// Input: one speaker's stream as the receive adapter hands it over: 20 ms packets with RTP sequence and
// timestamp, 0-4 ms of arrival jitter, 1 % duplicates, 1 % reordered by one, turns of 2-8 s with pauses,
// and the recorder's 200 ms tick. The same seeded stream for every module measured.
//
//   npx node scripts/bench/placement.ts [--quick] [--against OLD.ts]
// `--against` also measures another copy of placement.ts in the same run (e.g. the previous commit's:
// `git show HEAD:src/recording/placement.ts > /tmp/placement-before.ts`), so the ratio is from one run.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import path from 'node:path';
import type { PlacementEvent, placementReducer as Reducer, initialPlacement as Initial } from '../../src/recording/placement.ts';
import { mulberry32 } from '../../discord-sim/ids.ts';
import { FRAME_MS, talkInTurns } from './conversation.ts';

interface PlacementModule {
  initialPlacement: typeof Initial;
  placementReducer: typeof Reducer;
}

export interface PlacementBenchOptions {
  quick: boolean;
  /** Another placement.ts to measure in the same run (the "before" of a change). */
  against?: string;
  log: (line: string) => void;
}

const FRAME = 960;
const TICK_MS = 200;

/** The events a SpeakerTrack feeds the reducer for `minutes` of one speaker's turns. */
function speakerEvents(minutes: number, seed: number): PlacementEvent<number>[] {
  const rnd = mulberry32(seed);
  const packets: { at: number; seq: number; ts: number }[] = [];
  let seq = 40_000;
  let ts = 4_000_000_000;
  // Talking every other turn of a two-person conversation: half the time, as in a lively room.
  for (const turn of talkInTurns(2, minutes * 60_000, seed).filter((t) => t.speaker === 0)) {
    for (let k = 0; k < turn.frames; k++) {
      const at = turn.startMs + k * FRAME_MS + rnd() * 4;
      packets.push({ at, seq: seq & 0xffff, ts: ts >>> 0 });
      if (rnd() < 0.01) packets.push({ at: at + 1, seq: seq & 0xffff, ts: ts >>> 0 });
      seq++;
      ts += FRAME;
    }
    ts += 48 * 1000;
  }
  for (let i = 0; i + 1 < packets.length; i++) {
    if (rnd() < 0.01) {
      const a = packets[i]!;
      const b = packets[i + 1]!;
      [a.at, b.at] = [b.at, a.at];
      packets[i] = b;
      packets[i + 1] = a;
    }
  }
  const events: PlacementEvent<number>[] = [];
  const bytes = Uint8Array.from([0xf8, 1, 2, 3]);
  let nextTick = TICK_MS;
  packets.forEach((p, i) => {
    while (p.at >= nextTick) {
      events.push({ type: 'tick', nowMs: nextTick });
      nextTick += TICK_MS;
    }
    events.push({ type: 'packet', arrivalMs: p.at, samples: FRAME, rtp: { sequence: p.seq, timestamp: p.ts, ssrc: 7 }, bytes, payload: i });
  });
  return events;
}

/** Best of `rounds` passes (the machine is shared): µs per packet event, and what the reducer decided. */
function measure(
  mod: PlacementModule,
  events: PlacementEvent<number>[],
  rounds: number,
): { usPerPacket: number; accepted: number; dropped: number } {
  const packets = events.filter((e) => e.type === 'packet').length;
  let best = Infinity;
  let accepted = 0;
  let dropped = 0;
  for (let r = 0; r < rounds; r++) {
    let state = mod.initialPlacement<number>(0);
    accepted = 0;
    dropped = 0;
    const started = performance.now();
    for (const e of events) {
      const step = mod.placementReducer(state, e);
      state = step.state;
      if (step.decision?.kind === 'accepted') accepted++;
      else if (step.decision) dropped++;
    }
    best = Math.min(best, performance.now() - started);
  }
  return { usPerPacket: (best * 1000) / packets, accepted, dropped };
}

export async function runPlacementBench({ quick, against, log }: PlacementBenchOptions): Promise<void> {
  const minutes = quick ? 2 : 10;
  const events = speakerEvents(minutes, 5);
  const packets = events.filter((e) => e.type === 'packet').length;
  const rounds = quick ? 3 : 5;
  const current = (await import('../../src/recording/placement.ts')) as PlacementModule;
  log(
    `placement: one speaker, ${minutes} min of turns (${packets} packets with RTP, 1 % duplicates, 1 % reordered, 200 ms ticks), best of ${rounds}`,
  );
  const now = measure(current, events, rounds);
  log(`  placement.ts: ${now.usPerPacket.toFixed(2)} µs per packet (${now.accepted} accepted, ${now.dropped} dropped)`);
  if (against) {
    const old = (await import(pathToFileURL(path.resolve(against)).href)) as PlacementModule;
    const before = measure(old, events, rounds);
    log(
      `  ${path.basename(against)}: ${before.usPerPacket.toFixed(2)} µs per packet (${before.accepted} accepted, ${before.dropped} dropped); ` +
        `placement.ts takes ×${(now.usPerPacket / before.usPerPacket).toFixed(2)} of its time`,
    );
  }
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, against: { type: 'string' } } });
  await runPlacementBench({
    quick: values.quick,
    ...(values.against ? { against: values.against } : {}),
    log: (line) => console.log(line),
  });
}
