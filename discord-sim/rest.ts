import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { ChannelType, InteractionResponseType, MessageFlags, type APIMessage } from 'discord-api-types/v10';
import type { World, StoredMessage } from './world.ts';
import { emojiFromKey } from './world.ts';
import type { CommandRegistry, InteractionRecord } from './interactions.ts';
import { INITIAL_RESPONSE_MS, modalInputs, TOKEN_LIFETIME_MS } from './interactions.ts';
import type { SimLog } from './log.ts';

/** Discord's JSON error body (https://discord.com/developers/docs/topics/opcodes-and-status-codes#json). */
class DiscordHttpError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors: unknown;
  constructor(status: number, code: number, message: string, errors?: unknown) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
  }
}

const unknownChannel = () => new DiscordHttpError(404, 10003, 'Unknown Channel');
const unknownMessage = () => new DiscordHttpError(404, 10008, 'Unknown Message');
const missingPermissions = () => new DiscordHttpError(403, 50013, 'Missing Permissions');
const missingAccess = () => new DiscordHttpError(403, 50001, 'Missing Access');
const unknownInteraction = () => new DiscordHttpError(404, 10062, 'Unknown interaction');
const unknownWebhook = () => new DiscordHttpError(404, 10015, 'Unknown Webhook');

export interface RestContext {
  world: World;
  commands: CommandRegistry;
  interactions: Map<string, InteractionRecord>;
  log: SimLog;
  token: string;
  gatewayUrl: () => string;
  rateLimit: { limit: number; windowMs: number };
}

interface Request {
  params: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
  files: { name: string; size: number }[];
  note: { channelId?: string; userId?: string; interactionId?: string };
}
interface Reply {
  status: number;
  body?: unknown;
}
type Handler = (req: Request) => Reply | Promise<Reply>;
interface Route {
  method: string;
  template: string;
  /** The template split on `/`: a literal segment, or `:name` capturing one decoded segment. */
  segments: string[];
  auth: boolean;
  handler: Handler;
}

const ok = (body: unknown): Reply => ({ status: 200, body });
const noContent = (): Reply => ({ status: 204 });

/** A stretch of time in which some routes answer 429 whatever their bucket says (sim.rateLimitBurst). */
export interface RateLimitBurst {
  forMs: number;
  /** `retry_after` of each 429. Default 1000 ms. */
  retryAfterMs?: number;
  /** Route templates' prefixes, e.g. `['/channels/']`. Default: every authenticated route. */
  routes?: readonly string[];
}

export interface RestServer {
  url: string;
  bound: { address: string; port: number };
  rateLimitBurst(burst: RateLimitBurst): void;
  close(): Promise<void>;
}

interface ActiveBurst {
  untilMs: number;
  retryAfterMs: number;
  routes: readonly string[] | undefined;
}

export async function startRest(ctx: RestContext): Promise<RestServer> {
  const routes = buildRoutes(ctx);
  const buckets = new Map<string, { resetAt: number; used: number }>();
  let bursts: ActiveBurst[] = [];
  const burstFor = (route: Route, now: number): ActiveBurst | undefined => {
    bursts = bursts.filter((b) => b.untilMs > now);
    return route.auth ? bursts.find((b) => b.routes?.some((prefix) => route.template.startsWith(prefix)) ?? true) : undefined;
  };
  const server = createServer((req, res) => {
    handle(ctx, routes, buckets, burstFor, req, res).catch((error: unknown) => {
      // A bug in the stand-in must be loud: answer 500 and log it so the failing test shows why.
      console.error('discord-sim REST handler crashed', error);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: '500: Internal Server Error', code: 0 }));
    });
  });
  await listen(server);
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('discord-sim: REST server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/api`,
    bound: { address: address.address, port: address.port },
    rateLimitBurst(burst) {
      bursts.push({ untilMs: Date.now() + burst.forMs, retryAfterMs: burst.retryAfterMs ?? 1000, routes: burst.routes });
      ctx.log.add({ kind: 'rest-burst', forMs: burst.forMs, retryAfterMs: burst.retryAfterMs ?? 1000, routes: burst.routes ?? null });
    },
    close: () => closeServer(server),
  };
}

async function handle(
  ctx: RestContext,
  routes: Route[],
  buckets: Map<string, { resetAt: number; used: number }>,
  burstFor: (route: Route, now: number) => ActiveBurst | undefined,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const segments = decodeSegments(url.pathname.replace(/^\/api/, '').replace(/^\/v\d+/, ''));
  const path = segments.join('/');
  const method = req.method ?? 'GET';
  const raw = await readBody(req);
  const query: Record<string, string> = Object.fromEntries(url.searchParams);
  const matched = matchRoute(routes, method, segments);
  const route = matched?.route;
  let reply: Reply;
  const request: Request = { params: matched?.params ?? {}, query: url.searchParams, body: {}, files: [], note: {} };
  const bucketKey = route ? `${method} ${route.template} ${majorParameter(path)}` : `${method} unknown`;
  const now = Date.now();
  const burst = route ? burstFor(route, now) : undefined;
  // In a burst the answer is the shared limit's: nothing left, retry after the burst's delay.
  const bucket = burst
    ? { remaining: 0, resetAt: now + burst.retryAfterMs, resetAfter: burst.retryAfterMs / 1000, limited: true }
    : takeFromBucket(buckets, bucketKey, ctx.rateLimit, now);
  try {
    if (!route) throw new DiscordHttpError(404, 0, '404: Not Found');
    if (route.auth && req.headers.authorization !== `Bot ${ctx.token}`) throw new DiscordHttpError(401, 0, '401: Unauthorized');
    if (bucket.limited) {
      reply = { status: 429, body: { message: 'You are being rate limited.', retry_after: bucket.resetAfter, global: false } };
    } else {
      Object.assign(request, await parseBody(req.headers['content-type'], raw));
      reply = await route.handler(request);
    }
  } catch (error) {
    if (!(error instanceof DiscordHttpError)) throw error;
    reply = { status: error.status, body: { message: error.message, code: error.code, ...(error.errors ? { errors: error.errors } : {}) } };
  }
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(ctx.rateLimit.limit),
    'x-ratelimit-remaining': String(bucket.remaining),
    'x-ratelimit-reset': (bucket.resetAt / 1000).toFixed(3),
    'x-ratelimit-reset-after': bucket.resetAfter.toFixed(3),
    'x-ratelimit-bucket': createHash('sha1')
      .update(route?.template ?? 'unknown')
      .digest('hex')
      .slice(0, 16),
  };
  if (reply.status === 429) {
    headers['retry-after'] = String(Math.ceil(bucket.resetAfter));
    headers['x-ratelimit-scope'] = burst ? 'shared' : 'user';
  }
  ctx.log.add({
    kind: 'rest',
    method,
    route: route?.template ?? path,
    path,
    query,
    body: request.body,
    files: request.files,
    status: reply.status,
    response: reply.body,
    ...request.note,
  });
  if (reply.body === undefined) {
    res.writeHead(reply.status, headers);
    res.end();
  } else {
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  }
}

/**
 * Discord routes on percent-decoded path segments: @discordjs/rest sends `@me` as `%40me` and emoji as
 * `%E2%9C%85`, and an encoded `/` (`%2F`) stays inside its segment instead of starting a new one. So the
 * path is split first and each segment decoded on its own.
 */
function decodeSegments(path: string): string[] {
  return path.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment; // malformed escapes stay as sent and simply match no literal segment
    }
  });
}

function matchRoute(routes: Route[], method: string, segments: string[]): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method || route.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const fits = route.segments.every((part, i) => {
      const actual = segments[i] ?? '';
      if (!part.startsWith(':')) return part === actual;
      params[part.slice(1)] = actual;
      return actual.length > 0;
    });
    if (fits) return { route, params };
  }
  return undefined;
}

/** Discord buckets per route and per "major parameter" (channel, guild, webhook). */
function majorParameter(path: string): string {
  return /^\/(?:channels|guilds|webhooks)\/(\d+)/.exec(path)?.[1] ?? '';
}

function takeFromBucket(
  buckets: Map<string, { resetAt: number; used: number }>,
  key: string,
  limits: { limit: number; windowMs: number },
  now: number,
): { remaining: number; resetAt: number; resetAfter: number; limited: boolean } {
  let bucket = buckets.get(key);
  if (!bucket || bucket.resetAt <= now) {
    bucket = { resetAt: now + limits.windowMs, used: 0 };
    buckets.set(key, bucket);
  }
  const limited = bucket.used >= limits.limit;
  if (!limited) bucket.used += 1;
  return {
    remaining: Math.max(0, limits.limit - bucket.used),
    resetAt: bucket.resetAt,
    resetAfter: (bucket.resetAt - now) / 1000,
    limited,
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** JSON bodies, or multipart with `payload_json` + `files[n]` as discord.js sends attachments. */
async function parseBody(contentType: string | undefined, raw: Buffer): Promise<Pick<Request, 'body' | 'files'>> {
  if (raw.length === 0) return { body: {}, files: [] };
  if (contentType?.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
    const files: { name: string; size: number }[] = [];
    let body: Record<string, unknown> = {};
    for (const [key, value] of form) {
      if (key === 'payload_json' && typeof value === 'string') body = JSON.parse(value) as Record<string, unknown>;
      else if (typeof value !== 'string') files.push({ name: value.name, size: value.size });
    }
    return { body, files };
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>, files: [] };
  } catch {
    throw new DiscordHttpError(400, 50109, 'The request body contains invalid JSON.');
  }
}

function compile(method: string, template: string, handler: Handler, auth = true): Route {
  return { method, template, segments: template.split('/'), auth, handler };
}

function buildRoutes(ctx: RestContext): Route[] {
  const { world } = ctx;
  const botId = world.bot.id;

  const channelOf = (id: string) => {
    const channel = world.channels.get(id);
    if (!channel) throw unknownChannel();
    if (channel.type === ChannelType.DM && channel.recipientId === null) throw unknownChannel();
    if (channel.type !== ChannelType.DM && !world.can(botId, id, 'ViewChannel')) throw missingAccess();
    return channel;
  };
  const messageOf = (channelId: string, messageId: string): StoredMessage => {
    channelOf(channelId);
    const stored = world.messages.get(messageId);
    if (!stored || stored.message.channel_id !== channelId || stored.ephemeral) throw unknownMessage();
    return stored;
  };
  const validateMessageBody = (body: Record<string, unknown>, files: unknown[]) => {
    const content = typeof body.content === 'string' ? body.content : '';
    if (content.length > 2000) {
      throw new DiscordHttpError(400, 50035, 'Invalid Form Body', {
        content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] },
      });
    }
    const hasSomething =
      content.length > 0 ||
      (Array.isArray(body.embeds) && body.embeds.length > 0) ||
      (Array.isArray(body.components) && body.components.length > 0) ||
      files.length > 0 ||
      body.poll !== undefined;
    if (!hasSomething) throw new DiscordHttpError(400, 50006, 'Cannot send an empty message');
  };
  const interactionByToken = (applicationId: string, token: string): InteractionRecord => {
    const record = [...ctx.interactions.values()].find((i) => i.token === token);
    if (applicationId !== world.applicationId || !record || Date.now() - record.createdAt > TOKEN_LIFETIME_MS) throw unknownWebhook();
    return record;
  };
  const originalOf = (record: InteractionRecord): StoredMessage => {
    const stored = record.originalMessageId ? world.messages.get(record.originalMessageId) : undefined;
    if (!stored) throw unknownMessage();
    return stored;
  };
  const webhookMessage = (record: InteractionRecord, messageId: string): StoredMessage => {
    if (messageId === '@original') return originalOf(record);
    const stored = world.messages.get(messageId);
    if (!stored || stored.message.channel_id !== record.channelId || stored.message.webhook_id !== world.applicationId)
      throw unknownMessage();
    return stored;
  };
  const guildOf = (guildId: string) => {
    const guild = world.guilds.get(guildId);
    if (!guild) throw new DiscordHttpError(404, 10004, 'Unknown Guild');
    return guild;
  };
  const ownMessage = (stored: StoredMessage) => {
    if (stored.message.author.id !== botId) throw new DiscordHttpError(403, 50005, 'Cannot edit a message authored by another user');
  };
  const reactionKey = (raw: string): string => {
    const key = raw;
    if (key.length === 0) throw new DiscordHttpError(400, 10014, 'Unknown Emoji');
    if (emojiFromKey(key).id !== null) throw new DiscordHttpError(400, 10014, 'Unknown Emoji');
    return key;
  };
  const commandsScope = (req: Request): string => {
    if (req.params.app !== world.applicationId) throw new DiscordHttpError(404, 10002, 'Unknown Application');
    if (req.params.guild !== undefined) guildOf(req.params.guild);
    return req.params.guild ?? 'global';
  };
  const applicationObject = () => ({
    id: world.applicationId,
    name: world.bot.username,
    icon: null,
    description: '',
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    team: null,
    owner: world.apiUser(world.ownerId),
    bot: world.apiUser(botId),
    approximate_guild_count: world.guilds.size,
  });

  return [
    compile('GET', '/gateway', () => ok({ url: ctx.gatewayUrl() }), false),
    compile('GET', '/gateway/bot', () =>
      ok({
        url: ctx.gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      }),
    ),
    compile('GET', '/users/@me', () => ok({ ...world.apiUser(botId), verified: true, mfa_enabled: false, flags: 0 })),
    compile('GET', '/users/:user', (req) => {
      if (!world.users.has(req.params.user ?? '')) throw new DiscordHttpError(404, 10013, 'Unknown User');
      return ok(world.apiUser(req.params.user ?? ''));
    }),
    compile('GET', '/applications/@me', () => ok(applicationObject())),
    compile('GET', '/oauth2/applications/@me', () => ok(applicationObject())),

    compile('GET', '/applications/:app/commands', (req) => ok(ctx.commands.list(commandsScope(req)))),
    compile('PUT', '/applications/:app/commands', (req) => ok(ctx.commands.put(commandsScope(req), asArray(req.body)))),
    compile('POST', '/applications/:app/commands', (req) => ({
      status: 201,
      body: ctx.commands.add(commandsScope(req), req.body as never),
    })),
    compile('GET', '/applications/:app/guilds/:guild/commands', (req) => ok(ctx.commands.list(commandsScope(req)))),
    compile('PUT', '/applications/:app/guilds/:guild/commands', (req) => ok(ctx.commands.put(commandsScope(req), asArray(req.body)))),
    compile('POST', '/applications/:app/guilds/:guild/commands', (req) => ({
      status: 201,
      body: ctx.commands.add(commandsScope(req), req.body as never),
    })),

    compile(
      'POST',
      '/interactions/:id/:token/callback',
      (req) => {
        const record = ctx.interactions.get(req.params.id ?? '');
        if (!record || record.token !== req.params.token) throw unknownInteraction();
        req.note = { interactionId: record.id, channelId: record.channelId, userId: record.userId };
        if (Date.now() - record.createdAt > INITIAL_RESPONSE_MS) throw unknownInteraction();
        if (record.responded) throw new DiscordHttpError(400, 40060, 'Interaction has already been acknowledged.');
        const type = Number(req.body.type);
        const data = (req.body.data ?? {}) as Record<string, unknown>;
        const flags = typeof data.flags === 'number' ? data.flags : 0;
        let message: StoredMessage | null = null;
        if (type === InteractionResponseType.ChannelMessageWithSource) {
          validateMessageBody(data, req.files);
          message = createInteractionMessage(ctx, record, data, flags);
        } else if (type === InteractionResponseType.DeferredChannelMessageWithSource) {
          message = createInteractionMessage(ctx, record, { flags: flags | MessageFlags.Loading }, flags | MessageFlags.Loading);
        } else if (
          type !== InteractionResponseType.Modal &&
          type !== InteractionResponseType.DeferredMessageUpdate &&
          type !== InteractionResponseType.UpdateMessage
        ) {
          throw new DiscordHttpError(400, 50035, 'Invalid Form Body', {
            type: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: `Value must be one of valid callback types.` }] },
          });
        }
        record.responded = true;
        record.callbackType = type;
        if (type === InteractionResponseType.Modal) {
          const text = (v: unknown) => (typeof v === 'string' ? v : '');
          record.modal = { customId: text(data.custom_id), title: text(data.title), inputs: modalInputs(data.components) };
        }
        if (message) {
          record.originalMessageId = message.message.id;
          record.ephemeral = (flags & MessageFlags.Ephemeral) !== 0;
        }
        if (req.query.get('with_response') !== 'true') return noContent();
        return ok({
          interaction: {
            id: record.id,
            type: 2,
            response_message_id: message?.message.id,
            response_message_loading: type === InteractionResponseType.DeferredChannelMessageWithSource,
            response_message_ephemeral: record.ephemeral,
          },
          resource: {
            type,
            ...(message && type === InteractionResponseType.ChannelMessageWithSource ? { message: world.messageView(message) } : {}),
          },
        });
      },
      false,
    ),

    compile(
      'GET',
      '/webhooks/:app/:token/messages/:message',
      (req) => {
        const record = interactionByToken(req.params.app ?? '', req.params.token ?? '');
        req.note = { interactionId: record.id, channelId: record.channelId };
        return ok(world.messageView(webhookMessage(record, req.params.message ?? '')));
      },
      false,
    ),
    compile(
      'PATCH',
      '/webhooks/:app/:token/messages/:message',
      (req) => {
        const record = interactionByToken(req.params.app ?? '', req.params.token ?? '');
        req.note = { interactionId: record.id, channelId: record.channelId, userId: record.userId };
        const stored = webhookMessage(record, req.params.message ?? '');
        const flags = (typeof stored.message.flags === 'number' ? stored.message.flags : 0) & ~MessageFlags.Loading;
        world.editMessage(stored, { ...req.body, flags });
        return ok(world.messageView(stored));
      },
      false,
    ),
    compile(
      'DELETE',
      '/webhooks/:app/:token/messages/:message',
      (req) => {
        const record = interactionByToken(req.params.app ?? '', req.params.token ?? '');
        req.note = { interactionId: record.id, channelId: record.channelId };
        world.deleteMessage(webhookMessage(record, req.params.message ?? ''));
        return noContent();
      },
      false,
    ),
    compile(
      'POST',
      '/webhooks/:app/:token',
      (req) => {
        const record = interactionByToken(req.params.app ?? '', req.params.token ?? '');
        req.note = { interactionId: record.id, channelId: record.channelId, userId: record.userId };
        if (!record.responded) throw unknownWebhook();
        validateMessageBody(req.body, req.files);
        const flags = typeof req.body.flags === 'number' ? req.body.flags : 0;
        const stored = createInteractionMessage(ctx, record, req.body, flags);
        return ok(world.messageView(stored));
      },
      false,
    ),

    compile('GET', '/channels/:channel', (req) => {
      channelOf(req.params.channel ?? '');
      req.note = { channelId: req.params.channel };
      return ok(world.apiChannel(req.params.channel ?? ''));
    }),
    compile('GET', '/channels/:channel/messages', (req) => {
      const channelId = req.params.channel ?? '';
      channelOf(channelId);
      if (!world.can(botId, channelId, 'ReadMessageHistory')) throw missingPermissions();
      req.note = { channelId };
      const limit = Math.min(100, Number(req.query.get('limit') ?? 50));
      const all = [...world.messages.values()].filter((m) => m.message.channel_id === channelId && !m.ephemeral).reverse();
      return ok(all.slice(0, limit).map((m) => world.messageView(m)));
    }),
    compile('POST', '/channels/:channel/messages', (req) => {
      const channelId = req.params.channel ?? '';
      const channel = channelOf(channelId);
      req.note = { channelId, ...(channel.recipientId ? { userId: channel.recipientId } : {}) };
      if (channel.type === ChannelType.DM) {
        if (world.requireUser(channel.recipientId ?? '').dmsClosed)
          throw new DiscordHttpError(403, 50007, 'Cannot send messages to this user');
      } else if (!world.can(botId, channelId, 'SendMessages')) throw missingPermissions();
      validateMessageBody(req.body, req.files);
      const stored = world.createMessage({ channelId, authorId: botId, body: req.body });
      return ok(world.messageView(stored));
    }),
    compile('GET', '/channels/:channel/messages/:message', (req) => {
      req.note = { channelId: req.params.channel };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      if (!world.can(botId, stored.message.channel_id, 'ReadMessageHistory')) throw missingPermissions();
      return ok(world.messageView(stored));
    }),
    compile('PATCH', '/channels/:channel/messages/:message', (req) => {
      req.note = { channelId: req.params.channel };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      ownMessage(stored);
      world.editMessage(stored, req.body);
      return ok(world.messageView(stored));
    }),
    compile('DELETE', '/channels/:channel/messages/:message', (req) => {
      req.note = { channelId: req.params.channel };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      if (stored.message.author.id !== botId && !world.can(botId, stored.message.channel_id, 'ManageMessages')) throw missingPermissions();
      world.deleteMessage(stored);
      return noContent();
    }),
    compile('PUT', '/channels/:channel/messages/:message/reactions/:emoji/@me', (req) => {
      req.note = { channelId: req.params.channel, userId: botId };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      const key = reactionKey(req.params.emoji ?? '');
      const exists = (stored.reactions.get(key)?.length ?? 0) > 0;
      if (!world.can(botId, stored.message.channel_id, 'ReadMessageHistory')) throw missingPermissions();
      if (!exists && !world.can(botId, stored.message.channel_id, 'AddReactions')) throw missingPermissions();
      world.addReaction(stored, key, botId);
      return noContent();
    }),
    compile('DELETE', '/channels/:channel/messages/:message/reactions/:emoji/:user', (req) => {
      const userId = req.params.user === '@me' ? botId : (req.params.user ?? '');
      req.note = { channelId: req.params.channel, userId };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      if (userId !== botId && !world.can(botId, stored.message.channel_id, 'ManageMessages')) throw missingPermissions();
      world.removeReaction(stored, reactionKey(req.params.emoji ?? ''), userId);
      return noContent();
    }),
    compile('GET', '/channels/:channel/messages/:message/reactions/:emoji', (req) => {
      req.note = { channelId: req.params.channel };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      const users = stored.reactions.get(reactionKey(req.params.emoji ?? '')) ?? [];
      const after = req.query.get('after');
      const limit = Math.min(100, Number(req.query.get('limit') ?? 25));
      const ids = after ? users.filter((id) => BigInt(id) > BigInt(after)) : users;
      return ok(
        [...ids]
          .sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
          .slice(0, limit)
          .map((id) => world.apiUser(id)),
      );
    }),
    compile('DELETE', '/channels/:channel/messages/:message/reactions', (req) => {
      req.note = { channelId: req.params.channel };
      const stored = messageOf(req.params.channel ?? '', req.params.message ?? '');
      if (!world.can(botId, stored.message.channel_id, 'ManageMessages')) throw missingPermissions();
      for (const [key, users] of stored.reactions) for (const user of [...users]) world.removeReaction(stored, key, user);
      return noContent();
    }),
    compile('POST', '/channels/:channel/typing', (req) => {
      channelOf(req.params.channel ?? '');
      return noContent();
    }),
    compile('PUT', '/channels/:channel/voice-status', (req) => {
      const channelId = req.params.channel ?? '';
      const channel = channelOf(channelId);
      req.note = { channelId };
      if (channel.type !== ChannelType.GuildVoice) throw new DiscordHttpError(400, 50024, 'Cannot execute action on this channel type');
      const connected = world.voiceStateOf(botId, channel.guildId ?? undefined)?.channelId === channelId;
      if (!world.can(botId, channelId, 'ManageChannels') && !(connected && world.can(botId, channelId, 'SetVoiceChannelStatus')))
        throw missingPermissions();
      channel.status = typeof req.body.status === 'string' && req.body.status.length > 0 ? req.body.status : null;
      world.dispatch('VOICE_CHANNEL_STATUS_UPDATE', { id: channelId, guild_id: channel.guildId, status: channel.status }, 1);
      return noContent();
    }),
    compile('POST', '/users/@me/channels', (req) => {
      const recipient = String((req.body.recipient_id as string | undefined) ?? '');
      if (!world.users.has(recipient))
        throw new DiscordHttpError(400, 50035, 'Invalid Form Body', {
          recipient_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Unknown user' }] },
        });
      req.note = { userId: recipient };
      const channelId = world.dmChannelFor(recipient);
      req.note.channelId = channelId;
      return ok(world.apiChannel(channelId));
    }),

    compile('GET', '/guilds/:guild', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      return ok({
        ...world.apiGuild(guild.id),
        ...(req.query.get('with_counts') === 'true' ? { approximate_member_count: guild.members.size, approximate_presence_count: 0 } : {}),
      });
    }),
    compile('GET', '/guilds/:guild/channels', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      return ok(world.guildChannels(guild.id).map((c) => world.apiChannel(c.id)));
    }),
    compile('GET', '/guilds/:guild/roles', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      return ok([...guild.roles.keys()].map((id) => world.apiRole(id, guild.id)));
    }),
    compile('PATCH', '/guilds/:guild/members/@me', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      req.note = { userId: botId };
      if (!world.can(botId, guild.textChannelId, 'ChangeNickname')) throw missingPermissions();
      const nick = req.body.nick;
      if (typeof nick === 'string' && nick.length > 32) {
        throw new DiscordHttpError(400, 50035, 'Invalid Form Body', {
          nick: { _errors: [{ code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 32 in length.' }] },
        });
      }
      world.setBotNick(typeof nick === 'string' && nick.length > 0 ? nick : null, guild.id);
      return ok(world.apiMember(botId, guild.id));
    }),
    compile('GET', '/guilds/:guild/members/:user', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      req.note = { userId: req.params.user };
      if (!guild.members.has(req.params.user ?? '')) throw new DiscordHttpError(404, 10007, 'Unknown Member');
      return ok(world.apiMember(req.params.user ?? '', guild.id));
    }),
    compile('GET', '/guilds/:guild/voice-states/:user', (req) => {
      const guild = guildOf(req.params.guild ?? '');
      const userId = req.params.user === '@me' ? botId : (req.params.user ?? '');
      const state = guild.voiceStates.get(userId);
      if (!state) throw new DiscordHttpError(404, 10065, 'Unknown Voice State');
      return ok(world.apiVoiceState(state));
    }),
  ];
}

function createInteractionMessage(
  ctx: RestContext,
  record: InteractionRecord,
  body: Record<string, unknown>,
  flags: number,
): StoredMessage {
  return ctx.world.createMessage({
    channelId: record.channelId,
    authorId: ctx.world.bot.id,
    body: { ...body, flags },
    ephemeral: (flags & MessageFlags.Ephemeral) !== 0,
    interaction: { id: record.id, userId: record.userId, name: record.commandName },
    webhookId: ctx.world.applicationId,
  });
}

function asArray(body: unknown): never[] {
  if (!Array.isArray(body)) throw new DiscordHttpError(400, 50035, 'Invalid Form Body');
  return body as never[];
}

export function messageText(message: APIMessage): string {
  const parts = [message.content];
  for (const embed of message.embeds ?? []) {
    parts.push(embed.title ?? '', embed.description ?? '', embed.url ?? '');
    for (const field of embed.fields ?? []) parts.push(field.name, field.value);
  }
  for (const row of (message.components ?? []) as unknown as { components?: { url?: string; label?: string }[] }[]) {
    for (const c of row.components ?? []) parts.push(c.label ?? '', c.url ?? '');
  }
  return parts.filter((p) => p.length > 0).join('\n');
}

export function listen(server: Server | import('node:https').Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export function closeServer(server: Server | import('node:https').Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
