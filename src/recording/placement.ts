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
 *    new SSRC (reconnect), after an arrival gap > spurtGapMs (new talk spurt), or when the RTP position and
 *    the arrival time disagree by more than maxDriftMs (a sender clock or timestamp jump).
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
 *  - Duplicates: the same (SSRC, sequence) seen recently; without RTP, identical bytes within the window.
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
}

export const DEFAULT_PLACEMENT: PlacementConfig = { reorderWindowMs: 80, spurtGapMs: 200, maxDriftMs: 500 };

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
  readonly recentSeqs: readonly string[];
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
  | { kind: 'late'; payload: T };

export type PacketDecision =
  | { kind: 'accepted'; reordered: boolean }
  | { kind: 'dropped'; reason: 'duplicate' | 'late' };

export interface PlacementStep<T> {
  state: PlacementState<T>;
  out: PlacementOutput<T>[];
  decision?: PacketDecision;
}

const RECENT_SEQS = 512;
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
const RECENT_BYTES = 16;

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
      const drained = release({ ...state, nowMs: Math.max(state.nowMs, event.endMs) }, true);
      const end = Math.ceil((event.endMs * SAMPLES_PER_MS) / GRID) * GRID;
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
  const seqKey = ev.rtp ? `${ev.rtp.ssrc}:${ev.rtp.sequence}` : null;
  if (seqKey !== null && state.recentSeqs.includes(seqKey)) return drop('duplicate');
  if (!ev.rtp && state.recentBytes.some((r) => Math.abs(r.arrivalMs - ev.arrivalMs) < windowMs && Buffer.from(r.bytes).equals(ev.bytes))) {
    return drop('duplicate');
  }

  // Run membership.
  const current = state.runs.find((r) => r.id === state.currentRun) ?? null;
  let run: Run;
  let offset: number;
  let isNew = false;
  const continues = current !== null && ev.arrivalMs - current.lastArrivalMs <= config.spurtGapMs;
  if (ev.rtp && continues && current.ssrc === ev.rtp.ssrc &&
      Math.abs(current.pos + tsDiff(current.refTs, ev.rtp.timestamp) - arrivalPos) <= config.maxDriftMs * SAMPLES_PER_MS) {
    run = { ...current, lastArrivalMs: Math.max(current.lastArrivalMs, ev.arrivalMs) };
    offset = tsDiff(current.refTs, ev.rtp.timestamp);
  } else if (!ev.rtp && continues && current.ssrc === null && arrivalPos - (current.pos + current.nextOffset) <= bareFrameTolerance(state, ev.samples)) {
    offset = current.nextOffset;
    run = { ...current, nextOffset: current.nextOffset + ev.samples, lastArrivalMs: Math.max(current.lastArrivalMs, ev.arrivalMs) };
  } else {
    const floor = frontier(state);
    isNew = true;
    offset = 0;
    run = {
      id: state.nextRunId,
      ssrc: ev.rtp ? ev.rtp.ssrc : null,
      refTs: ev.rtp ? ev.rtp.timestamp : 0,
      pos: Math.max(floor, arrivalPos),
      floor,
      frozen: false,
      nextOffset: ev.samples,
      lastArrivalMs: ev.arrivalMs,
    };
  }
  // Arrival only errs late: an unwritten run's anchor may move earlier to fit a member that arrived early.
  if (!isNew && !run.frozen) {
    const implied = snapToGrid(arrivalPos - offset);
    if (implied < run.pos) run = { ...run, pos: Math.max(run.floor, implied) };
  }

  const pos = snapToGrid(run.pos + offset);
  const withRun: PlacementState<T> = {
    ...state,
    runs: isNew ? [...state.runs, run] : state.runs.map((r) => (r.id === run.id ? run : r)),
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
    recentSeqs: seqKey === null ? withRun.recentSeqs : [...withRun.recentSeqs.slice(-(RECENT_SEQS - 1)), seqKey],
    recentBytes: ev.rtp ? withRun.recentBytes : [...withRun.recentBytes.slice(-(RECENT_BYTES - 1)), { bytes: ev.bytes, arrivalMs: ev.arrivalMs }],
  };
  return { ...release(next, false), decision: { kind: 'accepted', reordered } };
}

/** Write out, in position order, every waiting packet whose reorder window has passed (all of them on `all`). */
function release<T>(state: PlacementState<T>, all: boolean): PlacementStep<T> {
  const out: PlacementOutput<T>[] = [];
  let s = state;
  for (;;) {
    if (s.pending.length === 0) break;
    const ordered = [...s.pending].sort((a, b) => positionOf(s, a) - positionOf(s, b));
    const first = ordered[0]!;
    if (!all && first.arrivalMs + s.config.reorderWindowMs > s.nowMs) break;
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
      runs: s.runs.filter((r) => r.id === s.currentRun || rest.some((p) => p.runId === r.id)).map((r) => (r.id === first.runId ? { ...r, frozen: true } : r)),
    };
  }
  return { state: s, out };
}
