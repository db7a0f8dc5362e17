// Property-based tests (fast-check) for the placement reducer: streams of packets built from a small model
// (talk spurts, reconnects, timestamp and sequence wraps, per-packet jitter, loss and duplicates, ticks, a track
// start and an end) are run through the reducer, and what it writes is checked against what must hold for every
// stream. A failure prints the seed and the smallest stream model fast-check found.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_PLACEMENT,
  GRID,
  initialPlacement,
  msToGrid,
  placementReducer,
  SAMPLES_PER_MS,
  type PacketDecision,
  type PlacementEvent,
  type PlacementOutput,
  type PlacementState,
  type RtpInfo,
} from '../../src/recording/placement.ts';

const RUNS = { numRuns: 200 };

interface Spurt {
  /** The sender's silence before the spurt (ms). */
  pauseMs: number;
  frames: number;
  samples: number;
  /** Without RTP: bare frames, as @discordjs/voice 0.19 hands them over. */
  rtp: boolean;
  /** A reconnect: a new SSRC and new sequence and timestamp bases. */
  newSsrc: boolean;
  /** How the timestamps go on over the pause: as the sender's clock, not at all, or jumping by `jump`. */
  clock: 'runs' | 'frozen' | 'jumps';
  jump: number;
}

interface Fault {
  /** Extra delay on top of the stream's base delay (ms). */
  jitterMs: number;
  lost: boolean;
  /** A second copy arrives this long after the first (ms); null: none. */
  duplicateAfterMs: number | null;
  /** Timestamp error on this packet alone (samples): a sender that stamps wrongly. */
  tsSkew: number;
}

interface StreamModel {
  /** The track's start (consent time), ms on the arrival clock. */
  startMs: number;
  /** When the sender starts, relative to the track start (negative: before consent). */
  firstSendMs: number;
  baseDelayMs: number;
  seq0: number;
  ts0: number;
  ssrc0: number;
  /** The n-th SSRC is ssrc0 + n % ssrcCycle: a reconnect may bring back an SSRC seen before (hostile streams). */
  ssrcCycle: number;
  spurts: Spurt[];
  /** Applied to packet i as faults[i % faults.length]. */
  faults: Fault[];
  /** A tick on the arrival clock every tickMs (null: none). */
  tickMs: number | null;
  /** The end comes this long after the last arrival (ms). */
  endAfterMs: number;
}

interface Sent {
  id: number;
  /** The packet this one is a copy of (itself for an original). */
  original: number;
  spurt: number;
  sentMs: number;
  arrivalMs: number;
  samples: number;
  rtp?: RtpInfo;
  bytes: Uint8Array;
  /** RTP timestamp distance from the first packet of its spurt (samples). */
  spurtOffset: number;
}

/** Numbers that shrink to small readable values: tenths of a millisecond. */
const tenths = (max: number) => fc.integer({ min: 0, max: max * 10 }).map((x) => x / 10);
/** True `percent` times in a hundred; shrinks to false. */
const weighted = (percent: number) =>
  fc.oneof({ arbitrary: fc.constant(false), weight: 100 - percent }, { arbitrary: fc.constant(true), weight: percent });
const frameSize = fc.constantFrom(960, 480, 240, 120);
/** Bases that are often right at a wrap, so sequence and timestamp wraps happen inside the stream. */
const seqBase = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xffff - 40, max: 0xffff }));
const tsBase = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0xffffffff - 48_000, max: 0xffffffff }));

interface Profile {
  /** Between spurts (the first one's pause is its start after firstSendMs). */
  pauseMs: fc.Arbitrary<number>;
  rtp: fc.Arbitrary<boolean>;
  clock: fc.Arbitrary<Spurt['clock']>;
  samples: fc.Arbitrary<number>;
  jitterMs: number;
  /** How often a packet is lost (per hundred). */
  lossPercent: number;
  duplicateAfterMs: number;
  tsSkew: fc.Arbitrary<number>;
  firstSendMs: fc.Arbitrary<number>;
  /** The least pause before a reconnect (ms). */
  reconnectPauseMs: number;
  /** At most this many reconnects in a stream. */
  maxReconnects: number;
  ssrcCycle: fc.Arbitrary<number>;
}

function streamModel(p: Profile): fc.Arbitrary<StreamModel> {
  const spurt = fc
    .record({
      pauseMs: p.pauseMs,
      frames: fc.noBias(fc.integer({ min: 1, max: 40 })),
      samples: p.samples,
      rtp: p.rtp,
      newSsrc: fc.boolean(),
      clock: p.clock,
      jump: fc.integer({ min: 0, max: 0xffffffff }),
    })
    .map((s) => (s.newSsrc && s.pauseMs < p.reconnectPauseMs ? { ...s, pauseMs: p.reconnectPauseMs } : s));
  const fault = fc.record({
    jitterMs: tenths(p.jitterMs),
    lost: p.lossPercent > 0 ? weighted(p.lossPercent) : fc.constant(false),
    duplicateAfterMs: fc.oneof({ arbitrary: fc.constant(null), weight: 9 }, { arbitrary: tenths(p.duplicateAfterMs), weight: 1 }),
    tsSkew: p.tsSkew,
  });
  return fc.record({
    startMs: fc.integer({ min: 0, max: 3000 }),
    firstSendMs: p.firstSendMs,
    baseDelayMs: tenths(200),
    seq0: seqBase,
    ts0: tsBase,
    ssrc0: fc.integer({ min: 0, max: 0xffffffff }),
    ssrcCycle: p.ssrcCycle,
    spurts: fc.array(spurt, { minLength: 1, maxLength: 8 }).map((spurts) => {
      let reconnects = 0;
      return spurts.map((s, i) => (s.newSsrc && i > 0 && ++reconnects > p.maxReconnects ? { ...s, newSsrc: false } : s));
    }),
    faults: fc.array(fault, { minLength: 1, maxLength: 12 }),
    tickMs: fc.option(fc.integer({ min: 5, max: 500 })),
    endAfterMs: tenths(1000),
  });
}

/** A sender as a Discord client is: its timestamps count through silence, faults are network jitter and loss only. */
const realistic: Profile = {
  pauseMs: fc.integer({ min: 0, max: 4000 }),
  rtp: fc.constant(true),
  clock: fc.constant('runs'),
  samples: frameSize,
  jitterMs: 60,
  lossPercent: 10,
  duplicateAfterMs: 2000,
  tsSkew: fc.constant(0),
  firstSendMs: fc.integer({ min: -1000, max: 3000 }),
  ssrcCycle: fc.constant(Infinity),
  // A reconnect is a new voice connection: the old SSRC's last packets are in before the new one's first.
  reconnectPauseMs: 500,
  // The reducer knows a packet of the four latest SSRCs as a copy; more reconnects than that within seconds are
  // out of what a client does.
  maxReconnects: 3,
};

/** Anything: bare frames and RTP mixed, clocks that stop or jump, wrong timestamps, SSRCs that come back, wild jitter. */
const hostile: Profile = {
  pauseMs: fc.integer({ min: 0, max: 3000 }),
  rtp: fc.boolean(),
  clock: fc.constantFrom('runs', 'frozen', 'jumps'),
  samples: frameSize,
  jitterMs: 3000,
  lossPercent: 30,
  duplicateAfterMs: 3000,
  tsSkew: fc.oneof(fc.constant(0), fc.integer({ min: -48_000, max: 48_000 })),
  firstSendMs: fc.integer({ min: -3000, max: 3000 }),
  ssrcCycle: fc.integer({ min: 1, max: 3 }),
  reconnectPauseMs: 0,
  maxReconnects: Infinity,
};

/** A Discord client on a network that only delays (jitter below the continuity bound) and repeats packets. */
const jitterOnly: Profile = {
  ...realistic,
  // Longer than the jitter: the last packets of a spurt arrive before the next spurt's first.
  pauseMs: fc.integer({ min: 100, max: 4000 }),
  jitterMs: DEFAULT_PLACEMENT.spurtContinuityMs - 1,
  lossPercent: 0,
  duplicateAfterMs: DEFAULT_PLACEMENT.spurtContinuityMs - 1,
};

/** Bare frames (no RTP) from a client on a network that delays, loses and repeats them, a copy within the window. */
const bareFrames: Profile = {
  ...realistic,
  rtp: fc.constant(false),
  duplicateAfterMs: DEFAULT_PLACEMENT.reorderWindowMs - 0.1,
};

/** The packets a stream model sends, in arrival order (a copy right after its original on a tie). */
function send(m: StreamModel): Sent[] {
  const out: Sent[] = [];
  let sendSamples = Math.round((m.startMs + m.firstSendMs) * SAMPLES_PER_MS);
  let ssrcIndex = 0;
  let seq = m.seq0;
  let ts = m.ts0;
  let k = 0;
  m.spurts.forEach((s, spurtIndex) => {
    sendSamples += s.pauseMs * SAMPLES_PER_MS;
    if (s.newSsrc && spurtIndex > 0) {
      ssrcIndex++;
      // A reconnect starts new bases, derived from the old ones so the model stays small.
      seq = (seq * 7 + 12_345) & 0xffff;
      ts = (ts * 3 + 987_654_321) >>> 0;
    } else if (s.clock === 'runs') ts = (ts + s.pauseMs * SAMPLES_PER_MS) >>> 0;
    else if (s.clock === 'jumps') ts = (ts + s.jump) >>> 0;
    const ssrc = (m.ssrc0 + (ssrcIndex % m.ssrcCycle)) >>> 0;
    for (let i = 0; i < s.frames; i++) {
      const fault = m.faults[k++ % m.faults.length]!;
      if (!fault.lost) {
        const id = out.length;
        const arrivalMs = sendSamples / SAMPLES_PER_MS + m.baseDelayMs + fault.jitterMs;
        const packet: Sent = {
          id,
          original: id,
          spurt: spurtIndex,
          sentMs: sendSamples / SAMPLES_PER_MS,
          arrivalMs,
          samples: s.samples,
          ...(s.rtp ? { rtp: { ssrc, sequence: seq, timestamp: (ts + fault.tsSkew) >>> 0 } } : {}),
          // Unique per original: its copy is the only other packet with these bytes.
          bytes: Uint8Array.from([0xf8, id & 0xff, (id >> 8) & 0xff]),
          spurtOffset: i * s.samples,
        };
        out.push(packet);
        if (fault.duplicateAfterMs !== null) out.push({ ...packet, id: id + 1, arrivalMs: arrivalMs + fault.duplicateAfterMs });
      }
      sendSamples += s.samples;
      seq = (seq + 1) & 0xffff;
      ts = (ts + s.samples) >>> 0;
    }
  });
  return out.sort(byArrival);
}

/** Arrival order; a copy right after its original on a tie. */
const byArrival = (a: Sent, b: Sent): number => a.arrivalMs - b.arrivalMs || a.id - b.id;

interface Played {
  sent: Sent[];
  endMs: number;
  start: number;
  outputs: PlacementOutput<number>[];
  decisions: Map<number, PacketDecision | undefined>;
  /** The track's length just before the end event. */
  headBeforeEnd: number;
  final: PlacementState<number>;
}

/** The track's end: endAfterMs after the last arrival. */
function endOf(m: StreamModel, sent: Sent[]): number {
  return sent.reduce((t, p) => Math.max(t, p.arrivalMs), m.startMs) + m.endAfterMs;
}

/** Plays the stream a model sends. */
function play(m: StreamModel): Played {
  const sent = send(m);
  return replay(m, sent, endOf(m, sent));
}

/**
 * Feeds packets (in arrival order) to the reducer the way a SpeakerTrack does: packets, ticks on the arrival
 * clock, one end. `extraTicks` come after the packets that arrive at the same time.
 */
function replay(m: { startMs: number; tickMs: number | null }, sent: Sent[], endMs: number, extraTicks: number[] = []): Played {
  let state = initialPlacement<number>(m.startMs);
  const outputs: PlacementOutput<number>[] = [];
  const decisions = new Map<number, PacketDecision | undefined>();
  const apply = (event: PlacementEvent<number>) => {
    const step = placementReducer(state, event);
    state = step.state;
    outputs.push(...step.out);
    return step;
  };
  let nextTick = m.tickMs === null ? Infinity : m.startMs + m.tickMs;
  const extra = [...extraTicks].sort((a, b) => a - b);
  for (const p of sent) {
    for (; nextTick <= p.arrivalMs; nextTick += m.tickMs!) apply({ type: 'tick', nowMs: nextTick });
    while (extra.length > 0 && extra[0]! < p.arrivalMs) apply({ type: 'tick', nowMs: extra.shift()! });
    const step = apply({ type: 'packet', arrivalMs: p.arrivalMs, samples: p.samples, rtp: p.rtp, bytes: p.bytes, payload: p.id });
    decisions.set(p.id, step.decision);
  }
  for (const t of extra) apply({ type: 'tick', nowMs: t });
  for (; nextTick <= endMs; nextTick += m.tickMs!) apply({ type: 'tick', nowMs: nextTick });
  const headBeforeEnd = state.head;
  apply({ type: 'end', endMs });
  return { sent, endMs, start: initialPlacement(m.startMs).start, outputs, decisions, headBeforeEnd, final: state };
}

const endOnGrid = (endMs: number): number => Math.ceil((endMs * SAMPLES_PER_MS) / GRID) * GRID;

/** Where each written packet went (by id). */
function written(r: Played): Map<number, number> {
  const at = new Map<number, number>();
  // + 0: a packet a few samples before 0 on its RTP clock snaps to -0, which is position 0.
  for (const o of r.outputs) if (o.kind === 'packet') at.set(o.payload, o.pos + 0);
  return at;
}

/** What must hold for any stream at all. */
function checkInvariants(r: Played): void {
  // Silence and packets tile the track from its start: each output begins exactly where the track ends so far
  // (no gap, no overlap, so positions only grow).
  let head = r.start;
  for (const o of r.outputs) {
    if (o.kind !== 'silence' && o.kind !== 'packet') continue;
    // + 0: a packet a few samples before 0 on its RTP clock snaps to -0, which is position 0.
    expect(o.pos + 0).toBe(head);
    expect(o.samples).toBeGreaterThan(0);
    expect(o.pos % GRID).toBe(0);
    expect(o.samples % GRID).toBe(0);
    head += o.samples;
  }
  expect(r.final.head).toBe(head);
  expect(r.final.pending).toEqual([]);
  // The end pads to the end rounded up to the grid, and what the end event itself writes never runs past it.
  expect(head).toBe(Math.max(endOnGrid(r.endMs), r.headBeforeEnd));

  // Every packet is decided; an accepted one comes out exactly once (written, late or past the end), a
  // dropped one never.
  const outcomes = new Map<number, string[]>();
  for (const o of r.outputs) if (o.kind !== 'silence') outcomes.set(o.payload, [...(outcomes.get(o.payload) ?? []), o.kind]);
  const bySent = new Map(r.sent.map((p) => [p.id, p]));
  for (const p of r.sent) {
    const decision = r.decisions.get(p.id);
    expect(decision).toBeDefined();
    const out = outcomes.get(p.id) ?? [];
    if (decision!.kind === 'accepted') expect(out.length === 1 && ['packet', 'late', 'past-end'].includes(out[0]!)).toBe(true);
    else expect(out).toEqual([]);
    // Nothing that arrived before the track's start is ever placed.
    if (msToGrid(p.arrivalMs) < r.start) expect(decision).toEqual({ kind: 'dropped', reason: 'late' });
  }
  for (const o of r.outputs) if (o.kind === 'packet') expect(o.samples).toBe(bySent.get(o.payload)!.samples);
}

/** No packet is written twice: a copy is written only if its original was not. */
function checkNoDuplicateWritten(r: Played): void {
  const originals = [...written(r).keys()].map((id) => r.sent.find((p) => p.id === id)!.original);
  expect(originals.length).toBe(new Set(originals).size);
}

/** The invariants, and no packet written twice. */
function checkClean(r: Played): void {
  checkInvariants(r);
  checkNoDuplicateWritten(r);
}

/** `check` holds for every stream of the profile. */
function everyStream(profile: Profile, check: (r: Played, m: StreamModel) => void): void {
  fc.assert(
    fc.property(streamModel(profile), (m) => check(play(m), m)),
    RUNS,
  );
}

describe('placement reducer properties', () => {
  test('any stream at all: the track is tiled exactly from its start to its end, on the grid, each packet accounted for once', () => {
    everyStream(hostile, checkInvariants);
  });

  test('RTP with jitter below the continuity bound: a talk spurt keeps its RTP spacing exactly; with jitter inside the reorder window nothing is late', () => {
    everyStream(jitterOnly, (r, m) => {
      checkClean(r);
      const at = written(r);
      const anchors = new Map<number, Set<number>>();
      for (const p of r.sent) {
        const pos = at.get(p.id);
        if (pos !== undefined) anchors.set(p.spurt, (anchors.get(p.spurt) ?? new Set()).add(pos - p.spurtOffset));
      }
      for (const [, set] of anchors) expect([...set]).toHaveLength(1);
      const jitter = Math.max(...m.faults.map((f) => f.jitterMs));
      if (jitter < DEFAULT_PLACEMENT.reorderWindowMs - 5) {
        // Audio sent before the track's start (plus a grid step) is rightly dropped as late; nothing else is.
        const late = r.sent.filter((p) => {
          const d = r.decisions.get(p.id)!;
          const dropped = d.kind === 'dropped' ? d.reason : r.outputs.some((o) => o.kind === 'late' && o.payload === p.id) ? 'late' : null;
          return dropped === 'late' && p.sentMs + m.baseDelayMs >= m.startMs + GRID / SAMPLES_PER_MS;
        });
        expect(late.map((p) => p.id)).toEqual([]);
      }
    });
  });

  test('RTP: a straggler (a packet held back until after a later one of its SSRC, or a copy then) acts as a tick: no other packet moves', () => {
    const change = fc.record({ pick: fc.nat(), delayMs: tenths(5000), copy: fc.boolean() });
    fc.assert(
      fc.property(streamModel(realistic), change, (m, { pick, delayMs, copy }) => {
        const sent = send(m);
        const endMs = endOf(m, sent);
        const originals = sent.filter((p) => p.id === p.original);
        fc.pre(originals.length > 0);
        const victim = originals[pick % originals.length]!;
        const rest = copy ? sent : sent.filter((p) => p.id !== victim.id);
        const baseline = replay(m, rest, endMs);
        // The first accepted packet sent after it on its SSRC.
        const successor = baseline.sent.find(
          (p) => p.rtp?.ssrc === victim.rtp!.ssrc && p.sentMs > victim.sentMs && baseline.decisions.get(p.id)!.kind === 'accepted',
        );
        fc.pre(successor !== undefined);
        const held = { ...victim, id: sent.length, arrivalMs: Math.min(endMs, Math.max(victim.arrivalMs, successor.arrivalMs) + delayMs) };
        const r = replay(m, [...rest, held].sort(byArrival), endMs);
        checkClean(r);
        // The same stream with a tick where the straggler came (an arrival moves the reducer's clock, as a tick does).
        const ticked = replay(m, rest, endMs, [held.arrivalMs]);
        const placed = (played: Played) => {
          const at = new Map([...written(played)].map(([id, pos]) => [played.sent.find((p) => p.id === id)!.original, pos]));
          at.delete(victim.id);
          return at;
        };
        expect(placed(r)).toEqual(placed(ticked));
      }),
      RUNS,
    );
  });

  test('bare frames: a copy arriving within the reorder window is never written', () => {
    everyStream(bareFrames, checkClean);
  });

  test('a realistic RTP stream: the same, no packet written twice, and the track ends exactly at its end', () => {
    everyStream(realistic, (r) => {
      checkClean(r);
      expect(r.headBeforeEnd).toBeLessThanOrEqual(endOnGrid(r.endMs));
    });
  });
});

/** `count` 20 ms RTP packets sent from `sentMs` (sequence = id), each arriving as it is sent; timestamps step by `tsStep`. */
function rtpSpurt(count: number, sentMs: number, tsStep = 960): Sent[] {
  return Array.from({ length: count }, (_, id) => ({
    ...frame(id, sentMs + 20 * id, sentMs + 20 * id, id * 960),
    rtp: { ssrc: 1, sequence: id, timestamp: tsStep * id },
  }));
}

function frame(id: number, sentMs: number, arrivalMs: number, spurtOffset: number, samples = 960): Sent {
  return { id, original: id, spurt: 0, sentMs, arrivalMs, samples, bytes: Uint8Array.from([0xf8, id & 0xff, id >> 8]), spurtOffset };
}

const quiet = { startMs: 0, tickMs: null };

describe('what the properties found', () => {
  test('an RTP packet held back 510 ms (past the drift bound) takes its own slot, and the rest of its talk spurt does not move', () => {
    const sent = rtpSpurt(60, 1000);
    sent[5]!.arrivalMs += 510;
    const r = replay(quiet, sent.sort(byArrival), 3000);
    checkInvariants(r);
    expect(written(r)).toEqual(new Map(sent.map((p) => [p.id, p.sentMs * SAMPLES_PER_MS])));
  });

  test('a straggler of the previous talk spurt, arriving after the next one began, is late: it does not push a packet of its own spurt out', () => {
    // Nothing is written in the clock's first 2 s, and the creep over the 2.2 s pause moves the second spurt, not
    // yet written, one grid step later (these timestamps put its anchor just below a rounding boundary): packet 0,
    // had it joined that spurt's run, would have moved with it onto packet 1.
    const ts = (sentMs: number) => 45_072 + SAMPLES_PER_MS * (sentMs - 1326);
    const at = (id: number, sentMs: number, arrivalMs: number): Sent => ({
      ...frame(id, sentMs, arrivalMs, 0),
      rtp: { ssrc: 1, sequence: id, timestamp: ts(sentMs) },
    });
    const sent = [
      at(1, 1346, 1346),
      ...[1567, 1587, 1607, 1627, 1647, 1667].map((sentMs, i) => at(2 + i, sentMs, sentMs + (i % 2 === 0 ? 16 : 0))),
      at(0, 1326, 1584), // packet 0, sent before packet 1, comes after the second spurt's first packet
      at(8, 3830, 3846),
    ].sort(byArrival);
    const r = replay({ startMs: 3, tickMs: null }, sent, 3850);
    checkInvariants(r);
    expect(r.decisions.get(0)).toEqual({ kind: 'dropped', reason: 'late' });
    expect(written(r).get(1)).toBe(msToGrid(1346));
  });

  test('a straggler teaches the stream clock nothing: its late arrival does not creep an unwritten spurt a grid step later', () => {
    // A sender clock 1/960 fast puts the spurt's anchor 59 samples below a rounding boundary; packet 30 comes
    // 0.9 s after the spurt, as the first event once the clock is learned (2 s after the first packet).
    const sent = rtpSpurt(62, 1000, 961);
    const [held] = sent.splice(30, 1);
    const late = { ...held!, arrivalMs: 3100 };
    const r = replay(quiet, [...sent, late], 4000);
    checkInvariants(r);
    const ticked = replay(quiet, sent, 4000, [late.arrivalMs]);
    expect(r.decisions.get(30)).toEqual({ kind: 'accepted', reordered: true });
    const others = written(r);
    others.delete(30);
    expect(others).toEqual(written(ticked));
  });

  test('bare 2.5 ms frames, each repeated 40 ms later (inside the reorder window): no copy is written', () => {
    const sent = Array.from({ length: 40 }, (_, i) => frame(i, 1000 + 2.5 * i, 1000 + 2.5 * i, 120 * i, 120));
    const copies = sent.map((p) => ({ ...p, id: 100 + p.id, arrivalMs: p.arrivalMs + 40 }));
    const r = replay(quiet, [...sent, ...copies].sort(byArrival), 2000);
    checkInvariants(r);
    expect([...written(r).keys()].sort((a, b) => a - b)).toEqual(sent.map((p) => p.id));
    for (const c of copies) expect(r.decisions.get(c.id)).toEqual({ kind: 'dropped', reason: 'duplicate' });
  });
});
