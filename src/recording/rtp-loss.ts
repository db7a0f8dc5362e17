/**
 * Frames lost on the way to a speaker's track, counted from RTP sequence numbers: a pure reducer, no I/O.
 *
 * Why sequence numbers and not time: a Discord client sends packets only while there is sound, and numbers only
 * the packets it sends, so a pause between talk spurts is no gap in the sequence; a gap is a real loss (on the
 * network, or a datagram the bot could not decrypt). Counting by time would call every pause a loss.
 *
 * The count follows RFC 3550 §6.4.1 / A.3: per SSRC, expected = highest − lowest extended sequence + 1, and
 * lost = expected − received. Extended sequences (the 16-bit number unwrapped into a running count) make it
 * wrap-safe. A late packet inside the misorder allowance fills its gap again; a duplicate is not passed in at
 * all (the caller knows it from placement). A jump of more than MAX_DROPOUT ahead, or further back than
 * MAX_MISORDER, is not a loss of thousands of frames but a sender that restarted its numbering: as in the RFC,
 * the numbering is taken over when the next packet confirms it (one straggler from long ago changes nothing).
 */
import { seqDiff, type RtpInfo } from './placement.ts';

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** SSRCs followed at once: a reconnect brings a new one, and stragglers of the old may follow. */
const RECENT_SSRCS = 4;

interface SequenceRun {
  readonly ssrc: number;
  /** Lowest and highest extended sequence seen in this run. */
  readonly lowest: number;
  readonly highest: number;
  readonly received: number;
  /** After a suspicious jump: the sequence that would confirm a restarted numbering. */
  readonly probation: number | null;
}

export interface SequenceLoss {
  readonly runs: readonly SequenceRun[];
  /** Frames lost in runs no longer followed (an SSRC dropped from the list, a numbering restart). */
  readonly settled: number;
}

export const NO_SEQUENCE_LOSS: SequenceLoss = { runs: [], settled: 0 };

function runLoss(run: SequenceRun): number {
  return Math.max(0, run.highest - run.lowest + 1 - run.received);
}

/** Extended sequences count on from the first packet's own number, past 65535, so `highest & 0xffff` is as sent. */
function freshRun(rtp: RtpInfo): SequenceRun {
  return { ssrc: rtp.ssrc, lowest: rtp.sequence, highest: rtp.sequence, received: 1, probation: null };
}

/** `rtp` arrived (not a duplicate). */
export function countSequence(state: SequenceLoss, rtp: RtpInfo): SequenceLoss {
  const old = state.runs.find((r) => r.ssrc === rtp.ssrc);
  const others = state.runs.filter((r) => r !== old);
  let settled = state.settled;
  let run: SequenceRun;
  if (!old) {
    run = freshRun(rtp);
  } else {
    // Where this sequence falls relative to the highest one seen, unwrapped (seqDiff is wrap-safe).
    const ahead = seqDiff(old.highest & 0xffff, rtp.sequence);
    if (ahead > MAX_DROPOUT || ahead < -MAX_MISORDER) {
      if (old.probation === rtp.sequence) {
        settled += runLoss(old);
        run = freshRun(rtp);
      } else {
        run = { ...old, probation: (rtp.sequence + 1) & 0xffff };
      }
    } else {
      const ext = old.highest + ahead;
      run = {
        ...old,
        lowest: Math.min(old.lowest, ext),
        highest: Math.max(old.highest, ext),
        received: old.received + 1,
        probation: null,
      };
    }
  }
  const runs = [run, ...others];
  for (const dropped of runs.slice(RECENT_SSRCS)) settled += runLoss(dropped);
  return { runs: runs.slice(0, RECENT_SSRCS), settled };
}

/** Frames missing by sequence so far. */
export function lostFrames(state: SequenceLoss): number {
  return state.runs.reduce((sum, r) => sum + runLoss(r), state.settled);
}
