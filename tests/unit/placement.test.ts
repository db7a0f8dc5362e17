import { describe, expect, test } from 'vitest';
import {
  initialPlacement,
  placementReducer,
  seqDiff,
  tsDiff,
  type PlacementConfig,
  type PlacementOutput,
  type PlacementState,
  type RtpInfo,
} from '../../src/recording/placement.ts';

const F = 960; // 20 ms at 48 kHz

interface Arrival {
  id: number;
  at: number;
  rtp?: RtpInfo;
  bytes?: number[];
  samples?: number;
}

/** Feed arrivals (in the given order) through the reducer, end at endMs; check the output never overlaps. */
function run(arrivals: Arrival[], endMs: number, startMs = 0, config: Partial<PlacementConfig> = {}) {
  let state: PlacementState<number> = initialPlacement<number>(startMs, config);
  const out: PlacementOutput<number>[] = [];
  const dropped: Record<number, string> = {};
  let reordered = 0;
  for (const a of arrivals) {
    const step = placementReducer(state, {
      type: 'packet',
      arrivalMs: a.at,
      samples: a.samples ?? F,
      rtp: a.rtp,
      bytes: Uint8Array.from(a.bytes ?? [0xf8, a.id & 0xff, a.id >> 8]),
      payload: a.id,
    });
    state = step.state;
    out.push(...step.out);
    if (step.decision?.kind === 'dropped') dropped[a.id] = step.decision.reason;
    if (step.decision?.kind === 'accepted' && step.decision.reordered) reordered++;
  }
  const end = placementReducer(state, { type: 'end', endMs });
  out.push(...end.out);
  let head = Math.round((startMs * 48) / 120) * 120;
  const pos: Record<number, number> = {};
  for (const o of out) {
    if (o.kind === 'late' || o.kind === 'past-end') {
      dropped[o.payload] = o.kind;
      continue;
    }
    expect(o.pos).toBe(head); // contiguous: silence + packets tile the track exactly
    head += o.samples;
    if (o.kind === 'packet') pos[o.payload] = o.pos;
  }
  return { pos, dropped, reordered, end: head, silence: out.filter((o) => o.kind === 'silence').reduce((n, o) => n + o.samples, 0) };
}

/** A talk spurt of `count` 20 ms packets sent from `startMs`, each delayed by jitter[i % jitter.length]. */
function spurt(opts: {
  from: number;
  count: number;
  startMs: number;
  jitter?: number[];
  rtp?: { seq: number; ts: number; ssrc: number };
}): Arrival[] {
  const jitter = opts.jitter ?? [0];
  return Array.from({ length: opts.count }, (_, i) => ({
    id: opts.from + i,
    at: opts.startMs + 20 * i + jitter[i % jitter.length]!,
    ...(opts.rtp ? { rtp: { sequence: (opts.rtp.seq + i) & 0xffff, timestamp: (opts.rtp.ts + F * i) >>> 0, ssrc: opts.rtp.ssrc } } : {}),
  }));
}

const ms = (x: number): number => x * 48;
const expectedSpurt = (from: number, count: number, startMs: number) =>
  Object.fromEntries(Array.from({ length: count }, (_, i) => [from + i, ms(startMs) + F * i]));

describe('wrap-safe RTP maths', () => {
  test.each([
    [65535, 0, 1],
    [0, 65535, -1],
    [65530, 5, 11],
    [5, 65530, -11],
    [100, 100, 0],
    [0, 32767, 32767],
    [0, 32768, -32768],
  ])('seqDiff(%i, %i) = %i', (a, b, d) => expect(seqDiff(a, b)).toBe(d));

  test.each([
    [4294967295, 0, 1],
    [0, 4294967295, -1],
    [4294966336, 624, 1584],
    [624, 4294966336, -1584],
    [7, 7, 0],
    [0, 2 ** 31 - 1, 2 ** 31 - 1],
  ])('tsDiff(%i, %i) = %i', (a, b, d) => expect(tsDiff(a, b)).toBe(d));
});

describe('placement with RTP', () => {
  const rtp = { seq: 100, ts: 123456, ssrc: 42 };

  test.each([
    ['no wrap', { seq: 100, ts: 123456 }],
    ['sequence wraps at 65535', { seq: 65530, ts: 5000 }],
    ['timestamp wraps at 2^32', { seq: 10, ts: 2 ** 32 - 3 * F }],
    ['both wrap', { seq: 65533, ts: 2 ** 32 - 2 * F - 17 }],
  ])('%s: jitter does not move packets', (_name, start) => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 1000, jitter: [7, 0, 15, 3, 11, 0, 9], rtp: { ...start, ssrc: 1 } });
    const r = run(arrivals, 2000);
    expect(r.pos).toEqual(expectedSpurt(0, 20, 1000));
    expect(r.dropped).toEqual({});
    expect(r.end).toBe(ms(2000));
  });

  test.each([
    ['one lost', [5]],
    ['three lost in a row', [5, 6, 7]],
    ['scattered', [2, 9, 13]],
  ])('loss (%s) leaves a gap of the lost duration; later packets keep their slots', (_name, lost) => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 500, jitter: [0, 4], rtp }).filter((a) => !lost.includes(a.id));
    const r = run(arrivals, 1000);
    const expected = expectedSpurt(0, 20, 500);
    for (const id of lost) delete expected[id];
    expect(r.pos).toEqual(expected);
    expect(r.silence).toBe(ms(1000) - 17 * F - (3 - lost.length) * F);
  });

  test.each([
    ['right after', 1],
    ['40 ms later', 40],
    ['after its slot was written', 400],
  ])('a duplicate arriving %s is dropped', (_name, delay) => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 0, rtp });
    const dup = { ...arrivals[4]!, id: 99, at: arrivals[4]!.at + delay };
    const all = [...arrivals, dup].sort((a, b) => a.at - b.at);
    const r = run(all, 1000);
    expect(r.dropped).toEqual({ 99: 'duplicate' });
    expect(r.pos).toEqual(expectedSpurt(0, 20, 0));
  });

  test.each([
    ['two swapped', [[4, 5]]],
    ['one 60 ms late (inside the window)', [[3, 6]]],
  ])('reordering inside the window is repaired: %s', (_name, swaps) => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 0, rtp });
    for (const [a, b] of swaps as [number, number][]) {
      const t = arrivals[a]!.at;
      arrivals[a]!.at = arrivals[b]!.at + 1;
      arrivals[b]!.at = Math.min(arrivals[b]!.at, t);
    }
    arrivals.sort((x, y) => x.at - y.at);
    const r = run(arrivals, 1000);
    expect(r.pos).toEqual(expectedSpurt(0, 20, 0));
    expect(r.dropped).toEqual({});
    expect(r.reordered).toBeGreaterThan(0);
  });

  // Repeats: [which packet, how long after the original (or after the loss, for one sent before it)].
  test.each([
    [
      'no wrap, no loss',
      100,
      [],
      [
        [5, 30],
        [1400, 30],
        [600, 1500],
        [900, 9000],
      ],
    ],
    [
      'across the sequence wrap',
      65000,
      [],
      [
        [530, 30],
        [540, 700],
        [1499, 30],
      ],
    ],
    [
      'after a loss of 71 packets (the window jumps)',
      30,
      [100, 170],
      [
        [99, 30],
        [171, 30],
        [1200, 2000],
      ],
    ],
    [
      'after a loss longer than the window',
      65400,
      [200, 900],
      [
        [901, 30],
        [1499, 30],
      ],
    ],
  ])('a 30 s spurt %s: nothing new is taken for a duplicate, and every repeat is one', (_name, seq, [lostFrom, lostTo] = [], repeats) => {
    const sent = spurt({ from: 0, count: 1500, startMs: 0, rtp: { seq, ts: 777, ssrc: 5 } });
    const arrivals: Arrival[] = sent.filter((a) => lostFrom === undefined || a.id < lostFrom || a.id >= lostTo!);
    for (const [k, [id, delay]] of repeats.entries()) {
      const original = sent[id!]!;
      const after = lostTo !== undefined && id! < lostTo ? sent[lostTo]!.at : original.at;
      arrivals.push({ ...original, id: 10_000 + k, at: after + delay! });
    }
    arrivals.sort((a, b) => a.at - b.at);
    const r = run(arrivals, 31_000);
    expect(r.dropped).toEqual(Object.fromEntries(repeats.map((_r, k) => [10_000 + k, 'duplicate'])));
    expect(Object.keys(r.pos).length).toBe(arrivals.length - repeats.length);
  });

  test('after a reconnect, a straggler of the old SSRC is still known as a duplicate', () => {
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    const b = spurt({ from: 100, count: 10, startMs: 1300, rtp: { seq: 7, ts: 999, ssrc: 43 } });
    const straggler = { ...a[9]!, id: 99, at: 1400 };
    const r = run(
      [...a, ...b, straggler].sort((x, y) => x.at - y.at),
      2000,
    );
    expect(r.dropped).toEqual({ 99: 'duplicate' });
  });

  test('a packet too late for its slot is dropped and nothing after it moves', () => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 0, rtp });
    arrivals[3]!.at += 200; // the window is 80 ms
    arrivals.sort((x, y) => x.at - y.at);
    // Once the stream's clock is learned (here at once), what is written is final.
    const r = run(arrivals, 1000, 0, { learnMs: 0 });
    expect(r.dropped).toEqual({ 3: 'late' });
    const expected = expectedSpurt(0, 20, 0);
    delete expected[3];
    expect(r.pos).toEqual(expected);
  });

  test("while a stream's clock is being learned nothing is written, so a packet that late still finds its slot", () => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 0, rtp });
    arrivals[3]!.at += 200;
    arrivals.sort((x, y) => x.at - y.at);
    const r = run(arrivals, 1000);
    expect(r.dropped).toEqual({});
    expect(r.pos).toEqual(expectedSpurt(0, 20, 0));
  });

  test('reconnect (new SSRC, new timestamp base) re-anchors on arrival time', () => {
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    const b = spurt({ from: 100, count: 10, startMs: 3000, jitter: [3, 0], rtp: { seq: 7, ts: 999, ssrc: 43 } });
    const r = run([...a, ...b], 4000);
    expect(r.pos).toEqual({ ...expectedSpurt(0, 10, 1000), ...expectedSpurt(100, 10, 3000) });
  });

  test.each([
    ['timestamps did not advance over the silence', 10 * F],
    ['timestamps jumped far ahead', 10 * F + 48000 * 30],
  ])('a new talk spurt re-anchors on arrival when %s', (_name, nextTs) => {
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    const b = spurt({ from: 100, count: 10, startMs: 5000, rtp: { seq: rtp.seq + 10, ts: rtp.ts + nextTs, ssrc: 42 } });
    const r = run([...a, ...b], 6000);
    expect(r.pos).toEqual({ ...expectedSpurt(0, 10, 1000), ...expectedSpurt(100, 10, 5000) });
  });

  test.each([
    ['1 ms', 1],
    ['2 ms (just past a grid step on arrival)', 2],
    ['40 ms', 40],
  ])('a new talk spurt whose every packet arrives %s late is placed where its RTP clock puts it, not a grid step off', (_name, lateMs) => {
    // The sender's timestamps count on through the 3 s pause (48 per ms), as a Discord client's do.
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    const b = spurt({
      from: 100,
      count: 10,
      startMs: 1200 + 3000,
      jitter: [lateMs],
      rtp: { seq: rtp.seq + 10, ts: rtp.ts + ms(200 + 3000), ssrc: 42 },
    });
    const r = run([...a, ...b], 6000);
    expect(r.pos).toEqual({ ...expectedSpurt(0, 10, 1000), ...expectedSpurt(100, 10, 4200) });
  });

  test.each([
    ['a 250 ms stall, then a burst', 250, 'burst'],
    ['a 450 ms stall, then a burst', 450, 'burst'],
    ['a 300 ms latency step that lasts', 300, 'step'],
  ] as const)('%s in the middle of a word leaves no gap: the sender sent every packet back to back', (_name, delayMs, shape) => {
    const a = spurt({ from: 0, count: 40, startMs: 1000, rtp });
    const stallEnd = 1000 + 10 * 20 + delayMs;
    for (const [i, p] of a.slice(10).entries()) {
      // burst: what waited in the socket arrives at once; step: every later packet is delayed by as much.
      p.at = shape === 'burst' ? Math.max(p.at, stallEnd + i * 0.05) : p.at + delayMs;
    }
    const r = run(a, 3000);
    expect(r.dropped).toEqual({});
    expect(r.pos).toEqual(expectedSpurt(0, 40, 1000));
  });

  test("a spurt whose first packets were held up (beyond the continuity bound) goes back to the stream's clock", () => {
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    // Said at 4.2 s. A stall holds its first six packets until 4.33 s (the first 130 ms late, more than the
    // continuity bound); every later one arrives 20 ms late. Its own packets alone would place it 20 ms late.
    const b = spurt({ from: 100, count: 20, startMs: 4200, jitter: [20], rtp: { seq: rtp.seq + 10, ts: rtp.ts + ms(3200), ssrc: 42 } });
    for (const p of b.slice(0, 6)) p.at = 4330;
    const r = run([...a, ...b], 6000);
    expect(r.dropped).toEqual({});
    expect(r.pos).toEqual({ ...expectedSpurt(0, 10, 1000), ...expectedSpurt(100, 20, 4200) });
  });

  test('a new talk spurt that arrives well behind its RTP position (beyond the continuity bound) is placed on arrival', () => {
    const a = spurt({ from: 0, count: 10, startMs: 1000, rtp });
    // RTP says 4.2 s; it arrives at 4.4 s: more than jitter, so the clock is not trusted across the pause.
    const b = spurt({ from: 100, count: 10, startMs: 4400, rtp: { seq: rtp.seq + 10, ts: rtp.ts + ms(3200), ssrc: 42 } });
    const r = run([...a, ...b], 6000);
    expect(r.pos).toEqual({ ...expectedSpurt(0, 10, 1000), ...expectedSpurt(100, 10, 4400) });
  });

  test('a timestamp jump inside a spurt (drift beyond the bound) re-anchors on arrival', () => {
    const a = spurt({ from: 0, count: 25, startMs: 0, rtp });
    for (const p of a.slice(10)) p.rtp = { ...p.rtp!, timestamp: (p.rtp!.timestamp + 48000 * 5) >>> 0 };
    const r = run(a, 1000);
    expect(r.pos).toEqual(expectedSpurt(0, 25, 0));
  });
});

describe('placement without RTP (bare frames)', () => {
  test.each([
    ['no jitter', [0]],
    ['jitter up to 9 ms', [3, 0, 9, 5, 1, 8]],
    ['jitter up to 18 ms', [0, 18, 4, 12, 0, 17, 2]],
    ['a jittered first packet', [15, 0, 2, 0]],
  ])('%s: one spurt stays contiguous on the sender grid', (_name, jitter) => {
    const r = run(spurt({ from: 0, count: 30, startMs: 2000, jitter }), 3000);
    expect(r.pos).toEqual(expectedSpurt(0, 30, 2000));
  });

  test.each([[[7]], [[7, 8]], [[3, 10, 11, 12]]])('loss of %j leaves a gap of that length', (lost) => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 100, jitter: [0, 3, 1] }).filter((a) => !lost.includes(a.id));
    const r = run(arrivals, 1000);
    const expected = expectedSpurt(0, 20, 100);
    for (const id of lost) delete expected[id];
    expect(r.pos).toEqual(expected);
  });

  test('a speaker who first talks 95 s in has 95 s of silence first; every gap keeps its length', () => {
    const a = spurt({ from: 0, count: 50, startMs: 95_000, jitter: [2, 0, 5] });
    const b = spurt({ from: 100, count: 50, startMs: 97_340, jitter: [0, 6] });
    const r = run([...a, ...b], 100_000);
    expect(r.pos).toEqual({ ...expectedSpurt(0, 50, 95_000), ...expectedSpurt(100, 50, 97_340) });
    expect(r.end).toBe(ms(100_000));
  });

  test('a duplicate (identical bytes, same moment) is dropped', () => {
    const arrivals = spurt({ from: 0, count: 10, startMs: 0 });
    arrivals.splice(5, 0, { id: 99, at: arrivals[4]!.at + 2, bytes: [0xf8, 4, 0] });
    const r = run(arrivals, 500);
    expect(r.dropped).toEqual({ 99: 'duplicate' });
    expect(r.pos).toEqual(expectedSpurt(0, 10, 0));
  });

  test('a burst after a network stall is placed back to back, without a gap', () => {
    const arrivals = spurt({ from: 0, count: 20, startMs: 0 });
    for (const p of arrivals.slice(5, 10)) p.at = arrivals[9]!.at + 1; // 5 packets held, then delivered together
    const r = run(arrivals, 1000);
    expect(r.pos).toEqual(expectedSpurt(0, 20, 0));
  });

  test('nothing is placed before the track start (consent time)', () => {
    const r = run(spurt({ from: 0, count: 10, startMs: 900 }), 2000, 1000);
    expect(Object.keys(r.pos).length).toBe(5);
    expect(r.dropped).toEqual({ 0: 'late', 1: 'late', 2: 'late', 3: 'late', 4: 'late' });
    expect(r.pos[5]).toBe(ms(1000));
  });

  test('a track ends exactly at its end: a frame that would run past it is left out, not written a frame long', () => {
    // The last frame arrives 10 ms before the end, so it would end 10 ms after it.
    const r = run(spurt({ from: 0, count: 5, startMs: 1000 }), 1090);
    expect(r.end).toBe(ms(1090));
    expect(r.dropped).toEqual({ 4: 'past-end' });
    expect(Object.keys(r.pos)).toHaveLength(4);
  });

  test('positions snap to the 2.5 ms grid', () => {
    const r = run(
      [
        { id: 1, at: 1001.2 },
        { id: 2, at: 1234.9, samples: 120 },
      ],
      1500,
    );
    expect(r.pos).toEqual({ 1: ms(1000), 2: ms(1235) });
  });
});
