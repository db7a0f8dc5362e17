// Placement under a bad network (10 % loss, 2 % duplicates, 5 % reordering, up to 60 ms of jitter): every
// utterance, a stream's first included, lands within 5 ms of where its speaker said it. Pure: the reducer
// against a seeded stream whose true positions are known.
import { describe, expect, test } from 'vitest';
import { initialPlacement, placementReducer, type PlacementEvent, type PlacementState } from '../../src/recording/placement.ts';
import { mulberry32 } from '../../discord-sim/prng.ts';

const F = 960;
const TICK_MS = 200;

type Truth = { utterance: number; truePos: number };

/** One speaker's utterances as the bot would receive them, with the sample each packet truly starts at. */
function badNetworkStream(seed: number, opts: { utterances: number; jitterMs: number; baseDelayMs: number }) {
  const rnd = mulberry32(seed);
  const truth = new Map<number, Truth>();
  const arrivals: { at: number; seq: number; ts: number; id: number }[] = [];
  let seq = Math.floor(rnd() * 65536);
  const ts0 = Math.floor(rnd() * 2 ** 32);
  let id = 0;
  let sendMs = 700 + rnd() * 500;
  for (let u = 0; u < opts.utterances; u++) {
    const frames = 15 + Math.floor(rnd() * 150);
    for (let k = 0; k < frames; k++) {
      const at = sendMs + k * 20;
      // The sender's clock runs through silence: timestamp = 48 × time since its epoch.
      const ts = (ts0 + Math.round(at * 48)) >>> 0;
      const packet = { seq: seq & 0xffff, ts, id: id++ };
      seq++;
      truth.set(packet.id, { utterance: u, truePos: Math.round(at * 48) });
      if (rnd() < 0.1) continue; // lost
      // 5 % reordered: held back behind the packets after it (on top of what 60 ms of jitter reorders anyway).
      const arrive = (): number => at + opts.baseDelayMs + rnd() * opts.jitterMs + (rnd() < 0.05 ? 20 + rnd() * 20 : 0);
      arrivals.push({ ...packet, at: arrive() });
      if (rnd() < 0.02) arrivals.push({ ...packet, at: arrive() });
    }
    sendMs += frames * 20 + 250 + rnd() * 4000;
  }
  arrivals.sort((a, b) => a.at - b.at);
  return { truth, arrivals, endMs: sendMs + 1000 };
}

/** Runs the stream through the reducer the way a SpeakerTrack does (ticks included); placed position per packet id. */
function place(stream: ReturnType<typeof badNetworkStream>): Map<number, number> {
  let state: PlacementState<number> = initialPlacement<number>(0);
  const placed = new Map<number, number>();
  const apply = (event: PlacementEvent<number>): void => {
    const step = placementReducer(state, event);
    state = step.state;
    for (const o of step.out) if (o.kind === 'packet') placed.set(o.payload, o.pos);
  };
  let nextTick = TICK_MS;
  for (const a of stream.arrivals) {
    while (a.at >= nextTick) {
      apply({ type: 'tick', nowMs: nextTick });
      nextTick += TICK_MS;
    }
    apply({
      type: 'packet',
      arrivalMs: a.at,
      samples: F,
      rtp: { sequence: a.seq, timestamp: a.ts, ssrc: 9 },
      bytes: Uint8Array.from([0xf8, a.id & 0xff, a.id >> 8]),
      payload: a.id,
    });
  }
  apply({ type: 'end', endMs: stream.endMs });
  return placed;
}

/**
 * Each utterance's offset (ms): where it was placed minus where it was said, the stream's base network delay
 * taken out (a constant delay shifts every speaker alike and the room's time zero with them). Packets within an
 * utterance share one offset by construction (RTP), so the first placed packet stands for the utterance.
 */
function utteranceErrors(stream: ReturnType<typeof badNetworkStream>, baseDelayMs: number): number[] {
  const placed = place(stream);
  const errors = new Map<number, number>();
  for (const [id, pos] of placed) {
    const t = stream.truth.get(id)!;
    const err = Math.abs((pos - t.truePos) / 48 - baseDelayMs);
    errors.set(t.utterance, Math.max(errors.get(t.utterance) ?? 0, err));
  }
  return [...errors.values()];
}

describe('placement on a bad network', () => {
  test('10 % loss, 2 % duplicates, 5 % reordering, 60 ms jitter: every utterance within 5 ms, the first included', () => {
    const worst: number[] = [];
    const firsts: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const stream = badNetworkStream(seed, { utterances: 12, jitterMs: 60, baseDelayMs: 30 });
      const errors = utteranceErrors(stream, 30);
      worst.push(Math.max(...errors));
      firsts.push(errors[0]!);
    }
    console.log(
      `placement error per utterance over 20 streams: worst ${Math.max(...worst).toFixed(1)} ms, first utterances worst ${Math.max(...firsts).toFixed(1)} ms`,
    );
    expect(Math.max(...firsts)).toBeLessThanOrEqual(5);
    expect(Math.max(...worst)).toBeLessThanOrEqual(5);
  });
});
