/**
 * Time placement of received Opus packets on a speaker's track: a pure reducer, no I/O, no clock of its
 * own. Positions are 48 kHz samples from the recording's time zero (= the Ogg decoder position: the
 * track's pre-skip of 312 samples cancels the sending encoder's lookahead), snapped to a 120-sample
 * (2.5 ms) grid so Opus silence frames can fill any gap exactly.
 *
 * Model. Packets come in "runs": stretches the sender produced back to back.
 *  - With RTP, a run is one SSRC within one talk spurt; inside it a packet's position is
 *    run.pos + (timestamp - run.refTs), computed with wrap-safe 32-bit maths, so jitter never moves audio
 *    and loss leaves a gap of exactly the lost duration. A new run (re-anchor on arrival time) starts on a
 *    new SSRC (reconnect), after a gap > spurtGapMs in the sender's RTP clock (a new talk spurt: a client
 *    sends nothing while silent, but its clock counts on), or when the RTP position and the arrival time
 *    disagree by more than maxDriftMs (a sender clock or timestamp jump). The gap is measured on the RTP
 *    clock, not on arrival: packets that reach us in a burst after a stall of our own (GC, a busy event loop)
 *    were sent back to back, and re-anchoring them on their late arrival would tear a gap into the word.
 *  - Each SSRC has a clock: where its RTP timestamps fall on the recording's timeline, learned as the earliest
 *    position any of its packets implied (arrival only errs late, so the earliest is the least delayed), and
 *    allowed to creep later by 0.1 ms per second so a slow sender clock is followed. Every RTP run sits on it:
 *    a new talk spurt of the same SSRC is placed where the clock puts it (a sender's timestamps keep counting
 *    through the silence it does not send), and an unwritten run moves whenever the clock learns better, so
 *    one jittered first packet cannot put a spurt off. A first packet further than spurtContinuityMs from the
 *    clock (a clock that did not run through the pause, a jump, or only a held-up first packet) starts a
 *    tentative clock on its arrival, which gives way to the old one as soon as a later packet agrees with it.
 *  - Nothing of a stream's first clock is written for learnMs (2 s, below the live mix's 3 s lag), so its
 *    first words are placed by a clock learned from many packets, not from the first few.
 *  - Without RTP (bare frames, as @discordjs/voice 0.19 hands them over), a packet continues the run
 *    (placed right after the previous one, so jitter never inserts micro-gaps) unless it arrives later
 *    than the run predicts by more than the tolerance: just above the recently observed jitter, at least
 *    half a frame, less than a whole frame. Then frames were lost or a new spurt began, and a new run
 *    starts at its arrival time (a lost frame leaves a one-frame gap).
 *  - A run's anchor comes from arrival time, which only ever errs late (jitter delays, never advances), so
 *    while none of the run has been written yet each new member can pull the anchor earlier
 *    (min(arrival - offset)), down to the end of what precedes it. A jittered first packet therefore does
 *    not leave a micro-gap before its spurt.
 *  - Packets wait reorderWindowMs (measured on the arrival clock) before being written, in position
 *    order: reordering inside the window is repaired. Anything whose slot was already written is "late"
 *    and dropped; the track never overlaps itself and no later audio ever shifts.
 *  - A straggler (an RTP packet older than the newest of its SSRC) is placed by its timestamp in the current
 *    run if it belongs to that talk spurt, however late it comes, and is late otherwise: never re-anchored on
 *    its arrival, and it teaches the clock nothing.
 *  - Duplicates: the same (SSRC, sequence) seen recently; without RTP, identical bytes within the window.
 *
 * Cost. The reducer runs on the bot's main thread for every packet of every speaker (2,500/s at 50
 * speakers), so what it copies per packet matters: the state is replaced, never mutated, but every part of
 * it that grows with history is a small fixed-size copy (the sequence window is 64 bytes).
 */

export const SAMPLES_PER_MS = 48;
export const GRID = 120;

export interface RtpInfo {
  sequence: number;
  timestamp: number;
  ssrc: number;
}

export interface PlacementConfig {
  /** How long a packet waits for earlier ones that may still arrive. Default 80. */
  reorderWindowMs: number;
  /** An arrival gap longer than this starts a new talk spurt (RTP re-anchors on arrival). Default 200. */
  spurtGapMs: number;
  /** RTP position vs arrival disagreement that forces a re-anchor. Default 500. */
  maxDriftMs: number;
  /**
   * How far a new spurt's first packet may arrive from where the stream's clock puts it and still be placed by
   * the clock: above the worst network jitter expected. Default 100.
   */
  spurtContinuityMs: number;
  /**
   * How long after a stream's first packet nothing of it is written, so its clock is learned from many
   * arrivals, not the first few: kept below the live mix's lag (3 s) so it never waits for this. Default 2000.
   */
  learnMs: number;
}

export const DEFAULT_PLACEMENT: PlacementConfig = {
  reorderWindowMs: 80,
  spurtGapMs: 200,
  maxDriftMs: 500,
  spurtContinuityMs: 100,
  learnMs: 2000,
};

/** Signed distance b - a between two 16-bit RTP sequence numbers, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  return ((((b - a) & 0xffff) + 0x8000) & 0xffff) - 0x8000;
}

/** Signed distance b - a between two 32-bit RTP timestamps, in [-2^31, 2^31). */
export function tsDiff(a: number, b: number): number {
  return (b - a) | 0;
}

export function snapToGrid(samples: number): number {
  return Math.round(samples / GRID) * GRID;
}

export function msToGrid(ms: number): number {
  return snapToGrid(ms * SAMPLES_PER_MS);
}

interface Run {
  id: number;
  ssrc: number | null;
  /** RTP runs: the stream clock epoch the anchor follows while it is not frozen. */
  clock: number | null;
  /** RTP timestamp at offset 0 (RTP runs). */
  refTs: number;
  /** Position of offset 0; may move earlier until the run is frozen. */
  pos: number;
  /** The anchor may not move before this (the end of what preceded the run). */
  floor: number;
  /** Some of the run is written: its anchor is final. */
  frozen: boolean;
  /** Without RTP: offset of the next contiguous packet. */
  nextOffset: number;
  /** RTP runs: the latest offset seen (the end of the sender's clock so far in this run). */
  lastOffset: number;
  /** RTP runs: the earliest offset seen (a member that arrived after later ones has a negative offset). */
  firstOffset: number;
  lastArrivalMs: number;
}

/**
 * Where one SSRC's RTP timestamps fall on the recording's timeline: position(ts) = refPos + (ts - refTs). Learned
 * as the earliest any of its packets implied (arrival only errs late), so after many packets it sits within a
 * grid step of the truth; it creeps later by CLOCK_CREEP per second of arrivals so a sender clock that runs a
 * little slow is followed. A new epoch starts when a packet disagrees with it by more than spurtContinuityMs.
 */
interface StreamClock {
  ssrc: number;
  epoch: number;
  refTs: number;
  /** Samples, unsnapped. */
  refPos: number;
  /** The clock this one replaced when a spurt disagreed with it: it comes back if later packets agree with it. */
  parent?: StreamClock;
  /** Until this arrival time nothing on the clock is written (a stream's first clock only). */
  learnUntilMs: number;
  lastArrivalMs: number;
}

interface Pending<T> {
  runId: number;
  offset: number;
  samples: number;
  arrivalMs: number;
  payload: T;
}

export interface PlacementState<T> {
  readonly config: PlacementConfig;
  /** Everything before this position is final (written). */
  readonly head: number;
  /** The track's start (consent time): audio that arrived before it is never placed. */
  readonly start: number;
  /** Without RTP: recent worst arrival delay behind the placed position (decays ~1 ms/s). */
  readonly jitter: number;
  readonly nowMs: number;
  readonly runs: readonly Run[];
  readonly currentRun: number | null;
  readonly nextRunId: number;
  readonly pending: readonly Pending<T>[];
  /** The clocks of recent SSRCs, the latest first. */
  readonly clocks: readonly StreamClock[];
  readonly nextClockEpoch: number;
  /** Recently accepted RTP sequences, one window per recent SSRC, the latest first. */
  readonly recentSeqs: readonly SeqWindow[];
  readonly recentBytes: readonly { bytes: Uint8Array; arrivalMs: number }[];
}

export type PlacementEvent<T> =
  | { type: 'packet'; arrivalMs: number; samples: number; rtp?: RtpInfo | undefined; bytes: Uint8Array; payload: T }
  /** Time passed on the arrival clock: release what the reorder window no longer needs to hold. */
  | { type: 'tick'; nowMs: number }
  /** End of the track: release everything and pad with silence up to endMs. */
  | { type: 'end'; endMs: number };

export type PlacementOutput<T> =
  | { kind: 'silence'; pos: number; samples: number }
  | { kind: 'packet'; pos: number; samples: number; payload: T }
  /** A waiting packet whose slot turned out to be taken: dropped, counted as late. */
  | { kind: 'late'; payload: T }
  /** At the end of the track: a packet that would run past it, left out (it is not a loss). */
  | { kind: 'past-end'; payload: T };

export type PacketDecision = { kind: 'accepted'; reordered: boolean } | { kind: 'dropped'; reason: 'duplicate' | 'late' };

export interface PlacementStep<T> {
  state: PlacementState<T>;
  out: PlacementOutput<T>[];
  decision?: PacketDecision;
}

/**
 * The RTP sequence numbers accepted recently from one SSRC, so a duplicate is found in O(1): a bitmap of the
 * SEQ_WINDOW sequences ending at the highest one accepted (wrap-safe, seqDiff), bit i = `top - i` was seen.
 *
 *   bits[15] ...... bits[1]            bits[0]
 *   [511 ........ 32|31 ........ 1  0]            bit index i
 *    top-511 ...... top-32 top-31 ... top         sequence
 *
 * A sequence older than the window cannot be told apart from a new one; 512 packets are 10 s of audio, and
 * a packet that late is dropped as late by placement anyway.
 */
/** Recently seen RTP sequence numbers of one SSRC (a 512-bit window); also used by the voice adapter. */
export interface SeqWindow {
  readonly ssrc: number;
  readonly top: number;
  readonly bits: Uint32Array;
}

const SEQ_WINDOW = 512;
const SEQ_WORDS = SEQ_WINDOW / 32;
/** SSRCs whose windows are kept: a reconnect brings a new SSRC, and a straggler of the old one may follow. */
const RECENT_SSRCS = 4;

export function seqSeen(windows: readonly SeqWindow[], rtp: RtpInfo): boolean {
  const w = windows.find((x) => x.ssrc === rtp.ssrc);
  if (!w) return false;
  const back = seqDiff(rtp.sequence, w.top);
  return back >= 0 && back < SEQ_WINDOW && ((w.bits[back >>> 5]! >>> (back & 31)) & 1) === 1;
}

/** Whether `rtp` is older than the newest packet accepted from its SSRC (within the window). */
function seqBehind(windows: readonly SeqWindow[], rtp: RtpInfo): boolean {
  const w = windows.find((x) => x.ssrc === rtp.ssrc);
  const back = w ? seqDiff(rtp.sequence, w.top) : 0;
  return back > 0 && back < SEQ_WINDOW;
}

/** The windows with `rtp` remembered: a new bitmap for its SSRC (16 words), the others shared. */
export function rememberSeq(windows: readonly SeqWindow[], rtp: RtpInfo): readonly SeqWindow[] {
  const old = windows.find((x) => x.ssrc === rtp.ssrc);
  const bits = new Uint32Array(SEQ_WORDS);
  let top = rtp.sequence;
  let back = 0;
  if (old) {
    const ahead = seqDiff(old.top, rtp.sequence);
    if (ahead > 0) shiftUp(old.bits, ahead, bits);
    else {
      bits.set(old.bits);
      top = old.top;
      back = -ahead;
    }
  }
  if (back < SEQ_WINDOW) bits[back >>> 5]! |= 1 << (back & 31);
  const others = windows.filter((x) => x !== old);
  return [{ ssrc: rtp.ssrc, top, bits }, ...others.slice(0, RECENT_SSRCS - 1)];
}

/** out = bits shifted towards higher indices by `by` (the window moved forward; the oldest fall off). */
function shiftUp(bits: Uint32Array, by: number, out: Uint32Array): void {
  const words = by >>> 5;
  const shift = by & 31;
  for (let j = SEQ_WORDS - 1; j >= words; j--) {
    const lo = bits[j - words]!;
    const carry = shift === 0 || j - words - 1 < 0 ? 0 : bits[j - words - 1]! >>> (32 - shift);
    out[j] = (lo << shift) | carry;
  }
}
/** Per released packet (~50/s): about 1 ms per second. */
const JITTER_DECAY = 1;

/**
 * Without RTP, how far behind its predicted slot a packet may arrive and still continue its run. Lost
 * frames make the next packet a whole frame late, jitter makes it up to `jitter` late: the bound sits just
 * above the jitter seen recently, at least half a frame, below one frame (so a single lost frame is seen).
 */
function bareFrameTolerance<T>(state: PlacementState<T>, samples: number): number {
  return Math.min(samples - SAMPLES_PER_MS, Math.max(samples / 2, state.jitter + SAMPLES_PER_MS));
}
/**
 * Without RTP, the bare frames accepted within the reorder window, by which a copy is known: all of them (a
 * handful of 20 ms frames, some 32 of the smallest, 2.5 ms), up to this many in a burst after a stall.
 */
const RECENT_BYTES = 256;

/** Initial state: nothing before `startMs` (consent time) can ever be placed. */
export function initialPlacement<T>(startMs: number, config: Partial<PlacementConfig> = {}): PlacementState<T> {
  return {
    config: { ...DEFAULT_PLACEMENT, ...config },
    head: Math.max(0, msToGrid(startMs)),
    start: Math.max(0, msToGrid(startMs)),
    jitter: 0,
    nowMs: startMs,
    runs: [],
    currentRun: null,
    nextRunId: 1,
    pending: [],
    clocks: [],
    nextClockEpoch: 1,
    recentSeqs: [],
    recentBytes: [],
  };
}

/** Same as initialPlacement, but continuing a track already written up to `headSamples`. */
export function resumedPlacement<T>(headSamples: number, nowMs: number, config: Partial<PlacementConfig> = {}): PlacementState<T> {
  return { ...initialPlacement<T>(nowMs, config), head: headSamples, start: Math.min(headSamples, msToGrid(nowMs)) };
}

export function placementReducer<T>(state: PlacementState<T>, event: PlacementEvent<T>): PlacementStep<T> {
  switch (event.type) {
    case 'tick':
      return release({ ...state, nowMs: Math.max(state.nowMs, event.nowMs) }, false);
    case 'end': {
      const end = Math.ceil((event.endMs * SAMPLES_PER_MS) / GRID) * GRID;
      // Every track of a room ends at the same sample: a frame that would run past the end is left out (its
      // first part is at most one frame before the stop) rather than making this track a frame longer.
      const past = state.pending.filter((p) => positionOf(state, p) + p.samples > end);
      const kept = { ...state, pending: state.pending.filter((p) => !past.includes(p)), nowMs: Math.max(state.nowMs, event.endMs) };
      const drained = release(kept, true);
      drained.out.push(...past.map((p): PlacementOutput<T> => ({ kind: 'past-end', payload: p.payload })));
      const s = drained.state;
      if (end <= s.head) return drained;
      return {
        state: { ...s, head: end },
        out: [...drained.out, { kind: 'silence', pos: s.head, samples: end - s.head }],
      };
    }
    case 'packet':
      return placePacket(state, event);
  }
}

function positionOf<T>(state: PlacementState<T>, p: Pending<T>): number {
  const run = state.runs.find((r) => r.id === p.runId);
  return snapToGrid((run ? run.pos : 0) + p.offset);
}

/** End of everything accepted so far (written or waiting). */
function frontier<T>(state: PlacementState<T>): number {
  let f = state.head;
  for (const p of state.pending) f = Math.max(f, positionOf(state, p) + p.samples);
  return f;
}

function placePacket<T>(state0: PlacementState<T>, ev: Extract<PlacementEvent<T>, { type: 'packet' }>): PlacementStep<T> {
  const state: PlacementState<T> = { ...state0, nowMs: Math.max(state0.nowMs, ev.arrivalMs) };
  const { config } = state;
  const arrivalPos = msToGrid(ev.arrivalMs);
  const windowMs = config.reorderWindowMs;

  const drop = (reason: 'duplicate' | 'late'): PlacementStep<T> => {
    const released = release(state, false);
    return { ...released, decision: { kind: 'dropped', reason } };
  };

  if (arrivalPos < state.start) return drop('late');

  // Duplicates.
  if (ev.rtp && seqSeen(state.recentSeqs, ev.rtp)) return drop('duplicate');
  if (
    !ev.rtp &&
    state.recentBytes.some((r) => Math.abs(r.arrivalMs - ev.arrivalMs) < windowMs && Buffer.compare(r.bytes, ev.bytes) === 0)
  ) {
    return drop('duplicate');
  }

  // Run membership.
  const current = state.runs.find((r) => r.id === state.currentRun) ?? null;
  let run: Run;
  let offset: number;
  let isNew = false;
  const continues = current !== null && ev.arrivalMs - current.lastArrivalMs <= config.spurtGapMs;
  const rtpOffset = ev.rtp && current !== null && current.ssrc === ev.rtp.ssrc ? tsDiff(current.refTs, ev.rtp.timestamp) : null;
  // A straggler (older than the newest packet of its SSRC: held up in the network, or the copy of one dropped as
  // late) was sent before audio already placed, so only its RTP timestamp can place it: re-anchored on its late
  // arrival it would put old audio into the words that followed it and shift them by its length. So however late
  // it is it stays in the current run if it is part of that talk spurt, and is late otherwise (a member of another
  // run would move with this one's anchor, into its own spurt's audio).
  const straggler = ev.rtp !== undefined && seqBehind(state.recentSeqs, ev.rtp);
  const gap = config.spurtGapMs * SAMPLES_PER_MS;
  if (
    rtpOffset !== null &&
    current !== null &&
    rtpOffset - current.lastOffset <= gap &&
    (straggler
      ? current.firstOffset - rtpOffset <= gap
      : Math.abs(current.pos + rtpOffset - arrivalPos) <= config.maxDriftMs * SAMPLES_PER_MS)
  ) {
    run = {
      ...current,
      lastOffset: Math.max(current.lastOffset, rtpOffset),
      firstOffset: Math.min(current.firstOffset, rtpOffset),
      lastArrivalMs: Math.max(current.lastArrivalMs, ev.arrivalMs),
    };
    offset = rtpOffset;
  } else if (
    !ev.rtp &&
    continues &&
    current.ssrc === null &&
    arrivalPos - (current.pos + current.nextOffset) <= bareFrameTolerance(state, ev.samples)
  ) {
    offset = current.nextOffset;
    run = { ...current, nextOffset: current.nextOffset + ev.samples, lastArrivalMs: Math.max(current.lastArrivalMs, ev.arrivalMs) };
  } else if (straggler) {
    return drop('late');
  } else {
    const floor = frontier(state);
    isNew = true;
    offset = 0;
    run = {
      id: state.nextRunId,
      ssrc: ev.rtp ? ev.rtp.ssrc : null,
      clock: null,
      refTs: ev.rtp ? ev.rtp.timestamp : 0,
      pos: Math.max(floor, arrivalPos),
      floor,
      frozen: false,
      nextOffset: ev.samples,
      lastOffset: 0,
      firstOffset: 0,
      lastArrivalMs: ev.arrivalMs,
    };
  }
  let clocks = state.clocks;
  let nextClockEpoch = state.nextClockEpoch;
  // The runs with this packet's run as it ends up (added when new, replaced otherwise): built once it is final.
  const withThisRun = (): Run[] => (isNew ? [...state.runs, run] : state.runs.map((r) => (r.id === run.id ? run : r)));
  let runs: readonly Run[];
  if (ev.rtp) {
    // The stream's clock places RTP runs: it learns from this packet, and every unwritten run on it follows.
    const known = state.clocks.find((c) => c.ssrc === ev.rtp!.ssrc);
    const onClock = known && (isNew ? clockAgrees(config, known, ev.rtp.timestamp, arrivalPos) : run.clock === known.epoch);
    let clock: StreamClock;
    if (straggler && known) {
      // A straggler teaches the clock nothing (it arrived after a later packet, so it implies a later position than
      // that one did), and its late arrival must not count as time for the clock's creep.
      clock = known;
    } else if (onClock) {
      clock = learn(known, ev.rtp.timestamp, arrivalPos, ev.arrivalMs);
    } else {
      clock = {
        ssrc: ev.rtp.ssrc,
        epoch: nextClockEpoch++,
        refTs: ev.rtp.timestamp,
        refPos: arrivalPos,
        // A stream's first clock is learned before anything is written. After a jump the old clock has taught
        // the network's delay already, and holding every spurt of a jumpy sender would only cost time.
        learnUntilMs: known ? ev.arrivalMs : ev.arrivalMs + config.learnMs,
        lastArrivalMs: ev.arrivalMs,
        ...(known ? { parent: withoutParent(known) } : {}),
      };
    }
    if (isNew) run = { ...run, clock: clock.epoch };
    runs = withThisRun();
    // A spurt whose first packet was held up (a stall, a jitter spike) started a clock of its own; once its later
    // packets show the old clock was right after all, it goes back to it, and so do its runs.
    const parent = clock.parent;
    if (parent && clockAgrees(config, parent, ev.rtp.timestamp, clockPosition(clock, ev.rtp.timestamp))) {
      const tentative = clock.epoch;
      clock = learn(parent, ev.rtp.timestamp, clockPosition(clock, ev.rtp.timestamp), ev.arrivalMs);
      runs = runs.map((r) => (r.clock === tentative ? { ...r, clock: clock.epoch } : r));
    }
    const settled = clock;
    clocks = [settled, ...state.clocks.filter((c) => c.ssrc !== settled.ssrc).slice(0, RECENT_SSRCS - 1)];
    runs = runs.map((r) => (r.clock === settled.epoch && !r.frozen ? onClockAnchor(r, settled) : r));
    run = runs.find((r) => r.id === run.id)!;
  } else {
    // Arrival only errs late: an unwritten run's anchor may move earlier to fit a member that arrived early.
    const implied = snapToGrid(arrivalPos - offset);
    if (!isNew && !run.frozen && implied < run.pos) run = { ...run, pos: Math.max(run.floor, implied) };
    runs = withThisRun();
  }

  const pos = snapToGrid(run.pos + offset);
  const withRun: PlacementState<T> = {
    ...state,
    runs,
    clocks,
    nextClockEpoch,
    currentRun: run.id,
    nextRunId: isNew ? state.nextRunId + 1 : state.nextRunId,
  };
  if (pos < withRun.head) return drop('late');
  // The track never overlaps itself: a slot already taken by a waiting packet keeps its first occupant.
  const clash = withRun.pending.find((p) => {
    const at = positionOf(withRun, p);
    return at < pos + ev.samples && pos < at + p.samples;
  });
  if (clash) return drop(clash.runId === run.id && !ev.rtp ? 'duplicate' : 'late');

  const reordered = withRun.pending.some((p) => positionOf(withRun, p) > pos);
  const next: PlacementState<T> = {
    ...withRun,
    pending: [...withRun.pending, { runId: run.id, offset, samples: ev.samples, arrivalMs: ev.arrivalMs, payload: ev.payload }],
    recentSeqs: ev.rtp ? rememberSeq(withRun.recentSeqs, ev.rtp) : withRun.recentSeqs,
    recentBytes: ev.rtp
      ? withRun.recentBytes
      : [
          ...withRun.recentBytes.filter((r) => ev.arrivalMs - r.arrivalMs < windowMs).slice(-(RECENT_BYTES - 1)),
          { bytes: ev.bytes, arrivalMs: ev.arrivalMs },
        ],
  };
  return { ...release(next, false), decision: { kind: 'accepted', reordered } };
}

/** Per second of arrivals, how much later a stream's clock may move: follows a sender clock up to 100 ppm slow. */
const CLOCK_CREEP = 0.1 * SAMPLES_PER_MS;

function clockPosition(clock: StreamClock, timestamp: number): number {
  return clock.refPos + tsDiff(clock.refTs, timestamp);
}

/** Whether a new spurt's first packet is where the stream's clock puts it, give or take the network's jitter. */
function clockAgrees(config: PlacementConfig, clock: StreamClock, timestamp: number, arrivalPos: number): boolean {
  return Math.abs(arrivalPos - clockPosition(clock, timestamp)) <= config.spurtContinuityMs * SAMPLES_PER_MS;
}

/** The clock after one more packet: the earliest position any packet implied, rebased on this packet's timestamp. */
function learn(clock: StreamClock, timestamp: number, arrivalPos: number, arrivalMs: number): StreamClock {
  const creep = (Math.max(0, arrivalMs - clock.lastArrivalMs) / 1000) * CLOCK_CREEP;
  return {
    ...clock,
    refTs: timestamp,
    refPos: Math.min(arrivalPos, clockPosition(clock, timestamp) + creep),
    lastArrivalMs: Math.max(clock.lastArrivalMs, arrivalMs),
  };
}

/** One level of history is enough (the clock before the disagreement), and keeps the state small. */
function withoutParent(clock: StreamClock): StreamClock {
  const { parent: _older, ...rest } = clock;
  return rest;
}

/** An unwritten run on the clock starts where the clock now puts its first timestamp (never before its floor). */
function onClockAnchor(run: Run, clock: StreamClock): Run {
  const pos = Math.max(run.floor, snapToGrid(clockPosition(clock, run.refTs)));
  return pos === run.pos ? run : { ...run, pos };
}

/** Whether the run's stream clock is still being learned, so nothing on it may be written yet. */
function learning<T>(state: PlacementState<T>, runId: number): boolean {
  const epoch = state.runs.find((r) => r.id === runId)?.clock;
  const clock = epoch == null ? undefined : state.clocks.find((c) => c.epoch === epoch);
  return clock !== undefined && clock.learnUntilMs > state.nowMs;
}

/**
 * Whether packets are held back while their stream's clock is learned: nothing of them is written yet, however
 * long ago they arrived (a crash now would lose them; speaker-track.ts journals them meanwhile).
 */
export function isHolding<T>(state: PlacementState<T>): boolean {
  return state.pending.some((p) => learning(state, p.runId));
}

/** Write out, in position order, every waiting packet whose reorder window has passed (all of them on `all`). */
function release<T>(state: PlacementState<T>, all: boolean): PlacementStep<T> {
  const out: PlacementOutput<T>[] = [];
  let s = state;
  for (;;) {
    if (s.pending.length === 0) break;
    const ordered = [...s.pending].sort((a, b) => positionOf(s, a) - positionOf(s, b));
    const first = ordered[0]!;
    if (!all && (first.arrivalMs + s.config.reorderWindowMs > s.nowMs || learning(s, first.runId))) break;
    const pos = positionOf(s, first);
    const rest = ordered.slice(1);
    if (pos < s.head) {
      // Only reachable when two runs' provisional anchors collided; keep what is written.
      out.push({ kind: 'late', payload: first.payload });
      s = { ...s, pending: rest };
      continue;
    }
    if (pos > s.head) out.push({ kind: 'silence', pos: s.head, samples: pos - s.head });
    out.push({ kind: 'packet', pos, samples: first.samples, payload: first.payload });
    const bare = s.runs.find((r) => r.id === first.runId)?.ssrc === null;
    const delay = msToGrid(first.arrivalMs) - pos;
    s = {
      ...s,
      jitter: bare ? Math.max(delay, s.jitter - JITTER_DECAY) : s.jitter,
      head: pos + first.samples,
      pending: rest,
      runs: s.runs
        .filter((r) => r.id === s.currentRun || rest.some((p) => p.runId === r.id))
        .map((r) => (r.id === first.runId ? { ...r, frozen: true } : r)),
    };
  }
  return { state: s, out };
}
