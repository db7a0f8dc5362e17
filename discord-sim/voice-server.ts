import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { randomBytes, randomInt } from 'node:crypto';
import { WebSocketServer, type WebSocket } from 'ws';
import { VoiceCloseCodes, VoiceEncryptionMode, VoiceOpcodes } from 'discord-api-types/voice/v8';
import type { SimLog } from './log.ts';
import { wsText } from './ws-text.ts';
import { buildIpDiscoveryReply } from './rtp.ts';
import { closeServer, listen } from './rest.ts';
import type { LoopbackCertificate } from './tls-trust.ts';
import { DaveGroup, type BotLink } from './dave-group.ts';
import { ExternalSender } from './dave-mls.ts';

/** Modes the stand-in offers; @discordjs/voice picks aead_aes256_gcm_rtpsize when the runtime has AES-GCM. */
const MODES = [VoiceEncryptionMode.AeadAes256GcmRtpSize, VoiceEncryptionMode.AeadXChaCha20Poly1305RtpSize];

/** A bot's voice session on the media server: survives a dropped WebSocket so that op 7 Resume works. */
export interface VoiceSession {
  guildId: string;
  userId: string;
  sessionId: string;
  token: string;
  channelId: string;
  ssrc: number;
  secretKey: Buffer | null;
  mode: string | null;
  /** where RTP goes: the address the client gave in Select Protocol */
  remote: { address: string; port: number } | null;
  selfDeaf: boolean;
  ws: WebSocket | null;
  seq: number;
  /** What went out, for op 7 Resume to replay: JSON payloads and DAVE's binary messages share one sequence. */
  sent: { seq: number; payload: Record<string, unknown> | Buffer }[];
  /** DAVE version the client offered in Identify (0: none). */
  maxDave: number;
  /** user ids whose SSRC was announced (op 5) on this session */
  announced: Set<string>;
  nonce: number;
  heartbeats: number;
}

export interface VoiceServerOptions {
  log: SimLog;
  certificate: LoopbackCertificate;
  heartbeatIntervalMs: number;
  /** users in a channel (for op 11 on connect) */
  usersInChannel: (channelId: string) => string[];
  /** users whose SSRC is known and may be announced on connect */
  speakerSsrc: (userId: string) => number | null;
  /** DAVE (end-to-end encryption), on by default as on Discord. */
  dave: DaveOptions;
}

export interface DaveOptions {
  enabled: boolean;
  /** The lowest DAVE version a client must offer; less is closed with 4017, as Discord does with no DAVE at all. */
  requiredVersion: number;
  /** See DaveGroupOptions. */
  simCommitDelayMs: number;
  transitionTimeoutMs: number;
  commitTimeoutMs: number;
  zeroTransitionIds: boolean;
}

export const DEFAULT_DAVE: DaveOptions = {
  enabled: true,
  requiredVersion: 1,
  simCommitDelayMs: 20,
  transitionTimeoutMs: 2_000,
  commitTimeoutMs: 2_000,
  zeroTransitionIds: false,
};

/** Discord's close code for a client that does not speak the DAVE version the call needs. */
const DAVE_REQUIRED_CLOSE_CODE = 4017;

export interface VoiceServer {
  endpoint: string;
  bound: { tls: { address: string; port: number }; udp: { address: string; port: number } };
  udpPort: number;
  /** Allocates a token for a bot joining a channel (what VOICE_SERVER_UPDATE carries). */
  allocate(input: { guildId: string; userId: string; sessionId: string; channelId: string; selfDeaf: boolean }): VoiceSession;
  /** The bot moved or changed deafen state (VOICE_STATE_UPDATE without a new server). */
  update(guildId: string, change: { channelId?: string; selfDeaf?: boolean }): void;
  /** The bot left: Discord closes its voice socket with 4014 Disconnected. */
  release(guildId: string): void;
  /** Ready sessions (secret key and UDP address known) of bots in a channel. */
  readySessionsIn(channelId: string): VoiceSession[];
  session(guildId: string): VoiceSession | undefined;
  send(session: VoiceSession, payload: Record<string, unknown>): void;
  sendUdp(session: VoiceSession, packet: Buffer): void;
  /** The channel's DAVE group (created on first use), or undefined with DAVE off. */
  daveGroup(channelId: string): DaveGroup | undefined;
  announce(channelId: string, userId: string, ssrc: number): void;
  clientConnect(channelId: string, userId: string): void;
  clientDisconnect(channelId: string, userId: string): void;
  /**
   * Forces the bot's voice WebSocket down. A code < 4000 or 4015 lets @discordjs/voice resume (op 7);
   * 4006 invalidates the session so it must rejoin via the main gateway; 'drop' kills the TCP connection.
   */
  disconnect(guildId: string, how: number | 'drop'): void;
  close(): Promise<void>;
}

export async function startVoiceServer(options: VoiceServerOptions): Promise<VoiceServer> {
  const { log } = options;
  const https: HttpsServer = createHttpsServer({ cert: options.certificate.cert, key: options.certificate.key }, (_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ server: https });
  const udp: UdpSocket = createSocket('udp4');
  const sessions = new Map<string, VoiceSession>(); // by guild id (one bot per guild)

  await listen(https);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(0, '127.0.0.1', () => {
      udp.off('error', reject);
      resolve();
    });
  });
  const httpsAddress = https.address();
  if (!httpsAddress || typeof httpsAddress === 'string') throw new Error('discord-sim: voice server has no port');
  const udpPort = udp.address().port;

  udp.on('message', (msg, rinfo) => {
    // IP discovery (request type 1, 74 bytes): answer with the address we see the client at.
    if (msg.length === 74 && msg.readUInt16BE(0) === 1) {
      const ssrc = msg.readUInt32BE(4);
      udp.send(buildIpDiscoveryReply(ssrc, rinfo.address, rinfo.port), rinfo.port, rinfo.address);
      log.add({ kind: 'voice', event: 'ip-discovery', detail: { ssrc, port: rinfo.port } });
    }
    // 8-byte keep-alives and the bot's own RTP are accepted and ignored, as Discord does for a silent bot.
  });

  const remember = (session: VoiceSession, payload: Record<string, unknown> | Buffer) => {
    session.sent.push({ seq: session.seq, payload });
    if (session.sent.length > 500) session.sent.shift();
    if (session.ws?.readyState === session.ws?.OPEN) session.ws?.send(Buffer.isBuffer(payload) ? payload : JSON.stringify(payload));
  };
  const send = (session: VoiceSession, payload: Record<string, unknown>) => {
    session.seq += 1;
    remember(session, { ...payload, seq: session.seq });
  };
  /** DAVE binary framing, server to client: `[u16 BE seq][u8 opcode][payload]`. */
  const sendBinary = (session: VoiceSession, op: number, payload: Buffer) => {
    session.seq += 1;
    const header = Buffer.alloc(3);
    header.writeUInt16BE(session.seq & 0xffff, 0);
    header[2] = op;
    remember(session, Buffer.concat([header, payload]));
  };

  const externalSender = new ExternalSender();
  const groups = new Map<string, DaveGroup>();
  const daveGroup = (channelId: string): DaveGroup | undefined => {
    if (!options.dave.enabled) return undefined;
    let group = groups.get(channelId);
    if (!group) {
      group = new DaveGroup({ channelId, externalSender, log, usersInChannel: () => options.usersInChannel(channelId), ...options.dave });
      groups.set(channelId, group);
    }
    return group;
  };
  const botLink = (session: VoiceSession): BotLink => ({
    userId: session.userId,
    live: () => session.ws !== null && session.ws.readyState === session.ws.OPEN && session.secretKey !== null,
    sendBinary: (op, payload) => sendBinary(session, op, payload),
    sendJson: (op, d) => send(session, { op, d }),
  });

  const closeWs = (ws: WebSocket | null, code: number, reason: string) => {
    if (ws && ws.readyState === ws.OPEN) ws.close(code, reason);
  };

  const announceExisting = (session: VoiceSession) => {
    const others = options.usersInChannel(session.channelId).filter((id) => id !== session.userId);
    if (others.length > 0) send(session, { op: VoiceOpcodes.ClientsConnect, d: { user_ids: others } });
    for (const userId of others) {
      const ssrc = options.speakerSsrc(userId);
      if (ssrc !== null && !session.announced.has(userId)) {
        session.announced.add(userId);
        send(session, { op: VoiceOpcodes.Speaking, d: { user_id: userId, ssrc, speaking: 1 } });
      }
    }
  };

  wss.on('connection', (ws, req) => {
    const version = new URL(req.url ?? '/', 'https://127.0.0.1').searchParams.get('v');
    ws.send(JSON.stringify({ op: VoiceOpcodes.Hello, d: { v: Number(version ?? 8), heartbeat_interval: options.heartbeatIntervalMs } }));
    let session: VoiceSession | null = null;
    /** DAVE binary framing, client to server: `[u8 opcode][payload]`. */
    const onBinary = (current: VoiceSession | null, data: Buffer) => {
      const group = current ? daveGroup(current.channelId) : undefined;
      if (!current || !group || current.maxDave === 0) {
        closeWs(ws, VoiceCloseCodes.UnknownOpcode, 'binary opcodes need DAVE');
        return;
      }
      const op = data[0];
      const payload = data.subarray(1);
      log.add({ kind: 'voice-in', op: op ?? -1, d: { binary: payload.length } });
      if (op === VoiceOpcodes.DaveMlsKeyPackage) group.botKeyPackage(botLink(current), payload);
      else if (op === VoiceOpcodes.DaveMlsCommitWelcome) group.botCommit(current.userId, payload);
      else closeWs(ws, VoiceCloseCodes.UnknownOpcode, 'Unknown opcode');
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        onBinary(session, Buffer.isBuffer(data) ? data : Buffer.from(data as ArrayBuffer));
        return;
      }
      let packet: { op: number; d: Record<string, unknown> };
      try {
        packet = JSON.parse(wsText(data)) as typeof packet;
      } catch {
        closeWs(ws, VoiceCloseCodes.FailedToDecode, 'Failed to decode payload');
        return;
      }
      log.add({
        kind: 'voice-in',
        op: packet.op,
        d: packet.op === VoiceOpcodes.Identify || packet.op === VoiceOpcodes.Resume ? { ...packet.d, token: '[redacted]' } : packet.d,
      });
      const d = packet.d ?? {};
      switch (packet.op) {
        case VoiceOpcodes.Heartbeat:
          if (session) session.heartbeats += 1;
          ws.send(JSON.stringify({ op: VoiceOpcodes.HeartbeatAck, d: { t: d.t } }));
          return;
        case VoiceOpcodes.Identify: {
          if (session) return closeWs(ws, VoiceCloseCodes.AlreadyAuthenticated, 'Already authenticated');
          const candidate = sessions.get(String(d.server_id));
          if (!candidate || candidate.token !== d.token || candidate.sessionId !== d.session_id || candidate.userId !== d.user_id) {
            return closeWs(ws, VoiceCloseCodes.AuthenticationFailed, 'Authentication failed');
          }
          const maxDave = Number(d.max_dave_protocol_version ?? 0);
          if (options.dave.enabled && maxDave < options.dave.requiredVersion) {
            log.add({ kind: 'voice', event: 'dave-required', detail: { channelId: candidate.channelId, maxDave } });
            return closeWs(ws, DAVE_REQUIRED_CLOSE_CODE, 'E2EE/DAVE protocol required');
          }
          session = candidate;
          session.maxDave = maxDave;
          closeWs(session.ws, VoiceCloseCodes.SessionNoLongerValid, 'replaced');
          session.ws = ws;
          session.seq = 0;
          session.sent = [];
          session.announced.clear();
          session.secretKey = null;
          session.remote = null;
          session.ssrc = randomInt(1, 2 ** 31);
          send(session, {
            op: VoiceOpcodes.Ready,
            d: { ssrc: session.ssrc, ip: '127.0.0.1', port: udpPort, modes: MODES, heartbeat_interval: options.heartbeatIntervalMs },
          });
          log.add({
            kind: 'voice',
            event: 'identified',
            detail: { channelId: session.channelId, ssrc: session.ssrc, maxDave: d.max_dave_protocol_version },
          });
          return;
        }
        case VoiceOpcodes.Resume: {
          const candidate = sessions.get(String(d.server_id));
          if (!candidate || candidate.token !== d.token || candidate.sessionId !== d.session_id || !candidate.secretKey) {
            return closeWs(ws, VoiceCloseCodes.SessionNoLongerValid, 'Session no longer valid');
          }
          session = candidate;
          session.ws = ws;
          const after = Number(d.seq_ack ?? -1);
          for (const frame of session.sent.filter((f) => f.seq > after))
            ws.send(Buffer.isBuffer(frame.payload) ? frame.payload : JSON.stringify(frame.payload));
          send(session, { op: VoiceOpcodes.Resumed, d: null });
          log.add({ kind: 'voice', event: 'resumed', detail: { channelId: session.channelId, seqAck: after } });
          return;
        }
        default:
          break;
      }
      if (!session) return closeWs(ws, VoiceCloseCodes.NotAuthenticated, 'Not authenticated');
      if (packet.op === VoiceOpcodes.SelectProtocol) {
        const info = (d.data ?? {}) as { address?: string; port?: number; mode?: string };
        if (d.protocol !== 'udp' || typeof info.address !== 'string' || typeof info.port !== 'number') {
          return closeWs(ws, VoiceCloseCodes.UnknownProtocol, 'Unknown protocol');
        }
        if (!MODES.includes(info.mode as VoiceEncryptionMode))
          return closeWs(ws, VoiceCloseCodes.UnknownEncryptionMode, 'Unknown encryption mode');
        session.mode = info.mode ?? null;
        session.remote = { address: info.address, port: info.port };
        session.secretKey = randomBytes(32);
        session.nonce = 0;
        const daveVersion = options.dave.enabled && session.maxDave > 0 ? 1 : 0;
        send(session, {
          op: VoiceOpcodes.SessionDescription,
          d: {
            mode: session.mode,
            secret_key: [...session.secretKey],
            audio_codec: 'opus',
            video_codec: 'H264',
            media_session_id: randomBytes(16).toString('hex'),
            dave_protocol_version: daveVersion,
          },
        });
        log.add({
          kind: 'voice',
          event: 'session-description',
          detail: { channelId: session.channelId, mode: session.mode, remotePort: info.port, dave: daveVersion },
        });
        // @discordjs/voice handles DAVE's binary ops only once Ready (after op 4), so the package follows op 4.
        if (daveVersion > 0) {
          daveGroup(session.channelId)?.botConnected(botLink(session));
          sendBinary(session, VoiceOpcodes.DaveMlsExternalSender, externalSender.package());
        }
        announceExisting(session);
      } else if (packet.op === VoiceOpcodes.DaveTransitionReady && daveGroup(session.channelId)) {
        daveGroup(session.channelId)?.botReady(session.userId, Number(d.transition_id));
      } else if (packet.op === VoiceOpcodes.DaveMlsInvalidCommitWelcome && daveGroup(session.channelId)) {
        daveGroup(session.channelId)?.botInvalid(session.userId, Number(d.transition_id));
      } else if (packet.op !== VoiceOpcodes.Speaking) {
        closeWs(ws, VoiceCloseCodes.UnknownOpcode, 'Unknown opcode');
      }
    });
    ws.on('close', (code) => {
      if (session?.ws === ws) {
        session.ws = null;
        log.add({ kind: 'voice', event: 'socket-closed', detail: { code } });
      }
    });
  });

  return {
    endpoint: `127.0.0.1:${httpsAddress.port}`,
    bound: { tls: { address: httpsAddress.address, port: httpsAddress.port }, udp: { address: udp.address().address, port: udpPort } },
    udpPort,
    allocate(input) {
      const previous = sessions.get(input.guildId);
      closeWs(previous?.ws ?? null, VoiceCloseCodes.SessionNoLongerValid, 'new voice server');
      const session: VoiceSession = {
        ...input,
        token: randomBytes(8).toString('hex'),
        ssrc: 0,
        secretKey: null,
        mode: null,
        remote: null,
        ws: null,
        seq: 0,
        sent: [],
        announced: new Set(),
        nonce: 0,
        heartbeats: 0,
        maxDave: 0,
      };
      if (previous && previous.channelId !== input.channelId) daveGroup(previous.channelId)?.remove(previous.userId);
      sessions.set(input.guildId, session);
      return session;
    },
    update(guildId, change) {
      const session = sessions.get(guildId);
      if (!session) return;
      if (change.selfDeaf !== undefined) session.selfDeaf = change.selfDeaf;
      if (change.channelId !== undefined && change.channelId !== session.channelId) {
        daveGroup(session.channelId)?.remove(session.userId);
        session.channelId = change.channelId;
        session.announced.clear();
        if (session.secretKey) announceExisting(session);
      }
    },
    release(guildId) {
      const session = sessions.get(guildId);
      if (!session) return;
      sessions.delete(guildId);
      daveGroup(session.channelId)?.remove(session.userId);
      closeWs(session.ws, VoiceCloseCodes.Disconnected, 'Disconnected');
    },
    readySessionsIn: (channelId) =>
      [...sessions.values()].filter((s) => s.channelId === channelId && s.secretKey !== null && s.remote !== null),
    session: (guildId) => sessions.get(guildId),
    send,
    daveGroup,
    sendUdp(session, packet) {
      if (session.remote) udp.send(packet, session.remote.port, session.remote.address);
    },
    announce(channelId, userId, ssrc) {
      for (const session of sessions.values()) {
        if (session.channelId !== channelId || session.secretKey === null || session.announced.has(userId)) continue;
        session.announced.add(userId);
        send(session, { op: VoiceOpcodes.Speaking, d: { user_id: userId, ssrc, speaking: 1 } });
      }
    },
    clientConnect(channelId, userId) {
      for (const session of sessions.values()) {
        if (session.channelId === channelId && session.secretKey !== null)
          send(session, { op: VoiceOpcodes.ClientsConnect, d: { user_ids: [userId] } });
      }
    },
    clientDisconnect(channelId, userId) {
      for (const session of sessions.values()) {
        if (session.channelId !== channelId || session.secretKey === null) continue;
        session.announced.delete(userId);
        send(session, { op: VoiceOpcodes.ClientDisconnect, d: { user_id: userId } });
      }
    },
    disconnect(guildId, how) {
      const session = sessions.get(guildId);
      if (!session?.ws) throw new Error('discord-sim: the bot has no open voice socket to disconnect');
      log.add({ kind: 'voice', event: 'forced-disconnect', detail: { how, guildId } });
      if (how === 'drop') session.ws.terminate();
      else {
        if (how === VoiceCloseCodes.SessionNoLongerValid) session.secretKey = null;
        session.ws.close(how, 'forced by discord-sim');
      }
    },
    close: async () => {
      for (const group of groups.values()) group.close();
      for (const client of wss.clients) client.terminate();
      wss.close();
      udp.close();
      await closeServer(https);
    },
  };
}
