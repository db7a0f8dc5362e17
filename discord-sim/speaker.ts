import { randomInt } from 'node:crypto';
import type { World } from './world.ts';
import type { VoiceServer } from './voice-server.ts';
import type { SimLog } from './log.ts';
import type { Speech } from './audio-source.ts';
import { planDeliveries, type FrameFate, type NetworkFaults } from './faults.ts';
import { addTimestamp, buildEncryptedRtp, corruptTag, nextSequence, truncatePacket, type RtpFrame } from './rtp.ts';

/** What happened to one frame a simulated user sent: the ground truth tests compare the bot's output with. */
export interface SentFrame {
  userId: string;
  utterance: number;
  /** index within the utterance's transmitted frames */
  index: number;
  sequence: number;
  timestamp: number;
  ssrc: number;
  opus: Buffer;
  trailingSilence: boolean;
  /** RFC 3551 §4.1: set on the first packet after a silence the client did not transmit */
  marker: boolean;
  fate: FrameFate;
  /** sim-clock ms of each arrival at the bot (several for duplicates, none if lost or nobody listening) */
  arrivals: number[];
}

export interface SpeakOptions {
  /** sim-clock ms at which the utterance starts (default: now) */
  at?: number;
  faults?: NetworkFaults;
}

export interface Utterance {
  id: number;
  userId: string;
  frames: SentFrame[];
  /** resolves once the last packet has gone out */
  done: Promise<void>;
  cancel(): void;
}

/** A simulated Discord client's RTP sender state: one SSRC per user, sequence and timestamp continue across utterances. */
interface Sender {
  ssrc: number;
  sequence: number;
  /** RTP timestamp at `epochMs`; later timestamps advance with elapsed time (48 per ms), also through silence */
  timestampAtEpoch: number;
  epochMs: number;
  announce: boolean;
}

/** One packet put on the wire towards one bot session, in global send order. */
export interface WireDelivery {
  frame: SentFrame;
  payload: 'packet' | 'duplicate' | 'truncated' | 'bad-tag';
  at: number;
  /** The frame went out end-to-end encrypted (DAVE), whose decryptor refuses a replay of a frame it has seen. */
  e2ee: boolean;
}

export class SpeakerEngine {
  readonly sent: SentFrame[] = [];
  /** every packet sent to a bot, in order (what a receiver sees on loopback, where UDP keeps order) */
  readonly wire: WireDelivery[] = [];
  private readonly senders = new Map<string, Sender>();
  private utterances = 0;
  private readonly active = new Set<Utterance>();

  private readonly world: World;
  private readonly voice: VoiceServer;
  private readonly log: SimLog;
  private readonly clock: () => number;
  private readonly defaultFaults: () => NetworkFaults;
  private readonly e2ee: (userId: string, opus: Buffer) => Buffer;
  /** A frame's payload as its client sent it (end-to-end encrypted once, then relayed to each bot as is). */
  private readonly payloads = new WeakMap<SentFrame, Buffer>();

  constructor(
    world: World,
    voice: VoiceServer,
    log: SimLog,
    clock: () => number,
    defaultFaults: () => NetworkFaults,
    e2ee: (userId: string, opus: Buffer) => Buffer = (_userId, opus) => opus,
  ) {
    this.world = world;
    this.voice = voice;
    this.log = log;
    this.clock = clock;
    this.defaultFaults = defaultFaults;
    this.e2ee = e2ee;
  }

  /** Known SSRC of a user who has spoken (for op 5 on a bot's (re)connect), unless deliberately unannounced. */
  ssrcOf(userId: string): number | null {
    const sender = this.senders.get(userId);
    return sender && sender.announce ? sender.ssrc : null;
  }

  /** The user's client never sends op 5 Speaking, so the media server never maps its SSRC (a fault case). */
  setAnnounce(userId: string, announce: boolean): void {
    this.senderFor(userId).announce = announce;
  }

  /**
   * A client gets its SSRC when it connects to voice. The stand-in announces it (op 5) to bots in the channel
   * right away rather than with the first packet: over a TLS WebSocket the announcement can lose the race with
   * the UDP packet it maps, and a receiver drops packets from an SSRC it does not know yet.
   */
  connected(userId: string, channelId: string): void {
    const sender = this.senderFor(userId);
    if (sender.announce) this.voice.announce(channelId, userId, sender.ssrc);
  }

  private senderFor(userId: string): Sender {
    let sender = this.senders.get(userId);
    if (!sender) {
      sender = {
        ssrc: randomInt(1, 2 ** 31),
        sequence: randomInt(0, 2 ** 16),
        timestampAtEpoch: randomInt(0, 2 ** 31),
        epochMs: this.clock(),
        announce: true,
      };
      this.senders.set(userId, sender);
    }
    return sender;
  }

  speak(userId: string, speech: Speech, options: SpeakOptions = {}): Utterance {
    if (!this.world.voiceStateOf(userId)) throw new Error(`discord-sim: ${userId} is not in a voice channel, so cannot speak`);
    const sender = this.senderFor(userId);
    const start = options.at ?? this.clock();
    const faults = options.faults ?? this.defaultFaults();
    const id = ++this.utterances;
    const startTimestamp = addTimestamp(sender.timestampAtEpoch, Math.round((start - sender.epochMs) * 48));
    let previousOffset = -Infinity;
    const frames: SentFrame[] = speech.frames.map((f, index) => {
      sender.sequence = nextSequence(sender.sequence);
      const frame: SentFrame = {
        userId,
        utterance: id,
        index,
        sequence: sender.sequence,
        timestamp: addTimestamp(startTimestamp, f.offset),
        ssrc: sender.ssrc,
        opus: f.opus,
        trailingSilence: f.trailingSilence,
        marker: f.offset - previousOffset > 960,
        fate: 'delivered',
        arrivals: [],
      };
      previousOffset = f.offset;
      return frame;
    });
    const plan = planDeliveries(frames.length, faults);
    plan.fates.forEach((fate, i) => ((frames[i] as SentFrame).fate = fate));
    this.sent.push(...frames);

    const queue = plan.deliveries
      .map((d) => ({ ...d, due: start + (speech.frames[d.frame]?.offset ?? 0) / 48 + d.delayMs }))
      .sort((a, b) => a.due - b.due);
    let timer: NodeJS.Timeout | null = null;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const utterance: Utterance = {
      id,
      userId,
      frames,
      done,
      cancel: () => {
        if (timer) clearTimeout(timer);
        queue.length = 0;
        this.active.delete(utterance);
        finish();
      },
    };
    this.active.add(utterance);
    this.log.add({
      kind: 'voice',
      event: 'utterance',
      detail: { userId, utterance: id, frames: frames.length, ssrc: sender.ssrc, faults },
    });

    const pump = () => {
      timer = null;
      const now = this.clock();
      while (queue.length > 0 && (queue[0]?.due ?? Infinity) <= now + 1) {
        const delivery = queue.shift();
        if (!delivery) break;
        const frame = frames[delivery.frame] as SentFrame;
        this.deliver(frame, delivery.payload, sender);
      }
      if (queue.length === 0) {
        this.active.delete(utterance);
        finish();
        return;
      }
      // Absolute deadlines: timer lateness never accumulates into drift of the 20 ms pacing.
      timer = setTimeout(pump, Math.max(0, (queue[0]?.due ?? now) - this.clock()));
    };
    timer = setTimeout(pump, Math.max(0, (queue[0]?.due ?? start) - this.clock()));
    return utterance;
  }

  private deliver(frame: SentFrame, payload: 'packet' | 'duplicate' | 'truncated' | 'bad-tag', sender: Sender): void {
    const state = this.world.voiceStateOf(frame.userId);
    if (!state) return; // the user left mid-utterance: their client stops sending
    for (const session of this.voice.readySessionsIn(state.channelId)) {
      if (session.selfDeaf) continue; // Discord sends no audio to a self-deafened client
      if (sender.announce) this.voice.announce(state.channelId, frame.userId, frame.ssrc);
      let opus = this.payloads.get(frame);
      if (!opus) {
        opus = this.e2ee(frame.userId, frame.opus);
        this.payloads.set(frame, opus);
      }
      const rtp: RtpFrame = { sequence: frame.sequence, timestamp: frame.timestamp, ssrc: frame.ssrc, marker: frame.marker, opus };
      // Each recipient gets its own encryption (own key, own nonce counter), as Discord's media server does.
      session.nonce = (session.nonce + 1) >>> 0;
      let packet = buildEncryptedRtp(rtp, session.secretKey as Buffer, session.nonce);
      if (payload === 'truncated') packet = truncatePacket(packet);
      else if (payload === 'bad-tag') packet = corruptTag(packet);
      this.voice.sendUdp(session, packet);
      const at = this.clock();
      frame.arrivals.push(at);
      this.wire.push({ frame, payload, at, e2ee: opus !== frame.opus });
    }
  }

  framesOf(userId: string): SentFrame[] {
    return this.sent.filter((f) => f.userId === userId);
  }

  /**
   * Opus payloads a correct receiver must yield for a user, in arrival order: duplicates included, except of an
   * end-to-end encrypted frame, which DAVE's replay protection drops.
   */
  decodableArrivals(userId: string): Buffer[] {
    return this.wire
      .filter((w) => w.frame.userId === userId && (w.payload === 'packet' || (w.payload === 'duplicate' && !w.e2ee)))
      .map((w) => w.frame.opus);
  }

  async idle(): Promise<void> {
    await Promise.all([...this.active].map((u) => u.done));
  }

  stopAll(): void {
    for (const utterance of [...this.active]) utterance.cancel();
  }
}
