import { createCipheriv } from 'node:crypto';

/** RTP payload type Discord uses for Opus (and the only one @discordjs/voice accepts). */
const OPUS_PAYLOAD_TYPE = 0x78;
export const SAMPLES_PER_FRAME = 960; // 20 ms at 48 kHz (RFC 7587 §4.1: the RTP clock of Opus is always 48 kHz)
export const FRAME_MS = 20;
/** What Discord clients send as the 5 trailing frames after a talk spurt: a 20 ms Opus silence frame. */
export const OPUS_SILENCE_FRAME = Buffer.from([0xf8, 0xff, 0xfe]);

export interface RtpFrame {
  sequence: number;
  timestamp: number;
  ssrc: number;
  /** RFC 3551 §4.1: set on the first packet of a talk spurt */
  marker: boolean;
  opus: Buffer;
}

/**
 * One voice packet as Discord's media server relays it to a bot in `aead_aes256_gcm_rtpsize` mode
 * (https://discord.com/developers/docs/topics/voice-connections#transport-encryption-modes):
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |V=2|P|X|  CC   |M|   PT=0x78   |       sequence number         |  RFC 3550 §5.1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                           timestamp                           |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                             SSRC                              |
 *  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+  <- AAD ends after the extension
 *  |      0xBE     |      0xDE     |        length = 1 word        |     header (rtpsize: "RTP size")
 *  +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *  | ID=1  |  L=0  |V| audio level |      0 (pad)  |    0 (pad)    |  RFC 8285 §4.2 one-byte element,
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  RFC 6464 audio level (encrypted)
 *  |                     Opus packet (encrypted)                   |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |               AES-256-GCM tag (16 bytes)                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |       nonce counter (4 bytes, big endian)                     |  12-byte GCM nonce = counter ‖ 8 × 0
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */
export function buildEncryptedRtp(frame: RtpFrame, secretKey: Buffer, nonceCounter: number, audioLevel = 0x7f): Buffer {
  const header = Buffer.alloc(16);
  header[0] = 0x80 | 0x10; // V=2, X=1
  header[1] = (frame.marker ? 0x80 : 0) | OPUS_PAYLOAD_TYPE;
  header.writeUInt16BE(frame.sequence & 0xffff, 2);
  header.writeUInt32BE(frame.timestamp >>> 0, 4);
  header.writeUInt32BE(frame.ssrc >>> 0, 8);
  header.writeUInt16BE(0xbede, 12);
  header.writeUInt16BE(1, 14);
  const extension = Buffer.from([0x10, audioLevel & 0x7f, 0, 0]);
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(nonceCounter >>> 0, 0);
  const cipher = createCipheriv('aes-256-gcm', secretKey, nonce);
  cipher.setAAD(header);
  const encrypted = Buffer.concat([cipher.update(Buffer.concat([extension, frame.opus])), cipher.final()]);
  return Buffer.concat([header, encrypted, cipher.getAuthTag(), nonce.subarray(0, 4)]);
}

/** A packet whose GCM tag no longer matches (e.g. encrypted with a stale key): decryption must fail. */
export function corruptTag(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  const tagStart = copy.length - 4 - 16;
  copy[tagStart] = (copy[tagStart] ?? 0) ^ 0xff;
  return copy;
}

/** A packet cut short in transit: a valid RTP header followed by fewer bytes than tag + nonce. */
export function truncatePacket(packet: Buffer): Buffer {
  return Buffer.from(packet.subarray(0, 18));
}

/** 16-bit sequence arithmetic (RFC 3550 appendix A.1). */
export function nextSequence(sequence: number): number {
  return (sequence + 1) & 0xffff;
}

export function addTimestamp(timestamp: number, samples: number): number {
  return (timestamp + samples) >>> 0;
}

/**
 * IP discovery reply (https://discord.com/developers/docs/topics/voice-connections#ip-discovery):
 *
 *  | type=2 (u16) | length=70 (u16) | SSRC (u32) | address (64 bytes, NUL-terminated) | port (u16) |
 */
export function buildIpDiscoveryReply(ssrc: number, address: string, port: number): Buffer {
  const reply = Buffer.alloc(74);
  reply.writeUInt16BE(2, 0);
  reply.writeUInt16BE(70, 2);
  reply.writeUInt32BE(ssrc >>> 0, 4);
  reply.write(address, 8, 'utf8');
  reply.writeUInt16BE(port, 72);
  return reply;
}
