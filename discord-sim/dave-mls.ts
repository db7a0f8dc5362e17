/**
 * The MLS (RFC 9420) pieces a DAVE voice server needs, written with node:crypto alone: the server is not a group
 * member, it is the group's single *external sender* (DAVE protocol v1.1.4, "dave_mls_external_sender_package"),
 * the only party allowed to propose Add and Remove. It never decrypts media and never sees a group secret.
 *
 * Wire facts (discord/dave-protocol protocol.md; checked against @snazzah/davey 0.1.12):
 * - ciphersuite 2: MLS_128_DHKEMP256_AES128GCM_SHA256_P256, so signatures are DER-encoded ECDSA P-256/SHA-256;
 * - group id = channel id as a big-endian u64; basic credentials; Discord's own external sender identity is 0x00;
 * - op 26 carries a bare KeyPackage (not an MLSMessage), which is what an Add proposal embeds;
 * - op 27 is `[u8 operation_type][proposal MLSMessages, as one <V> vector]`;
 * - op 28 (a member's commit) is `MLSMessage(commit) ‖ Welcome?`, with no length in between.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

const MLS_VERSION_10 = 1;
const WIRE_FORMAT_PUBLIC_MESSAGE = 1;
const SENDER_EXTERNAL = 2;
const CONTENT_TYPE_PROPOSAL = 2;
const CONTENT_TYPE_COMMIT = 3;
const PROPOSAL_ADD = 1;
const PROPOSAL_REMOVE = 3;
const CREDENTIAL_BASIC = 1;
const CIPHERSUITE_P256 = 2;
/** DAVE op 27 operation types. */
const PROPOSALS_APPEND = 0;

/** RFC 9420 §2.1.2 variable-length integer (QUIC style, at most 30 bits here). */
function encodeVarint(n: number): Buffer {
  if (n < 0x40) return Buffer.from([n]);
  if (n < 0x4000) return Buffer.from([0x40 | (n >> 8), n & 0xff]);
  if (n < 0x40000000) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE((0x80000000 | n) >>> 0);
    return b;
  }
  throw new RangeError(`MLS vector of ${n} bytes is too long`);
}

/** Reads a varint at `offset`: [value, bytes used]. */
function decodeVarint(buf: Buffer, offset: number): [number, number] {
  const first = buf[offset];
  if (first === undefined) throw new RangeError('MLS varint past the end');
  const prefix = first >> 6;
  if (prefix === 0) return [first & 0x3f, 1];
  if (offset + (1 << prefix) > buf.length) throw new RangeError('MLS varint past the end');
  if (prefix === 1) return [((first & 0x3f) << 8) | (buf[offset + 1] ?? 0), 2];
  if (prefix === 2) return [(buf.readUInt32BE(offset) & 0x3fffffff) >>> 0, 4];
  throw new RangeError('invalid MLS varint prefix');
}

/** `opaque<V>`: the bytes with their varint length in front. */
const vector = (bytes: Buffer): Buffer => Buffer.concat([encodeVarint(bytes.length), bytes]);
const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};

/** The MLS group id of a channel's call: the channel snowflake as a big-endian u64. */
export const groupIdOf = (channelId: string): Buffer => u64(BigInt(channelId));

/** The voice server's signing identity: one per stand-in, as Discord has one per call. */
export class ExternalSender {
  readonly #privateKey: KeyObject;
  /** Uncompressed P-256 point (0x04 ‖ x ‖ y). */
  readonly publicKey: Buffer;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    this.#privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    this.publicKey = Buffer.concat([u8(4), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  }

  /** op 25 payload: `ExternalSender { signature_key<V>; Credential { u16 basic; identity<V> = 0x00 } }`. */
  package(): Buffer {
    return Buffer.concat([vector(this.publicKey), u16(CREDENTIAL_BASIC), vector(Buffer.from([0]))]);
  }

  /** An external Add proposal for a member's KeyPackage (as received in op 26), as an MLSMessage. */
  addProposal(groupId: Buffer, epoch: bigint, keyPackage: Buffer): Buffer {
    return this.#proposal(groupId, epoch, Buffer.concat([u16(PROPOSAL_ADD), keyPackage]));
  }

  /** An external Remove proposal for the member at `leafIndex`, as an MLSMessage. */
  removeProposal(groupId: Buffer, epoch: bigint, leafIndex: number): Buffer {
    return this.#proposal(groupId, epoch, Buffer.concat([u16(PROPOSAL_REMOVE), u32(leafIndex)]));
  }

  /** RFC 9420 §6.1: PublicMessage from an external sender (index 0), signed over FramedContentTBS; no membership tag. */
  #proposal(groupId: Buffer, epoch: bigint, proposal: Buffer): Buffer {
    const framedContent = Buffer.concat([
      vector(groupId),
      u64(epoch),
      u8(SENDER_EXTERNAL),
      u32(0),
      vector(Buffer.alloc(0)), // authenticated_data
      u8(CONTENT_TYPE_PROPOSAL),
      proposal,
    ]);
    const tbs = Buffer.concat([u16(MLS_VERSION_10), u16(WIRE_FORMAT_PUBLIC_MESSAGE), framedContent]);
    // RFC 9420 §5.1.2 SignWithLabel: the label and content each as opaque<V>.
    const signContent = Buffer.concat([vector(Buffer.from('MLS 1.0 FramedContentTBS')), vector(tbs)]);
    const signature = sign('sha256', signContent, this.#privateKey);
    return Buffer.concat([u16(MLS_VERSION_10), u16(WIRE_FORMAT_PUBLIC_MESSAGE), framedContent, vector(signature)]);
  }
}

/** op 27 payload (after the seq/opcode header) appending these proposals. */
export function proposalsPayload(messages: readonly Buffer[]): Buffer {
  return Buffer.concat([u8(PROPOSALS_APPEND), vector(Buffer.concat(messages))]);
}

export interface CommitWelcome {
  commit: Buffer;
  welcome: Buffer | null;
}

/**
 * Splits a member's op 28 payload. The welcome, when present, is the tail, and as davey (like libdave) sends it,
 * a bare `Welcome { u16 cipher_suite; secrets<V>; encrypted_group_info<V> }` with no MLSMessage framing. The
 * commit cannot be measured without parsing a whole UpdatePath; the welcome can. So we look for the first
 * offset after the commit's framing where a welcome of our ciphersuite parses to exactly the end.
 */
export function splitCommitWelcome(payload: Buffer): CommitWelcome {
  for (let offset = 8; offset + 4 <= payload.length; offset++) {
    if (payload.readUInt16BE(offset) !== CIPHERSUITE_P256) continue;
    try {
      let at = offset + 2;
      for (let field = 0; field < 2; field++) {
        const [length, used] = decodeVarint(payload, at);
        at += used + length;
      }
      if (at === payload.length) return { commit: payload.subarray(0, offset), welcome: payload.subarray(offset) };
    } catch {
      // not a welcome at this offset
    }
  }
  return { commit: payload, welcome: null };
}

/**
 * The group id and epoch a commit was made for (PublicMessage framing), or null for anything else. The
 * server uses it to tell the epoch's first commit from a stale one, as Discord's voice server does.
 */
export function commitEpoch(commit: Buffer): { groupId: Buffer; epoch: bigint } | null {
  try {
    if (commit.readUInt16BE(0) !== MLS_VERSION_10 || commit.readUInt16BE(2) !== WIRE_FORMAT_PUBLIC_MESSAGE) return null;
    const [groupLength, used] = decodeVarint(commit, 4);
    const groupStart = 4 + used;
    const groupId = commit.subarray(groupStart, groupStart + groupLength);
    const epoch = commit.readBigUInt64BE(groupStart + groupLength);
    // sender (u8 type + u32 leaf index for a member), authenticated_data<V>, then the content type.
    let at = groupStart + groupLength + 8;
    if (commit[at] !== 1) return null; // a commit comes from a member
    at += 5;
    const [aadLength, aadUsed] = decodeVarint(commit, at);
    at += aadUsed + aadLength;
    if (commit[at] !== CONTENT_TYPE_COMMIT) return null;
    return { groupId, epoch };
  } catch {
    return null;
  }
}

/** SHA-256 of bytes, hex: a short stable name for a key package or commit in the stand-in's log. */
export const fingerprint = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex').slice(0, 12);
