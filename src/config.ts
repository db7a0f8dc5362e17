// Configuration is read once, by the composition root, from an env object (process.env by default) so tests
// can hand in their own. Every problem is reported at once, each with what the variable is for and an example,
// because a self-hoster fixing one variable per restart is a bad first hour.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEnv } from 'node:util';
import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { SQLITE_FILE } from './storage/layout.ts';
import { MIX_FORMATS, type MixFormat } from './audio/encoders/encoder.ts';

export type Env = Readonly<Record<string, string | undefined>>;

export { MIX_FORMATS, type MixFormat } from './audio/encoders/encoder.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where the metadata lives: a SQLite file (default) or a Redis server. `url` is what keyv's adapter takes. */
type KeyvTarget = { backend: 'sqlite'; url: string; file: string } | { backend: 'redis'; url: string };

export type Config = {
  dataDir: string;
  keyv: KeyvTarget;
  retention: { days: number; cron: string };
  http: { host: string; port: number; publicUrl: string; trustProxy: boolean };
  links: { secret: string | undefined; ttlHours: number };
  recording: { maxHours: number; emptyRoomMinutes: number; deleteWithdrawnTracks: boolean };
  /** `levelling`: also make a levelled mix after the stop (docs/mixing.md); the plain one is made either way. */
  mix: { format: MixFormat; levelling: boolean };
  /** `/record start` refuses below `minFreeMb` free on DATA_DIR's file system, and warns below twice that. */
  disk: { minFreeMb: number };
  /** Recording events POSTed to WEBHOOK_URL, signed with WEBHOOK_SECRET (docs/webhook.md); undefined: none. */
  webhook: { url: string; secret: string } | undefined;
  discord: { token: string | undefined; clientId: string | undefined; guildId: string | undefined };
  logLevel: LogLevel;
};

/** What the bot process needs on top of the base config: it cannot run without a token and a link secret. */
export type BotConfig = Config & {
  discord: Config['discord'] & { token: string };
  links: Config['links'] & { secret: string };
};

/** scripts/deploy-commands.ts registers commands for an application: token and client id. */
export type DeployConfig = Config & { discord: Config['discord'] & { token: string; clientId: string } };

type VariableHelp = { purpose: string; example: string };

/** One line per variable, reused by every message about it (and mirrored in .env.example). */
const VARIABLES = {
  DISCORD_TOKEN: {
    purpose: "the bot's token (Discord developer portal → your application → Bot → Reset Token)",
    example: 'DISCORD_TOKEN=MTIzNDU2Nzg5MDEyMzQ1Njc4OQ.Gx1y2z.abc…',
  },
  DISCORD_CLIENT_ID: {
    purpose: 'the application id used to register slash commands (developer portal → General Information)',
    example: 'DISCORD_CLIENT_ID=123456789012345678',
  },
  DISCORD_GUILD_ID: {
    purpose: 'register commands in this one server only (instant), instead of globally',
    example: 'DISCORD_GUILD_ID=123456789012345678',
  },
  DATA_DIR: { purpose: 'where recordings and the SQLite metadata file are stored', example: 'DATA_DIR=./data' },
  KEYV_URL: {
    purpose: 'metadata store: unset for a SQLite file in DATA_DIR, or a redis:// / rediss:// / sqlite:// URL',
    example: 'KEYV_URL=redis://127.0.0.1:6379',
  },
  RETENTION_DAYS: {
    purpose: 'days after a recording stops before it is deleted with all its files',
    example: 'RETENTION_DAYS=30',
  },
  RETENTION_CRON: {
    purpose: 'when the retention job runs (cron syntax, 5 or 6 fields)',
    example: "RETENTION_CRON='0 * * * *'",
  },
  HTTP_HOST: {
    purpose: 'address the download server listens on',
    example: 'HTTP_HOST=0.0.0.0',
  },
  HTTP_PORT: { purpose: 'port the download server listens on', example: 'HTTP_PORT=8080' },
  PUBLIC_URL: {
    purpose: 'the address hosts open download links at (what reaches HTTP_PORT from outside)',
    example: 'PUBLIC_URL=https://rec.example.org',
  },
  HTTP_TRUST_PROXY: {
    purpose:
      "the download server is reachable only through a reverse proxy that appends the client's address to " +
      'X-Forwarded-For; its last entry is then taken as the client (for the limit on refused links and the logs)',
    example: 'HTTP_TRUST_PROXY=true',
  },
  LINK_SECRET: {
    purpose: 'signs download links (keep it private); generate one with `openssl rand -hex 32`',
    example: 'LINK_SECRET=3f9c…(64 hex characters from `openssl rand -hex 32`)',
  },
  LINK_TTL_HOURS: { purpose: 'hours a download link stays valid', example: 'LINK_TTL_HOURS=24' },
  MAX_RECORDING_HOURS: {
    purpose: 'a recording stops by itself after this many hours',
    example: 'MAX_RECORDING_HOURS=6',
  },
  EMPTY_ROOM_MINUTES: {
    purpose: 'a recording stops when the room has had no humans for this many minutes',
    example: 'EMPTY_ROOM_MINUTES=2',
  },
  MIN_FREE_DISK_MB: {
    purpose: '`/record start` refuses when DATA_DIR has less free space than this (MB), and warns below twice it; 0 turns the check off',
    example: 'MIN_FREE_DISK_MB=500',
  },
  MIX_FORMAT: { purpose: `format of the mix: ${MIX_FORMATS.join(', ')}`, example: 'MIX_FORMAT=ogg' },
  MIX_LEVELLING: {
    purpose: "also make a levelled mix, each speaker's speech brought to the same loudness (the plain mix is always made)",
    example: 'MIX_LEVELLING=off',
  },
  DELETE_WITHDRAWN_TRACKS: {
    purpose: 'delete the track of a speaker who withdraws consent (it is always left out of the mix)',
    example: 'DELETE_WITHDRAWN_TRACKS=false',
  },
  WEBHOOK_URL: {
    purpose: 'where the bot POSTs a signed JSON event when a recording is ready, failed or deleted (docs/webhook.md)',
    example: 'WEBHOOK_URL=https://hooks.example.org/roomrec',
  },
  WEBHOOK_SECRET: {
    purpose: 'signs webhook events so the receiver can verify them (required with WEBHOOK_URL); generate one with `openssl rand -hex 32`',
    example: 'WEBHOOK_SECRET=7d1e…(64 hex characters from `openssl rand -hex 32`)',
  },
  LOG_LEVEL: { purpose: `log verbosity: ${LOG_LEVELS.join(', ')}`, example: 'LOG_LEVEL=info' },
} as const satisfies Record<string, VariableHelp>;

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Configuration has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

// .env files often carry `FOO=` for "not set"; treat blank as absent so defaults apply.
const blankAsUnset = (value: unknown): unknown => (typeof value === 'string' && value.trim() === '' ? undefined : value);

const optionalString = z.preprocess(blankAsUnset, z.string().trim().optional());
const requiredString = z.preprocess(blankAsUnset, z.string({ error: 'is missing' }).trim());

const intVar = (fallback: number, min: number) =>
  z.preprocess(
    blankAsUnset,
    z.coerce
      .number({ error: 'must be a whole number' })
      .int({ error: 'must be a whole number' })
      .min(min, { error: `must be at least ${min}` })
      .default(fallback),
  );

const positiveVar = (fallback: number) =>
  z.preprocess(
    blankAsUnset,
    z.coerce.number({ error: 'must be a number' }).positive({ error: 'must be greater than 0' }).default(fallback),
  );

const booleanVar = (fallback: boolean) =>
  z.preprocess(
    blankAsUnset,
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  );

/** A switch: on/off, and the booleanVar spellings. */
const switchVar = (fallback: boolean) =>
  z.preprocess(
    (v) => (typeof blankAsUnset(v) === 'string' ? String(v).trim().toLowerCase() : undefined),
    z
      .enum(['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'], { error: 'must be on or off' })
      .default(fallback ? 'on' : 'off')
      .transform((v) => v === 'on' || v === 'true' || v === '1' || v === 'yes'),
  );

const cronVar = z.preprocess(
  blankAsUnset,
  z
    .string()
    .default('0 * * * *')
    .superRefine((expr, ctx) => {
      const result = validateDetailed(expr);
      if (!result.valid) {
        const details = result.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
        ctx.addIssue({ code: 'custom', message: `is not a valid cron expression (${details || expr})` });
      }
    }),
);

const keyvUrlVar = z.preprocess(
  blankAsUnset,
  z
    .string()
    .trim()
    .refine((url) => /^(rediss?|sqlite):\/\/.+/.test(url), {
      error: 'must start with redis://, rediss:// or sqlite://',
    })
    .optional(),
);

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

const publicUrlVar = z.preprocess(blankAsUnset, httpUrl.transform((url) => url.replace(/\/+$/, '')).optional());

const linkSecretVar = z
  .string()
  .min(32, { error: 'is too short (at least 32 characters)', abort: true })
  .refine((s) => new Set(s).size >= 8, { error: 'looks like a placeholder (too few distinct characters)' });

const WEBHOOK_SECRET_MIN = 16;

/** The secret is what makes an event trustworthy: a URL without one would send events nobody can verify. */
function webhookSecretRequired(env: { WEBHOOK_URL?: string | undefined; WEBHOOK_SECRET?: string | undefined }, ctx: z.RefinementCtx): void {
  if (env.WEBHOOK_URL !== undefined && env.WEBHOOK_SECRET === undefined) {
    ctx.addIssue({ code: 'custom', path: ['WEBHOOK_SECRET'], message: 'is missing' });
  }
}

const baseShape = {
  DISCORD_TOKEN: optionalString,
  DISCORD_CLIENT_ID: z.preprocess(
    blankAsUnset,
    z
      .string()
      .regex(/^\d{17,20}$/, { error: 'must be a numeric Discord id (17-20 digits)' })
      .optional(),
  ),
  DISCORD_GUILD_ID: z.preprocess(
    blankAsUnset,
    z
      .string()
      .regex(/^\d{17,20}$/, { error: 'must be a numeric Discord id (17-20 digits)' })
      .optional(),
  ),
  DATA_DIR: z.preprocess(blankAsUnset, z.string().default('./data')),
  KEYV_URL: keyvUrlVar,
  RETENTION_DAYS: positiveVar(30),
  RETENTION_CRON: cronVar,
  HTTP_HOST: optionalString,
  HTTP_PORT: intVar(8080, 1).pipe(z.number().max(65535, { error: 'must be at most 65535' })),
  PUBLIC_URL: publicUrlVar,
  HTTP_TRUST_PROXY: booleanVar(false),
  LINK_SECRET: z.preprocess(blankAsUnset, linkSecretVar.optional()),
  LINK_TTL_HOURS: positiveVar(24),
  MAX_RECORDING_HOURS: positiveVar(6),
  EMPTY_ROOM_MINUTES: positiveVar(2),
  MIN_FREE_DISK_MB: intVar(500, 0),
  MIX_FORMAT: z.preprocess(
    (v) => (typeof blankAsUnset(v) === 'string' ? String(v).trim().toLowerCase() : undefined),
    z.enum(MIX_FORMATS, { error: `must be one of ${MIX_FORMATS.join(', ')}` }).default('ogg'),
  ),
  MIX_LEVELLING: switchVar(true),
  DELETE_WITHDRAWN_TRACKS: booleanVar(false),
  WEBHOOK_URL: z.preprocess(blankAsUnset, httpUrl.optional()),
  WEBHOOK_SECRET: z.preprocess(
    blankAsUnset,
    z
      .string()
      .min(WEBHOOK_SECRET_MIN, { error: `is too short (at least ${WEBHOOK_SECRET_MIN} characters)` })
      .optional(),
  ),
  LOG_LEVEL: z.preprocess(
    (v) => (typeof blankAsUnset(v) === 'string' ? String(v).trim().toLowerCase() : undefined),
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  ),
};

const baseSchema = z.object(baseShape);
type ParsedEnv = z.infer<typeof baseSchema>;

function describeIssue(issue: z.core.$ZodIssue, env: Env): string {
  const name = String(issue.path[0] ?? '');
  const help = (VARIABLES as Record<string, VariableHelp | undefined>)[name];
  if (!help) return `${name || 'environment'}: ${issue.message}`;
  // zod's own wording for an absent required value is "Invalid input: expected string, received undefined".
  const absent = blankAsUnset(env[name]) === undefined;
  const message = absent ? 'is missing' : issue.message;
  return `${name} ${message}: ${help.purpose}. Example: ${help.example}`;
}

function parseWith<S extends z.ZodType<ParsedEnv>>(schema: S, env: Env): ParsedEnv {
  const result = schema.superRefine(webhookSecretRequired).safeParse(env);
  if (!result.success) throw new ConfigError(result.error.issues.map((issue) => describeIssue(issue, env)));
  return result.data;
}

function keyvTarget(keyvUrl: string | undefined, dataDir: string): KeyvTarget {
  if (keyvUrl === undefined || keyvUrl.startsWith('sqlite://')) {
    const file = keyvUrl ? path.resolve(keyvUrl.slice('sqlite://'.length)) : path.join(dataDir, SQLITE_FILE);
    return { backend: 'sqlite', url: `sqlite://${file}`, file };
  }
  return { backend: 'redis', url: keyvUrl };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Listen where the links point. With the default (local) PUBLIC_URL the links only work on this machine, so
 * nothing is exposed: 127.0.0.1. Once PUBLIC_URL names a real host, hosts' browsers must reach the server from
 * elsewhere, so listen on every interface (0.0.0.0) — the self-hosting case; set HTTP_HOST=127.0.0.1
 * explicitly when a reverse proxy on the same machine terminates TLS.
 */
function defaultHttpHost(publicUrl: string): string {
  return LOOPBACK_HOSTS.has(new URL(publicUrl).hostname) ? '127.0.0.1' : '0.0.0.0';
}

/** This machine only: links to it cannot cross a network. */
function isLocalHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || hostname.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * A warning for the start-up log when download links would cross a network unencrypted: PUBLIC_URL is plain
 * http:// on a host other than this machine. Undefined when there is nothing to warn about.
 */
export function publicUrlWarning(publicUrl: string): string | undefined {
  const url = new URL(publicUrl);
  if (url.protocol !== 'http:' || isLocalHost(url.hostname)) return undefined;
  return (
    `PUBLIC_URL is ${publicUrl}, plain http: every download link, and the token in it that grants the ` +
    'recording, travels in clear text, so anyone on the network path can read it and download the recording. ' +
    'Put a TLS reverse proxy (Caddy, nginx, Traefik) in front of HTTP_PORT and set PUBLIC_URL to its https:// address.'
  );
}

function toConfig(parsed: ParsedEnv): Config {
  const dataDir = path.resolve(parsed.DATA_DIR);
  const publicUrl = parsed.PUBLIC_URL ?? `http://localhost:${parsed.HTTP_PORT}`;
  return {
    dataDir,
    keyv: keyvTarget(parsed.KEYV_URL, dataDir),
    retention: { days: parsed.RETENTION_DAYS, cron: parsed.RETENTION_CRON },
    http: { host: parsed.HTTP_HOST ?? defaultHttpHost(publicUrl), port: parsed.HTTP_PORT, publicUrl, trustProxy: parsed.HTTP_TRUST_PROXY },
    links: { secret: parsed.LINK_SECRET, ttlHours: parsed.LINK_TTL_HOURS },
    recording: {
      maxHours: parsed.MAX_RECORDING_HOURS,
      emptyRoomMinutes: parsed.EMPTY_ROOM_MINUTES,
      deleteWithdrawnTracks: parsed.DELETE_WITHDRAWN_TRACKS,
    },
    mix: { format: parsed.MIX_FORMAT, levelling: parsed.MIX_LEVELLING },
    disk: { minFreeMb: parsed.MIN_FREE_DISK_MB },
    webhook:
      parsed.WEBHOOK_URL === undefined || parsed.WEBHOOK_SECRET === undefined
        ? undefined
        : { url: parsed.WEBHOOK_URL, secret: parsed.WEBHOOK_SECRET },
    discord: { token: parsed.DISCORD_TOKEN, clientId: parsed.DISCORD_CLIENT_ID, guildId: parsed.DISCORD_GUILD_ID },
    logLevel: parsed.LOG_LEVEL,
  };
}

/** Config for everything that does not talk to Discord: the mix CLI, jobs, the demo. No token needed. */
export function loadConfig(env: Env = process.env): Config {
  return toConfig(parseWith(baseSchema, env));
}

/** Config for the bot: a Discord token and a link secret are required. */
export function loadBotConfig(env: Env = process.env): BotConfig {
  const schema = baseSchema.extend({
    DISCORD_TOKEN: requiredString,
    LINK_SECRET: z.preprocess(blankAsUnset, linkSecretVar),
  });
  const config = toConfig(parseWith(schema, env));
  const { token } = config.discord;
  const { secret } = config.links;
  // The schema above made both required; this only narrows the type.
  if (token === undefined || secret === undefined) throw new Error('unreachable: required by schema');
  return { ...config, discord: { ...config.discord, token }, links: { ...config.links, secret } };
}

/** Config for scripts/deploy-commands.ts: token and application id. */
export function loadDeployConfig(env: Env = process.env): DeployConfig {
  const schema = baseSchema.extend({
    DISCORD_TOKEN: requiredString,
    DISCORD_CLIENT_ID: z.preprocess(
      blankAsUnset,
      z.string({ error: 'is missing' }).regex(/^\d{17,20}$/, { error: 'must be a numeric Discord id (17-20 digits)' }),
    ),
  });
  const config = toConfig(parseWith(schema, env));
  const { token, clientId } = config.discord;
  if (token === undefined || clientId === undefined) throw new Error('unreachable: required by schema');
  return { ...config, discord: { ...config.discord, token, clientId } };
}

/**
 * process.env overlaid on a .env file (real environment wins, as with dotenv). Returns a new object; nothing
 * is written into process.env.
 */
export function envWithDotenv(env: Env = process.env, file = '.env'): Env {
  if (!existsSync(file)) return env;
  return { ...parseEnv(readFileSync(file, 'utf8')), ...definedOnly(env) };
}

function definedOnly(env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out[key] = value;
  return out;
}
