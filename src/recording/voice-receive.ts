/**
 * The one boundary adapter for @discordjs/voice 0.19's receiver: it turns what the library delivers into our own
 * `ReceivedPacket`s. Nothing else in the project touches the receiver, its streams or the UDP socket.
 *
 * Why a UDP tap: the library hands over bare Opus frames, dropping the RTP header. In the `*_rtpsize` modes that
 * header travels in the clear, and placement needs its sequence and timestamp to repair loss and reordering
 * without drifting:
 *
 *    0                   1                   2                   3        RFC 3550 §5.1
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |  bytes 0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |  bytes 4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |  bytes 8-11
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *   | (rtpsize: extension profile + length in the clear, then the encrypted payload, tag, 4-byte nonce)
 *
 * Pairing a delivered frame with its header: our patch of @discordjs/voice (patches/, see the README) attaches
 * the datagram's RTP fields to the very Buffer it pushes (`frame.rtp`), so the pairing holds however the frame
 * travels, end-to-end decrypted (DAVE) or not. Without the patch we fall back to timing: the receiver decrypts
 * and pushes inside its own 'message' listener, and a flowing object-mode Readable emits 'data' synchronously
 * from push() when nothing is buffered. So we put one listener before the receiver's (it notes the header and
 * the arrival time) and one after it (it forgets them): a frame delivered between the two belongs to that
 * datagram, provided the SSRC is the speaker's. A frame paired neither way is placed by arrival time only,
 * never with a guessed header, and that is counted (`arrivalOnly`) and logged as a warning.
 *
 * What DAVE adds: the library drops a frame it cannot end-to-end decrypt (around a group transition, while it
 * re-initialises, or for a sender it has no key for) and returns nothing, and before its group is ready it hands
 * over the still-encrypted frame as if it were Opus. Both are counted as `undecryptable`, per speaker: the
 * first as a speaker's datagram that yielded no frame, the second as a frame the library passed through
 * undecrypted (our patch marks it `davePassthrough`) that carries DAVE's trailer. The second is never written
 * to a track. A frame DAVE did decrypt is never judged by its bytes: plain Opus ends in 0xFAFA about once in
 * 65,536 frames.
 *
 * Why a larger socket receive buffer: every datagram waits in the kernel until the event loop reads it. The
 * default buffer (208 KiB on Linux) holds about 0.4 s of 50 speakers; a GC pause, a slow disk or any other
 * stall longer than that drops packets, and each one is a hole in someone's track. So the voice socket asks
 * for RECEIVE_BUFFER_BYTES (the kernel caps it at net.core.rmem_max) and logs what it got. This is a margin,
 * not a licence to stall: nothing on the main thread should hold the event loop for long (see live-mix.ts).
 *
 * Why resubscribe: the receiver answers a packet it cannot decrypt with `stream.destroy(error)`, which would end
 * the speaker's recording. We count it and open a fresh subscription as soon as the old one has closed.
 */
import {
  EndBehaviorType,
  VoiceConnectionStatus,
  type AudioReceiveStream,
  type VoiceConnection,
  type VoiceConnectionState,
} from '@discordjs/voice';
import { Socket as DgramSocket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Clock } from './clock.ts';
import { rememberSeq, seqSeen, type RtpInfo, type SeqWindow } from './placement.ts';
import type { ReceivedPacket } from './speaker-track.ts';
import { readE2ee } from './voice-e2ee.ts';

export type RtpHeader = RtpInfo;

const RTP_HEADER_LENGTH = 12;
const RTP_VERSION = 2;
/** RTP payload type of Discord's Opus; anything else on the socket (RTCP, keep-alives) is not a frame. */
const OPUS_PAYLOAD_TYPE = 0x78;
/** DAVE protocol §"Frame format": every end-to-end encrypted frame ends with this marker. */
const DAVE_MAGIC_MARKER = 0xfafa;
/** 8-byte truncated tag + ≥1-byte nonce + size byte + 2-byte marker: the smallest DAVE trailer. */
const DAVE_MIN_SUPPLEMENTAL = 12;
/** 4 MiB: about 8 s of 50 speakers at once. */
const RECEIVE_BUFFER_BYTES = 4 << 20;

/** The clear-text RTP fields of a voice datagram, or undefined for anything that is not RTP (keep-alives, IP discovery). */
export function readRtpHeader(datagram: Buffer): RtpHeader | undefined {
  if (datagram.length < RTP_HEADER_LENGTH) return undefined;
  if (datagram[0]! >> 6 !== RTP_VERSION) return undefined;
  return { sequence: datagram.readUInt16BE(2), timestamp: datagram.readUInt32BE(4), ssrc: datagram.readUInt32BE(8) };
}

/**
 * Whether a frame has DAVE's trailer: `…ciphertext ‖ tag ‖ nonce ‖ ranges ‖ u8 supplemental size ‖ 0xFAFA`.
 * Only asked of frames the library did not decrypt: a plain Opus frame can end so too.
 */
export function isDaveEncrypted(frame: Buffer): boolean {
  if (frame.length < DAVE_MIN_SUPPLEMENTAL) return false;
  if (frame.readUInt16BE(frame.length - 2) !== DAVE_MAGIC_MARKER) return false;
  const supplemental = frame[frame.length - 3]!;
  return supplemental >= DAVE_MIN_SUPPLEMENTAL && supplemental <= frame.length;
}

/**
 * Whether the library handed this frame on without end-to-end decrypting it: our patch says so on the frame;
 * without the patch, a session that is not in a group (no privacy code) cannot have decrypted anything.
 */
function passedThrough(frame: Buffer, connection: VoiceConnection): boolean {
  const e2ee = readE2ee(connection);
  if (e2ee === null) return false;
  const marked = Reflect.get(frame, 'davePassthrough') as boolean | undefined;
  return marked ?? e2ee.privacyCode === '';
}

/** The RTP fields our @discordjs/voice patch attaches to each delivered frame (undefined without the patch). */
function patchedRtp(frame: Buffer): RtpHeader | undefined {
  const rtp = Reflect.get(frame, 'rtp') as RtpHeader | undefined;
  return rtp && typeof rtp.sequence === 'number' && typeof rtp.timestamp === 'number' ? rtp : undefined;
}

export interface ReceiveStats {
  /** Frames handed on. */
  delivered: number;
  /** ... of which paired with their RTP header. */
  withRtp: number;
  /** ... of which placed by arrival time only, because the pairing was uncertain. */
  arrivalOnly: number;
  /** Packets the library could not decrypt or parse (each one destroyed its stream). */
  malformed: number;
  /** Fresh subscriptions opened after the library destroyed one. */
  resubscribes: number;
  /**
   * Datagrams of this speaker that reached the socket but yielded no frame, or a frame still end-to-end encrypted
   * (DAVE): the library could not decrypt them. Counted, never written.
   */
  undecryptable: number;
  /**
   * Datagrams that yielded no frame because they repeat one already delivered: DAVE's replay protection refuses
   * a network duplicate, which is a duplicate, not a loss.
   */
  replayed: number;
}

export interface ReceiveSubscription {
  readonly userId: string;
  stats(): ReceiveStats;
  /** Stops receiving at once: no frame is handed on after this returns. */
  unsubscribe(): void;
}

export interface VoiceReceive {
  /** Subscribe to one user. Only ever called for someone who consented: the library buffers nothing for others. */
  subscribe(userId: string, onPacket: (packet: ReceivedPacket) => void): ReceiveSubscription;
  /** Totals over every subscription, past and present. */
  stats(): ReceiveStats;
  /** Unsubscribes everyone and detaches from the connection. */
  close(): void;
}

interface InFlight {
  header: RtpHeader;
  arrivalMs: number;
  /** RTP payload type is Opus: a frame the receiver would hand over if it could decrypt it. */
  opus: boolean;
  consumed: boolean;
}

type Listener = (...args: unknown[]) => void;

function emptyStats(): ReceiveStats {
  return { delivered: 0, withRtp: 0, arrivalOnly: 0, malformed: 0, resubscribes: 0, undecryptable: 0, replayed: 0 };
}

/**
 * Watches the connection for its current UDP socket (a new one on every reconnect) and keeps our two listeners
 * around the receiver's. `current()` is the datagram being processed right now, if any.
 */
class UdpTap {
  #connection: VoiceConnection;
  #clock: Clock;
  #log: Logger;
  #networking: EventEmitter | undefined;
  #udp: EventEmitter | undefined;
  #inFlight: InFlight | undefined;
  #ordered = false;
  #onUnclaimed: (header: RtpHeader) => void;

  constructor(connection: VoiceConnection, deps: { clock: Clock; log: Logger; onUnclaimed: (header: RtpHeader) => void }) {
    this.#connection = connection;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#onUnclaimed = deps.onUnclaimed;
    connection.on('stateChange', this.#onConnectionState);
    this.#onConnectionState(connection.state, connection.state);
  }

  current(): InFlight | undefined {
    return this.#ordered ? this.#inFlight : undefined;
  }

  /** The datagram being processed, whatever the listener order (for its arrival time only). */
  processing(): InFlight | undefined {
    return this.#inFlight;
  }

  close(): void {
    this.#connection.off('stateChange', this.#onConnectionState);
    this.#networking?.off('stateChange', this.#retap);
    this.#networking = undefined;
    this.#attach(undefined);
  }

  #onConnectionState = (_old: VoiceConnectionState, state: VoiceConnectionState): void => {
    const networking = Reflect.get(state, 'networking') as EventEmitter | undefined;
    if (networking !== this.#networking) {
      this.#networking?.off('stateChange', this.#retap);
      // Registered after the connection's own networking listener, so the receiver is bound to a new socket
      // before we look at it.
      networking?.on('stateChange', this.#retap);
      this.#networking = networking;
    }
    this.#retap();
  };

  #retap = (): void => {
    const state = this.#networking ? (Reflect.get(this.#networking, 'state') as object | undefined) : undefined;
    this.#attach(state ? (Reflect.get(state, 'udp') as EventEmitter | undefined) : undefined);
  };

  #attach(udp: EventEmitter | undefined): void {
    if (udp !== this.#udp) {
      this.#udp?.off('message', this.#before);
      this.#udp?.off('message', this.#after);
      this.#inFlight = undefined;
      this.#udp = udp;
      udp?.prependListener('message', this.#before);
      if (udp) raiseReceiveBuffer(udp, RECEIVE_BUFFER_BYTES, this.#log);
    }
    if (!udp) {
      this.#ordered = false;
      return;
    }
    // Keep ours last, behind the receiver's, however the listeners were added.
    udp.off('message', this.#after);
    udp.on('message', this.#after);
    const listeners = udp.listeners('message');
    // eslint-disable-next-line @typescript-eslint/unbound-method -- compared by identity, never called
    const receiverAt = listeners.indexOf(this.#connection.receiver.onUdpMessage);
    this.#ordered = receiverAt > listeners.indexOf(this.#before) && receiverAt < listeners.indexOf(this.#after);
  }

  #before: Listener = (datagram) => {
    const header = Buffer.isBuffer(datagram) ? readRtpHeader(datagram) : undefined;
    this.#inFlight = header
      ? { header, arrivalMs: this.#clock.now(), opus: ((datagram as Buffer)[1]! & 0x7f) === OPUS_PAYLOAD_TYPE, consumed: false }
      : undefined;
  };

  #after: Listener = () => {
    const inFlight = this.#inFlight;
    this.#inFlight = undefined;
    // Listener order known: an Opus datagram that produced no frame was dropped by the library (DAVE decrypt).
    if (this.#ordered && inFlight?.opus && !inFlight.consumed) this.#onUnclaimed(inFlight.header);
  };
}

/**
 * Asks the kernel for a `bytes` receive buffer on the voice socket (the library's VoiceUDPSocket keeps its
 * dgram socket in `socket`) and logs the size in effect. A refusal is logged and recording goes on with the
 * default: a smaller buffer is a risk, not a reason to fail.
 */
export function raiseReceiveBuffer(udp: EventEmitter, bytes: number, log: Logger): void {
  const socket: unknown = Reflect.get(udp, 'socket');
  if (!(socket instanceof DgramSocket)) {
    log.warn({ requested: bytes }, 'voice UDP socket not found; its receive buffer stays at the system default');
    return;
  }
  const apply = (): void => {
    try {
      const before = socket.getRecvBufferSize();
      socket.setRecvBufferSize(bytes);
      // Linux reports twice what it grants (half is bookkeeping) and caps the grant at net.core.rmem_max.
      log.info({ requested: bytes, before, effective: socket.getRecvBufferSize() }, 'voice UDP receive buffer set');
    } catch (err) {
      log.warn({ err, requested: bytes }, 'could not enlarge the voice UDP receive buffer; keeping the system default');
    }
  };
  // The library binds the socket implicitly, on its first send (IP discovery); sizing needs a bound socket.
  if (isUnbound(socket)) socket.once('listening', apply);
  else apply();
}

/** Not bound yet (getsockname has no descriptor). A closed socket is not "unbound": sizing it fails and is logged. */
function isUnbound(socket: DgramSocket): boolean {
  try {
    socket.address();
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EBADF') return true;
    if (code === 'ERR_SOCKET_DGRAM_NOT_RUNNING') return false;
    throw err;
  }
}

/** One speaker's subscription, renewed whenever the library destroys the stream under it. */
class Subscription implements ReceiveSubscription {
  readonly userId: string;
  #connection: VoiceConnection;
  #tap: UdpTap;
  #clock: Clock;
  #log: Logger;
  #onPacket: (packet: ReceivedPacket) => void;
  #onEnd: (s: Subscription) => void;
  #stream: AudioReceiveStream | undefined;
  #stats = emptyStats();
  #active = true;
  /** Sequences recently delivered (placement's window), to tell a refused duplicate from a lost frame. */
  #recent: readonly SeqWindow[] = [];

  constructor(opts: {
    userId: string;
    connection: VoiceConnection;
    tap: UdpTap;
    clock: Clock;
    log: Logger;
    onPacket: (packet: ReceivedPacket) => void;
    onEnd: (s: Subscription) => void;
  }) {
    this.userId = opts.userId;
    this.#connection = opts.connection;
    this.#tap = opts.tap;
    this.#clock = opts.clock;
    this.#log = opts.log;
    this.#onPacket = opts.onPacket;
    this.#onEnd = opts.onEnd;
    this.#open();
  }

  stats(): ReceiveStats {
    return { ...this.#stats };
  }

  unsubscribe(): void {
    if (!this.#active) return;
    this.#active = false;
    const stream = this.#stream;
    this.#stream = undefined;
    if (stream && !stream.destroyed) {
      stream.off('data', this.#onData);
      // push(null) would end it after whatever is buffered; destroy drops the buffer at once.
      stream.destroy();
    }
    this.#onEnd(this);
  }

  #open(): void {
    const receiver = this.#connection.receiver;
    const previous = receiver.subscriptions.get(this.userId);
    if (previous?.destroyed) {
      // Re-subscribed in the same tick as an unsubscribe: the receiver forgets the old stream on its 'close'.
      previous.once('close', () => {
        if (this.#active) this.#open();
      });
      return;
    }
    const stream = receiver.subscribe(this.userId, { end: { behavior: EndBehaviorType.Manual } });
    this.#stream = stream;
    stream.on('data', this.#onData);
    stream.on('error', this.#onError);
    stream.once('close', () => this.#onClose(stream));
  }

  #onData = (opus: Buffer): void => {
    if (!this.#active) return;
    const inFlight = this.#tap.processing();
    const ssrc = this.#connection.receiver.ssrcMap.get(this.userId)?.audioSSRC;
    const fromThisDatagram = inFlight !== undefined && !inFlight.consumed && inFlight.header.ssrc === ssrc;
    if (fromThisDatagram) inFlight.consumed = true;
    if (isDaveEncrypted(opus) && passedThrough(opus, this.#connection)) {
      this.#count('undecryptable', 'dropped an end-to-end encrypted frame the bot could not decrypt');
      return;
    }
    this.#stats.delivered++;
    const rtp = patchedRtp(opus) ?? (fromThisDatagram && this.#tap.current() === inFlight ? inFlight.header : undefined);
    if (rtp) {
      this.#stats.withRtp++;
      this.#recent = rememberSeq(this.#recent, rtp);
      const arrivalMs = fromThisDatagram && inFlight.header.sequence === rtp.sequence ? inFlight.arrivalMs : this.#clock.now();
      this.#onPacket({ opus, arrivalMs, rtp: { sequence: rtp.sequence, timestamp: rtp.timestamp, ssrc: rtp.ssrc } });
      return;
    }
    this.#count('arrivalOnly', 'voice frame without its RTP header: placed by arrival time (is the @discordjs/voice patch applied?)');
    this.#onPacket({ opus, arrivalMs: this.#clock.now() });
  };

  /** Counts one more and warns on the first and every 500th: a flood shows in the log without flooding it. */
  #count(stat: 'undecryptable' | 'arrivalOnly', message: string): void {
    const n = ++this.#stats[stat];
    if (n === 1 || n % 500 === 0) this.#log.warn({ userId: this.userId, [stat]: n }, message);
  }

  /** One of this speaker's datagrams yielded no frame: the library dropped it (see the header), or it was a repeat. */
  countUndecryptable(header: RtpHeader): void {
    if (!this.#active) return;
    const stream = this.#stream;
    // A transport-level failure destroys the stream and is counted as malformed by #onError.
    if (!stream || stream.destroyed) return;
    if (seqSeen(this.#recent, header)) {
      this.#stats.replayed++;
      return;
    }
    this.#count('undecryptable', 'a voice frame could not be end-to-end decrypted');
  }

  #onError = (error: unknown): void => {
    this.#stats.malformed++;
    this.#log.warn({ userId: this.userId, err: error, malformed: this.#stats.malformed }, 'dropped a malformed voice packet');
  };

  #onClose(stream: AudioReceiveStream): void {
    if (stream !== this.#stream || !this.#active) return;
    if (this.#connection.state.status === VoiceConnectionStatus.Destroyed) {
      this.#log.info({ userId: this.userId }, 'voice connection destroyed: receiving ended');
      this.#active = false;
      this.#onEnd(this);
      return;
    }
    this.#stats.resubscribes++;
    this.#open();
  }
}

export function createVoiceReceive(
  connection: VoiceConnection,
  deps: { /** reads ms since the recording's time zero */ clock: Clock; log: Logger },
): VoiceReceive {
  const live = new Map<string, Subscription>();
  const tap = new UdpTap(connection, {
    ...deps,
    onUnclaimed: (header) => {
      const userId = connection.receiver.ssrcMap.get(header.ssrc)?.userId;
      if (userId !== undefined) live.get(userId)?.countUndecryptable(header);
    },
  });
  const finished = emptyStats();

  const addInto = (total: ReceiveStats, s: ReceiveStats): void => {
    for (const key of Object.keys(total) as (keyof ReceiveStats)[]) total[key] += s[key];
  };

  return {
    subscribe(userId, onPacket) {
      if (live.has(userId)) throw new Error(`user ${userId} is already subscribed`);
      const subscription = new Subscription({
        userId,
        connection,
        tap,
        clock: deps.clock,
        log: deps.log,
        onPacket,
        onEnd: (s) => {
          if (live.get(s.userId) === s) live.delete(s.userId);
          addInto(finished, s.stats());
        },
      });
      live.set(userId, subscription);
      return subscription;
    },
    stats() {
      const total = { ...finished };
      for (const s of live.values()) addInto(total, s.stats());
      return total;
    },
    close() {
      for (const s of [...live.values()]) s.unsubscribe();
      tap.close();
    },
  };
}
