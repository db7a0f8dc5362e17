// Integrated loudness per ITU-R BS.1770-4 (the measure behind EBU R128 and the streaming platforms'
// -14/-16 LUFS targets), for stereo at 48 kHz:
//   K-weighting (a high shelf modelling the head, then an RLB high-pass), mean square per channel over
//   400 ms blocks overlapping by 75 %, block loudness -0.691 + 10 log10(sum of channel powers),
//   absolute gate at -70 LUFS, then a relative gate 10 LU below the loudness of the blocks that passed.

// BS.1770-4 Table 1 and 2 coefficients, valid at 48 kHz only (the mixer's rate).
const SHELF_B = [1.53512485958697, -2.69169618940638, 1.19839281085285] as const;
const SHELF_A = [-1.69065929318241, 0.73248077421585] as const;
const HIGHPASS_B = [1, -2, 1] as const;
const HIGHPASS_A = [-1.99004745483398, 0.99007225036621] as const;

const SEGMENT_FRAMES = 4800; // 100 ms: the hop between gating blocks
const SEGMENTS_PER_BLOCK = 4; // 400 ms blocks
const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;

/** One biquad per channel and stage, transposed direct form II. */
class KWeighting {
  #s = new Float64Array(8); // [stage][channel][2 states]

  /** Returns the sum over both channels of the squared K-weighted samples of `frames` interleaved frames. */
  energy(pcm: Float32Array, start: number, frames: number): number {
    const s = this.#s;
    let total = 0;
    for (let ch = 0; ch < 2; ch++) {
      let a1 = s[ch * 2]!;
      let a2 = s[ch * 2 + 1]!;
      let b1 = s[4 + ch * 2]!;
      let b2 = s[4 + ch * 2 + 1]!;
      for (let i = start * 2 + ch, end = (start + frames) * 2; i < end; i += 2) {
        const x = pcm[i]!;
        const y = SHELF_B[0] * x + a1;
        a1 = SHELF_B[1] * x - SHELF_A[0] * y + a2;
        a2 = SHELF_B[2] * x - SHELF_A[1] * y;
        const z = HIGHPASS_B[0] * y + b1;
        b1 = HIGHPASS_B[1] * y - HIGHPASS_A[0] * z + b2;
        b2 = HIGHPASS_B[2] * y - HIGHPASS_A[1] * z;
        total += z * z;
      }
      s[ch * 2] = a1;
      s[ch * 2 + 1] = a2;
      s[4 + ch * 2] = b1;
      s[4 + ch * 2 + 1] = b2;
    }
    return total;
  }
}

/** Streaming integrated-loudness meter for interleaved stereo float PCM at 48 kHz. */
export class LoudnessMeter {
  #filter = new KWeighting();
  #segments: number[] = [];
  #partialEnergy = 0;
  #partialFrames = 0;

  add(pcm: Float32Array): void {
    const frames = pcm.length >> 1;
    let at = 0;
    while (at < frames) {
      const take = Math.min(frames - at, SEGMENT_FRAMES - this.#partialFrames);
      this.#partialEnergy += this.#filter.energy(pcm, at, take);
      this.#partialFrames += take;
      at += take;
      if (this.#partialFrames === SEGMENT_FRAMES) {
        this.#segments.push(this.#partialEnergy);
        this.#partialEnergy = 0;
        this.#partialFrames = 0;
      }
    }
  }

  /** Integrated loudness in LUFS; -Infinity when nothing is above the absolute gate (silence, or < 400 ms). */
  integrated(): number {
    const blocks: number[] = [];
    const seg = this.#segments;
    for (let j = 0; j + SEGMENTS_PER_BLOCK <= seg.length; j++) {
      let sum = 0;
      for (let k = 0; k < SEGMENTS_PER_BLOCK; k++) sum += seg[j + k]!;
      blocks.push(sum / (SEGMENT_FRAMES * SEGMENTS_PER_BLOCK));
    }
    const loudness = (power: number) => -0.691 + 10 * Math.log10(power);
    const absGated = blocks.filter((p) => loudness(p) > ABSOLUTE_GATE_LUFS);
    if (absGated.length === 0) return -Infinity;
    const relativeGate = loudness(mean(absGated)) + RELATIVE_GATE_LU;
    const gated = absGated.filter((p) => loudness(p) > relativeGate);
    return loudness(mean(gated));
  }
}

function mean(values: number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** The default target: the common spoken-word level (Apple Podcasts, many podcast hosts). */
export const DEFAULT_TARGET_LUFS = -16;
// Never amplify a near-silent recording by more than this: it would only lift the noise floor.
const MAX_GAIN_DB = 30;

/** Linear gain that moves `measuredLufs` to `targetLufs`; 1 for silence. */
export function normalisationGain(measuredLufs: number, targetLufs: number): number {
  if (!Number.isFinite(measuredLufs)) return 1;
  const db = Math.min(MAX_GAIN_DB, targetLufs - measuredLufs);
  return 10 ** (db / 20);
}

// A levelled mix (mixer.ts `level`) brings each speaker's speech to this loudness before the sum. Two below the
// -16 LUFS of a finished podcast: a levelled mix of speakers taking turns reads about the same as each speaker,
// and the 2 LU leave crosstalk and laughter some headroom before the limiter.
export const DEFAULT_LEVEL_TARGET_LUFS = -18;
// A track measured far below the target is a weak microphone or mostly noise (a fan, a keyboard, a line hum
// that got past Discord's voice detection); past this much boost it would only bring the noise up with it.
export const DEFAULT_MAX_BOOST_DB = 20;

/** Linear gain that brings one speaker's speech to `targetLufs`: any cut, a boost of at most `maxBoostDb`; 1 for no speech. */
export function levellingGain(speechLufs: number, targetLufs: number, maxBoostDb: number = DEFAULT_MAX_BOOST_DB): number {
  if (!Number.isFinite(speechLufs)) return 1;
  return 10 ** (Math.min(maxBoostDb, targetLufs - speechLufs) / 20);
}

// The track format fills every pause with exact-silence packets (docs/track-format.md), which the decoder turns
// into exact zeros without decoding. Decoded speech never holds 20 ms of exact zeros, so a run this long is a
// pause; a shorter one (a few ms the writer filled between packets, a zero crossing) stays with the speech
// around it, too short to move the measure.
const PAUSE_FRAMES = 960;

/**
 * BS.1770 integrated loudness of one track's speech only: the pauses (runs of at least 20 ms of exact zeros,
 * and blocks the decoder marked silent) are cut out before the meter sees the samples, so a speaker who talks
 * for a minute of an hour reads as loud as their speech, not 18 LU quieter. Fed int16 blocks in track order.
 * Mono is counted on both channels, as the mix plays it.
 */
export class SpeechLoudness {
  #meter = new LoudnessMeter();
  // Zero frames seen since the last sound, not yet known to be a pause or a gap inside speech.
  #zeros = 0;
  #out = new Float32Array(0);
  #speechFrames = 0;

  /** `pcm` holds `frames` frames of `channels` channels (null: all silence); `scale` maps int16 to the mix's float. */
  add(pcm: Int16Array | null, channels: 1 | 2, frames: number, scale: number): void {
    if (!pcm) {
      this.#zeros += frames;
      return;
    }
    // Room for the block's frames and a gap carried over from the block before.
    if (this.#out.length < (frames + PAUSE_FRAMES) * 2) this.#out = new Float32Array((frames + PAUSE_FRAMES) * 2);
    const out = this.#out;
    let o = 0;
    for (let f = 0; f < frames; f++) {
      const l = pcm[f * channels]!;
      const r = channels === 2 ? pcm[f * 2 + 1]! : l;
      if (l === 0 && r === 0) {
        this.#zeros++;
        continue;
      }
      if (this.#zeros < PAUSE_FRAMES) {
        out.fill(0, o, o + this.#zeros * 2);
        o += this.#zeros * 2;
      }
      this.#zeros = 0;
      out[o++] = l * scale;
      out[o++] = r * scale;
    }
    this.#flush(o);
  }

  /** Seconds of speech counted. */
  get speechSeconds(): number {
    return this.#speechFrames / 48_000;
  }

  /** LUFS; -Infinity when under 400 ms of speech or none above the absolute gate. */
  integrated(): number {
    return this.#meter.integrated();
  }

  #flush(values: number): void {
    if (values === 0) return;
    this.#meter.add(this.#out.subarray(0, values));
    this.#speechFrames += values / 2;
  }
}
