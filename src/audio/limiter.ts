// Clip-safe output stage. Tracks are summed in float, which cannot wrap; this stage then brings any
// peak above the ceiling down smoothly before the encoders quantise to 16 bits.
//
// Gain for output frame m (look-ahead L frames, stereo-linked so the image does not move):
//   req[n] = min(1, ceiling / max(|left[n]|, |right[n]|))
//   h[m]   = min(req[m .. m+L-1])                      look-ahead minimum
//   r[m]   = min(h[m], 1 - (1 - r[m-1]) * releaseCoef)  exponential release
//   g[m]   = mean(r[m-L+1 .. m])                        box-smoothed attack
// Every r in g's window is <= req[m] (their look-ahead windows all contain m), so g[m] <= req[m]:
// the output never exceeds the ceiling, without the hard corners of a clipper.

export interface LimiterOptions {
  /** Linear ceiling; default -1 dBFS, leaving lossy encoders room for their overshoot. */
  ceiling?: number;
  /** Look-ahead (and attack) in frames; default 240 (5 ms at 48 kHz). */
  lookaheadFrames?: number;
  /** Release time constant in frames; default 4800 (100 ms). */
  releaseFrames?: number;
}

export const DEFAULT_CEILING = 10 ** (-1 / 20);
// Gains this close to 1 are treated as 1, so a release ends instead of approaching 1 forever.
const UNITY_EPSILON = 1e-6;

/**
 * Stereo look-ahead peak limiter over interleaved float frames. Output lags input by
 * `latencyFrames`; `flush()` returns the frames still held back.
 */
export class PeakLimiter {
  readonly latencyFrames: number;
  #ceiling: number;
  #size: number;
  #releaseCoef: number;
  #delay: Float32Array;
  #rRing: Float64Array;
  #rSum: number;
  #rPrev = 1;
  // Monotonic deque of (frame index, req) for the sliding look-ahead minimum.
  #dqIndex: Float64Array;
  #dqValue: Float64Array;
  #dqHead = 0;
  #dqLen = 0;
  #n = 0;
  #lastReducedInput = -Infinity;
  #lastReducedR = -Infinity;
  #limitedFrames = 0;
  #peak = 0;

  constructor(options: LimiterOptions = {}) {
    this.#ceiling = options.ceiling ?? DEFAULT_CEILING;
    this.#size = Math.max(2, Math.round(options.lookaheadFrames ?? 240));
    this.latencyFrames = this.#size - 1;
    this.#releaseCoef = Math.exp(-1 / Math.max(1, options.releaseFrames ?? 4800));
    this.#delay = new Float32Array(this.#size * 2);
    this.#rRing = new Float64Array(this.#size).fill(1);
    this.#rSum = this.#size;
    this.#dqIndex = new Float64Array(this.#size);
    this.#dqValue = new Float64Array(this.#size);
  }

  /** Frames whose gain was below 1. */
  get limitedFrames(): number {
    return this.#limitedFrames;
  }

  /** Largest absolute sample produced so far. */
  get peak(): number {
    return this.#peak;
  }

  /** Feeds interleaved stereo frames; returns the frames that left the look-ahead (same count, once primed). */
  process(input: Float32Array): Float32Array {
    const frames = input.length >> 1;
    const primed = Math.max(0, Math.min(frames, this.#n + frames - this.latencyFrames));
    const out = new Float32Array(primed * 2);
    const quietStart = this.#n - this.#lastReducedInput > this.#size && this.#n - this.#size - this.#lastReducedR > this.#size;
    if (quietStart && peakOf(input) <= this.#ceiling) this.#passThrough(input, out);
    else this.#limit(input, out);
    return out;
  }

  /** Returns the held-back tail; the limiter is then empty. */
  flush(): Float32Array {
    return this.process(new Float32Array(this.latencyFrames * 2));
  }

  // Nothing in the look-ahead or release needs a gain: only the delay line moves, in bulk copies.
  #passThrough(input: Float32Array, out: Float32Array): void {
    const size = this.#size;
    const delay = this.#delay;
    const frames = input.length >> 1;
    const held = this.latencyFrames;
    const n0 = this.#n;
    // Frames n0-held .. n0-1 wait in the ring (frame k at slot k % size); they leave first.
    const fromRing = Math.min(held, n0, out.length >> 1);
    const firstHeld = n0 - Math.min(held, n0);
    for (let k = 0; k < fromRing; k++) {
      const r = ((firstHeld + k) % size) * 2;
      out[k * 2] = delay[r]!;
      out[k * 2 + 1] = delay[r + 1]!;
    }
    out.set(input.subarray(0, out.length - fromRing * 2), fromRing * 2);
    // The newest `held` frames stay behind.
    for (let n = Math.max(n0, n0 + frames - size); n < n0 + frames; n++) {
      const w = (n % size) * 2;
      const i = (n - n0) * 2;
      delay[w] = input[i]!;
      delay[w + 1] = input[i + 1]!;
    }
    this.#n = n0 + frames;
    const peak = peakOf(out);
    if (peak > this.#peak) this.#peak = peak;
    // A quiet stretch this long leaves no reduction pending and a release ring of exact ones.
    this.#dqLen = 0;
    this.#rSum = size;
  }

  #limit(input: Float32Array, out: Float32Array): void {
    const size = this.#size;
    const ceiling = this.#ceiling;
    const delay = this.#delay;
    const rRing = this.#rRing;
    const dqIndex = this.#dqIndex;
    const dqValue = this.#dqValue;
    let o = out.length - input.length;
    for (let i = 0; i < input.length; i += 2) {
      const n = this.#n++;
      const x0 = input[i]!;
      const x1 = input[i + 1]!;
      const w = (n % size) * 2;
      delay[w] = x0;
      delay[w + 1] = x1;
      const a = Math.max(Math.abs(x0), Math.abs(x1));
      if (a > ceiling) {
        const req = ceiling / a;
        this.#lastReducedInput = n;
        while (this.#dqLen > 0 && dqValue[(this.#dqHead + this.#dqLen - 1) % size]! >= req) this.#dqLen--;
        const slot = (this.#dqHead + this.#dqLen) % size;
        dqIndex[slot] = n;
        dqValue[slot] = req;
        this.#dqLen++;
      }
      const m = n - size + 1;
      while (this.#dqLen > 0 && dqIndex[this.#dqHead]! < m) {
        this.#dqHead = (this.#dqHead + 1) % size;
        this.#dqLen--;
      }
      if (m < 0) {
        o += 2;
        continue;
      }
      const h = this.#dqLen > 0 ? dqValue[this.#dqHead]! : 1;
      let r = Math.min(h, 1 - (1 - this.#rPrev) * this.#releaseCoef);
      if (r > 1 - UNITY_EPSILON) r = 1;
      else this.#lastReducedR = m;
      this.#rPrev = r;
      const ri = m % size;
      this.#rSum += r - rRing[ri]!;
      rRing[ri] = r;
      // Re-summing once the ring is all ones stops float drift from accumulating across reductions.
      if (r === 1 && m - this.#lastReducedR === size) this.#rSum = size;
      const g = Math.min(1, this.#rSum / size);
      const rd = ((n + 1) % size) * 2;
      let y0 = delay[rd]! * g;
      let y1 = delay[rd + 1]! * g;
      if (g < 1) this.#limitedFrames++;
      // Guards only against float rounding in the running mean; the gain law already keeps y under the ceiling.
      if (y0 > ceiling) y0 = ceiling;
      else if (y0 < -ceiling) y0 = -ceiling;
      if (y1 > ceiling) y1 = ceiling;
      else if (y1 < -ceiling) y1 = -ceiling;
      out[o] = y0;
      out[o + 1] = y1;
      const p = Math.max(Math.abs(y0), Math.abs(y1));
      if (p > this.#peak) this.#peak = p;
      o += 2;
    }
  }
}

function peakOf(samples: Float32Array): number {
  let peak = 0;
  for (let i = 0; i < samples.length; i++) {
    const v = Math.abs(samples[i]!);
    if (v > peak) peak = v;
  }
  return peak;
}
