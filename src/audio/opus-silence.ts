/**
 * Opus packets that decode to exact digital silence, used to fill gaps in a track with real frames
 * (players do not play Ogg granule jumps as silence).
 *
 * Each frame is the 2-byte CELT frame 0xFF 0xFE: its first range-coded symbol is the CELT "silence" flag
 * (RFC 6716 §4.3, Table 56), so the decoder outputs zeros (after the previous frame's overlap has decayed).
 * TOC configs (RFC 6716 §3.1) used, all CELT fullband mono:
 *   31 (0xF8) 20 ms, 30 (0xF0) 10 ms, 29 (0xE8) 5 ms, 28 (0xE0) 2.5 ms.
 * Up to six 20 ms frames share one code-3 CBR packet (§3.2.5): TOC 0xFB, frame count byte M (v=0, p=0),
 * then M frames of 2 bytes: [0xFB, 0x06, 0xFF,0xFE ×6] is 120 ms in 14 bytes.
 * Any multiple of 120 samples (2.5 ms) can therefore be covered exactly.
 */

const SILENCE_GRID = 120;
const FRAME = [0xff, 0xfe];

const SHORT_FRAMES: readonly { samples: number; toc: number }[] = [
  { samples: 480, toc: 30 << 3 },
  { samples: 240, toc: 29 << 3 },
  { samples: 120, toc: 28 << 3 },
];

function twentyMsPacket(frames: number): Buffer {
  if (frames === 1) return Buffer.from([0xf8, ...FRAME]);
  const body: number[] = [];
  for (let i = 0; i < frames; i++) body.push(...FRAME);
  return Buffer.from([0xfb, frames, ...body]);
}

const PACKET_120MS = twentyMsPacket(6);

/**
 * Silence packets covering exactly `samples` 48 kHz samples (a non-negative multiple of 120), largest
 * first. Returns packets with their durations, ready for a writer.
 */
export function silencePackets(samples: number): { packet: Buffer; samples: number }[] {
  if (!Number.isInteger(samples) || samples < 0 || samples % SILENCE_GRID !== 0) {
    throw new RangeError(`silence must be a non-negative multiple of ${SILENCE_GRID} samples, got ${samples}`);
  }
  const out: { packet: Buffer; samples: number }[] = [];
  let left = samples;
  while (left >= 5760) {
    out.push({ packet: PACKET_120MS, samples: 5760 });
    left -= 5760;
  }
  const twenties = Math.floor(left / 960);
  if (twenties > 0) {
    out.push({ packet: twentyMsPacket(twenties), samples: twenties * 960 });
    left -= twenties * 960;
  }
  for (const f of SHORT_FRAMES) {
    if (left >= f.samples) {
      out.push({ packet: Buffer.from([f.toc, ...FRAME]), samples: f.samples });
      left -= f.samples;
    }
  }
  return out;
}

/**
 * Whether a packet is one of the exact-silence packets above (the recorder's fill, and the `F8 FF FE` frames
 * Discord clients send as they stop talking): every frame the CELT silence frame. Tells sound from silence
 * without decoding.
 */
export function isSilencePacket(packet: Uint8Array): boolean {
  const toc = packet[0];
  if (toc === undefined) return false;
  if (packet.length === 3 && (toc === 0xf8 || toc === 0xf0 || toc === 0xe8 || toc === 0xe0))
    return packet[1] === 0xff && packet[2] === 0xfe;
  if (toc !== 0xfb || packet[1] === undefined || packet[1] === 0 || packet[1] > 6 || packet.length !== 2 + 2 * packet[1]) return false;
  for (let at = 2; at < packet.length; at += 2) if (packet[at] !== 0xff || packet[at + 1] !== 0xfe) return false;
  return true;
}
