/**
 * Opus packet validation (RFC 6716 §3.4, requirements R1-R7) and duration from the TOC byte (§3.1).
 *
 * TOC byte (§3.1):
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+
 *   | config  |s| c |
 *   +-+-+-+-+-+-+-+-+
 * config 0-11 SILK (10/20/40/60 ms), 12-15 Hybrid (10/20 ms), 16-31 CELT (2.5/5/10/20 ms); s = stereo;
 * c = frame count code: 0 one frame, 1 two equal frames, 2 two frames with explicit first length,
 * 3 an arbitrary number of frames. Code 3 adds a frame count byte (§3.2.5):
 *    0 1 2 3 4 5 6 7
 *   +-+-+-+-+-+-+-+-+
 *   |v|p|     M     |   v = VBR, p = padding present, M = frame count
 *   +-+-+-+-+-+-+-+-+
 * Frame lengths use a 1- or 2-byte code (§3.2.1): 0-251 as is, 252-255 followed by a second byte,
 * length = second*4 + first.
 */

/** Duration in 48 kHz samples of one frame for each TOC config (RFC 6716 Table 2). */
export function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config % 4]!;
  if (config < 16) return [480, 960][config % 2]!;
  return [120, 240, 480, 960][config % 4]!;
}

/** Max bytes in one frame (R2). */
const MAX_FRAME_BYTES = 1275;
/** Max audio in one packet (R5): 120 ms. */
const MAX_PACKET_SAMPLES = 5760;

/** Reads a §3.2.1 frame length at `at`; returns [length, bytesUsed] or null when the packet is too short. */
function readFrameLength(p: Uint8Array, at: number): [number, number] | null {
  if (at >= p.length) return null;
  const first = p[at]!;
  if (first < 252) return [first, 1];
  if (at + 1 >= p.length) return null;
  return [p[at + 1]! * 4 + first, 2];
}

/**
 * Validate `packet` against R1-R7 and return its duration in 48 kHz samples, or null when it is not a
 * well-formed Opus packet. (Whether the frames' entropy-coded contents decode is the decoder's business;
 * these rules are what the RFC says a decoder must reject.)
 */
export function opusPacketSamples(packet: Uint8Array): number | null {
  const n = packet.length;
  // R1: at least one byte.
  if (n < 1) return null;
  const toc = packet[0]!;
  const perFrame = frameSamples(toc >> 3);
  switch (toc & 3) {
    case 0:
      // R2: the implicit length N-1 fits a frame.
      return n - 1 <= MAX_FRAME_BYTES ? perFrame : null;
    case 1:
      // R3: an odd total so the two frames are equal; R2 for each of them.
      return n % 2 === 1 && (n - 1) / 2 <= MAX_FRAME_BYTES ? 2 * perFrame : null;
    case 2: {
      // R4: a valid first length that fits; R2 for the implicit second frame.
      const len = readFrameLength(packet, 1);
      if (!len) return null;
      const rest = n - 1 - len[1];
      if (len[0] > rest || rest - len[0] > MAX_FRAME_BYTES) return null;
      return 2 * perFrame;
    }
    default: {
      if (n < 2) return null;
      const fc = packet[1]!;
      const vbr = (fc & 0x80) !== 0;
      const padded = (fc & 0x40) !== 0;
      const m = fc & 0x3f;
      // R5: at least one frame, at most 120 ms.
      if (m === 0 || m * perFrame > MAX_PACKET_SAMPLES) return null;
      let at = 2;
      let padding = 0;
      if (padded) {
        // Padding length: a run of 255s (each meaning 254 bytes + another length byte) then the last value.
        for (;;) {
          if (at >= n) return null;
          const v = packet[at++]!;
          padding += v === 255 ? 254 : v;
          if (v !== 255) break;
        }
      }
      if (vbr) {
        // R7: all M-1 explicit lengths readable, and they plus padding fit; R2 for each frame.
        let total = 0;
        for (let i = 0; i < m - 1; i++) {
          const len = readFrameLength(packet, at);
          if (!len) return null;
          at += len[1];
          if (len[0] > MAX_FRAME_BYTES) return null;
          total += len[0];
        }
        const last = n - at - padding - total;
        if (last < 0 || last > MAX_FRAME_BYTES) return null;
      } else {
        // R6: the bytes left after padding split into M equal frames.
        const left = n - at - padding;
        if (left < 0 || left % m !== 0 || left / m > MAX_FRAME_BYTES) return null;
      }
      return m * perFrame;
    }
  }
}
