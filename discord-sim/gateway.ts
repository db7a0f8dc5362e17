import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import { GatewayCloseCodes, GatewayIntentBits, GatewayOpcodes } from 'discord-api-types/v10';
import type { World, WorldDispatch } from './world.ts';
import type { SimLog } from './log.ts';
import { wsText } from './ws-text.ts';
import { closeServer, listen } from './rest.ts';

/** What the bot asked for with op 4 (Update Voice State). */
export interface VoiceStateRequest {
  sessionId: string;
  guildId: string;
  channelId: string | null;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface GatewayOptions {
  world: World;
  log: SimLog;
  token: string;
  heartbeatIntervalMs: number;
  /** Privileged intents the application has been granted in the developer portal. */
  privilegedIntents: number;
  onVoiceStateRequest: (request: VoiceStateRequest) => void;
}

const PRIVILEGED = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** Sessions outlive their socket so that op 6 Resume can replay what was missed. */
interface Session {
  id: string;
  intents: number;
  seq: number;
  sent: { s: number; t: string; d: unknown }[];
  socket: GatewaySocket | null;
}

/**
 * One connection. Frames go out through a queue so that zlib-stream compression (one deflate context for the
 * whole connection, flushed with Z_SYNC_FLUSH per message) keeps the order of payloads.
 */
class GatewaySocket {
  readonly ws: WebSocket;
  session: Session | null = null;
  private deflate: zlib.Deflate | null;
  identifyCompress = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(ws: WebSocket, compress: boolean) {
    this.ws = ws;
    this.deflate = compress ? zlib.createDeflate() : null;
  }

  send(payload: unknown): void {
    const json = JSON.stringify(payload);
    this.queue = this.queue.then(async () => {
      if (this.ws.readyState !== this.ws.OPEN) return;
      if (this.deflate) this.ws.send(await flushDeflate(this.deflate, json));
      else if (this.identifyCompress) this.ws.send(zlib.deflateSync(json));
      else this.ws.send(json);
    });
  }

  close(code: number, reason = ''): void {
    this.queue = this.queue.then(() => {
      if (this.ws.readyState === this.ws.OPEN) this.ws.close(code, reason);
    });
  }
}

function flushDeflate(deflate: zlib.Deflate, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    deflate.on('data', onData);
    deflate.write(text, (error) => {
      if (error) reject(error);
    });
    deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      deflate.off('data', onData);
      resolve(Buffer.concat(chunks));
    });
  });
}

export interface Gateway {
  url: string;
  bound: { address: string; port: number };
  /** Gateway session id of the bot's current session (also its voice session id). */
  currentSessionId(): string | null;
  /** Sends op 7 Reconnect: the client must reconnect and resume. */
  requestReconnect(): void;
  /** Closes every socket with `code` (4000 Unknown error is resumable; 4004 is not). */
  dropConnections(code?: number): void;
  connectedSessions(): number;
  close(): Promise<void>;
}

export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const { world, log } = options;
  const server: Server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ server });
  const sessions = new Map<string, Session>();
  await listen(server);
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('discord-sim: gateway has no port');
  const url = `ws://127.0.0.1:${address.port}`;

  const dispatchTo = (session: Session, t: string, d: unknown) => {
    session.seq += 1;
    const frame = { s: session.seq, t, d };
    session.sent.push(frame);
    if (session.sent.length > 5000) session.sent.shift();
    log.add({ kind: 'gateway-out', t, d });
    session.socket?.send({ op: GatewayOpcodes.Dispatch, ...frame });
  };

  const onWorldDispatch = (event: WorldDispatch) => {
    for (const session of sessions.values()) {
      if (event.intent === null || (session.intents & event.intent) !== 0) dispatchTo(session, event.t, event.d);
    }
  };
  world.on('dispatch', onWorldDispatch);

  wss.on('connection', (ws, req) => {
    const params = new URL(req.url ?? '/', url).searchParams;
    if (params.get('encoding') && params.get('encoding') !== 'json') {
      ws.close(GatewayCloseCodes.DecodeError, 'only json encoding is simulated');
      return;
    }
    if (params.get('v') && params.get('v') !== '10') {
      ws.close(GatewayCloseCodes.InvalidAPIVersion, 'Invalid API version');
      return;
    }
    const socket = new GatewaySocket(ws, params.get('compress') === 'zlib-stream');
    socket.send({ op: GatewayOpcodes.Hello, d: { heartbeat_interval: options.heartbeatIntervalMs }, s: null, t: null });

    ws.on('message', (data) => {
      let packet: { op: number; d: Record<string, unknown> | null };
      try {
        packet = JSON.parse(wsText(data)) as typeof packet;
      } catch {
        socket.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
        return;
      }
      log.add({
        kind: 'gateway-in',
        op: packet.op,
        d: packet.op === GatewayOpcodes.Identify ? { ...packet.d, token: '[redacted]' } : packet.d,
      });
      onPacket(socket, packet.op, packet.d ?? {});
    });
    ws.on('close', () => {
      if (socket.session?.socket === socket) socket.session.socket = null;
    });
  });

  const onPacket = (socket: GatewaySocket, op: number, d: Record<string, unknown>) => {
    switch (op) {
      case GatewayOpcodes.Heartbeat:
        socket.send({ op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
        return;
      case GatewayOpcodes.Identify: {
        if (socket.session) return socket.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
        if (d.token !== options.token && d.token !== `Bot ${options.token}`)
          return socket.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
        const intents = Number(d.intents);
        if (!Number.isInteger(intents) || intents < 0) return socket.close(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
        if ((intents & PRIVILEGED & ~options.privilegedIntents) !== 0)
          return socket.close(GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
        socket.identifyCompress = d.compress === true;
        const session: Session = { id: randomBytes(16).toString('hex'), intents, seq: 0, sent: [], socket };
        socket.session = session;
        sessions.clear(); // one shard: a new identify replaces any older session
        sessions.set(session.id, session);
        dispatchTo(session, 'READY', {
          v: 10,
          user: { ...world.apiUser(world.bot.id), verified: true, mfa_enabled: false, flags: 0 },
          guilds: [...world.guilds.keys()].map((id) => ({ id, unavailable: true })),
          session_id: session.id,
          resume_gateway_url: url,
          shard: [0, 1],
          application: { id: world.applicationId, flags: 0 },
          private_channels: [],
          presences: [],
          relationships: [],
          guild_join_requests: [],
          user_settings: {},
          auth: {},
          session_type: 'normal',
          geo_ordered_rtc_regions: ['local'],
        });
        if ((intents & GatewayIntentBits.Guilds) !== 0)
          for (const guildId of world.guilds.keys()) dispatchTo(session, 'GUILD_CREATE', world.guildCreatePayload(guildId));
        return;
      }
      case GatewayOpcodes.Resume: {
        const session = sessions.get(String(d.session_id));
        if (!session || (d.token !== options.token && d.token !== `Bot ${options.token}`)) {
          socket.send({ op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
          return;
        }
        socket.session = session;
        session.socket = socket;
        const after = Number(d.seq ?? 0);
        for (const frame of session.sent.filter((f) => f.s > after)) socket.send({ op: GatewayOpcodes.Dispatch, ...frame });
        dispatchTo(session, 'RESUMED', null);
        return;
      }
      default:
        break;
    }
    if (!socket.session) {
      socket.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
      return;
    }
    if (op === GatewayOpcodes.VoiceStateUpdate) {
      options.onVoiceStateRequest({
        sessionId: socket.session.id,
        guildId: String(d.guild_id),
        channelId: typeof d.channel_id === 'string' ? d.channel_id : null,
        selfMute: Boolean(d.self_mute),
        selfDeaf: Boolean(d.self_deaf),
      });
    } else if (op === GatewayOpcodes.RequestGuildMembers) {
      const guild = world.guilds.get(String(d.guild_id));
      if (!guild) return;
      const ids = Array.isArray(d.user_ids) ? d.user_ids.map(String) : [...guild.members.keys()];
      dispatchTo(socket.session, 'GUILD_MEMBERS_CHUNK', {
        guild_id: guild.id,
        members: ids.filter((id) => guild.members.has(id)).map((id) => world.apiMember(id, guild.id)),
        chunk_index: 0,
        chunk_count: 1,
        not_found: ids.filter((id) => !guild.members.has(id)),
        nonce: d.nonce,
      });
    } else if (op !== GatewayOpcodes.PresenceUpdate) {
      socket.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
    }
  };

  const sockets = () => [...sessions.values()].map((s) => s.socket).filter((s): s is GatewaySocket => s !== null);

  return {
    url,
    bound: { address: address.address, port: address.port },
    currentSessionId: () => [...sessions.keys()][0] ?? null,
    requestReconnect: () => {
      for (const socket of sockets()) socket.send({ op: GatewayOpcodes.Reconnect, d: null, s: null, t: null });
    },
    dropConnections: (code = GatewayCloseCodes.UnknownError) => {
      for (const socket of sockets()) socket.close(code, 'dropped by discord-sim');
    },
    connectedSessions: () => sockets().length,
    close: async () => {
      world.off('dispatch', onWorldDispatch);
      for (const client of wss.clients) client.terminate();
      wss.close();
      await closeServer(server);
    },
  };
}
