import { describe, expect, test } from 'vitest';
import { countSequence, lostFrames, NO_SEQUENCE_LOSS, type SequenceLoss } from '../../src/recording/rtp-loss.ts';

const feed = (sequences: number[], ssrc = 7, from: SequenceLoss = NO_SEQUENCE_LOSS): SequenceLoss =>
  sequences.reduce((s, sequence) => countSequence(s, { sequence, timestamp: 0, ssrc }), from);
const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => (from + i) & 0xffff);

describe('frames lost by RTP sequence', () => {
  test('no gap, no loss; a gap is counted frame by frame', () => {
    expect(lostFrames(NO_SEQUENCE_LOSS)).toBe(0);
    expect(lostFrames(feed(range(100, 50)))).toBe(0);
    expect(lostFrames(feed([1, 2, 5, 6, 10]))).toBe(5);
  });

  test('wraps past 65535 without a false loss, and a gap across the wrap is exact', () => {
    expect(lostFrames(feed(range(65_500, 100)))).toBe(0);
    expect(lostFrames(feed([65_534, 65_535, 2, 3]))).toBe(2);
  });

  test('a reordered packet fills its gap again; one older than the first seen extends the run back', () => {
    expect(lostFrames(feed([1, 3, 2, 4]))).toBe(0);
    expect(lostFrames(feed([10, 11, 9, 12]))).toBe(0);
    expect(lostFrames(feed([10, 12, 8]))).toBe(2);
  });

  test('each SSRC (a reconnect) is its own numbering: the jump between them is no loss', () => {
    const first = feed([1, 2, 3], 1);
    expect(lostFrames(feed([40_000, 40_002], 2, first))).toBe(1);
  });

  test('more SSRCs than followed at once: what the oldest lost is kept', () => {
    let s = feed([1, 3], 1);
    for (let ssrc = 2; ssrc <= 6; ssrc++) s = feed([10, 11], ssrc, s);
    expect(s.runs.length).toBeLessThanOrEqual(4);
    expect(lostFrames(s)).toBe(1);
  });

  test('a restarted numbering is taken over once confirmed; a lone straggler from long ago changes nothing', () => {
    const restarted = feed([...range(1000, 10), ...range(30_000, 10)]);
    expect(lostFrames(restarted)).toBe(0);
    const straggler = feed([...range(1000, 10), 200, ...range(1010, 10)]);
    expect(lostFrames(straggler)).toBe(0);
    // Loss before the restart is kept.
    expect(lostFrames(feed([1000, 1002, ...range(30_000, 5)]))).toBe(1);
  });
});
