import { mulberry32 } from './ids.ts';
import { FRAME_MS } from './rtp.ts';

/** Network faults between a simulated speaker and the bot, per packet, reproducible from `seed`. */
export interface NetworkFaults {
  /** probability a packet never arrives */
  loss?: number;
  /** probability a packet arrives twice (byte-identical copies) */
  duplicate?: number;
  /** probability a packet is overtaken by the next one */
  reorder?: number;
  /** maximum extra delay per packet, uniformly drawn */
  jitterMs?: number;
  /** probability a packet arrives truncated (header intact, body cut short) */
  malformed?: number;
  /** probability a packet arrives with a broken AES-GCM tag */
  undecryptable?: number;
  seed?: number;
}

export type FrameFate = 'delivered' | 'lost' | 'malformed' | 'undecryptable';

interface Delivery {
  /** index into the utterance's frames */
  frame: number;
  /** extra delay after the frame's nominal send time */
  delayMs: number;
  /** what arrives: the packet, a copy of it, or a damaged packet */
  payload: 'packet' | 'duplicate' | 'truncated' | 'bad-tag';
}

export interface DeliveryPlan {
  fates: FrameFate[];
  deliveries: Delivery[];
}

/**
 * Decides, for each frame, what the network does to it. Pure: the same faults, seed and frame count always
 * give the same plan, so a failing run can be replayed exactly.
 */
export function planDeliveries(
  frameCount: number,
  faults: NetworkFaults,
  random: () => number = mulberry32(faults.seed ?? 1),
): DeliveryPlan {
  const fates: FrameFate[] = [];
  const deliveries: Delivery[] = [];
  for (let frame = 0; frame < frameCount; frame++) {
    // Draw every decision for every frame so that changing one probability does not reshuffle the others.
    const [lossDraw, malformedDraw, badTagDraw, dupDraw, reorderDraw, jitterDraw, dupJitterDraw] = Array.from({ length: 7 }, random) as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const jitter = (draw: number) => (faults.jitterMs ?? 0) * draw;
    let delayMs = jitter(jitterDraw);
    if (reorderDraw < (faults.reorder ?? 0)) delayMs += FRAME_MS + 1;
    if (lossDraw < (faults.loss ?? 0)) {
      fates.push('lost');
      continue;
    }
    if (malformedDraw < (faults.malformed ?? 0)) {
      fates.push('malformed');
      deliveries.push({ frame, delayMs, payload: 'truncated' });
      continue;
    }
    if (badTagDraw < (faults.undecryptable ?? 0)) {
      fates.push('undecryptable');
      deliveries.push({ frame, delayMs, payload: 'bad-tag' });
      continue;
    }
    fates.push('delivered');
    deliveries.push({ frame, delayMs, payload: 'packet' });
    if (dupDraw < (faults.duplicate ?? 0)) deliveries.push({ frame, delayMs: delayMs + 1 + jitter(dupJitterDraw), payload: 'duplicate' });
  }
  return { fates, deliveries };
}
