// The only module that knows keyv keys. Keys (inside the `roomrec` namespace):
//
//   recordings              string[]   ids of every live recording (explicit index: adapters iterate differently)
//   recording:<id>          Recording
//   tombstone:<id>          Tombstone  left behind by deleteRecordingMetadata
//   consent:<id>            ConsentEvent[]
//   links:<id>              Link[]
//   link:<linkId>           Link
//   webhooks                string[]   ids of webhook events not yet delivered
//   webhook:<deliveryId>    WebhookOutboxEntry
//   prefs:<userId>          UserPrefs  a user's choices (`notify on|off`); absent: the defaults
//
// Every value is stored as { v: SCHEMA_VERSION, data } and validated on read and write. Read-modify-write
// sections are serialised per key inside this process (keyed-mutex.ts); one bot process owns a store.
// Each recording's metadata is mirrored to recordings/<id>/meta.json so the index can be rebuilt from disk.
import { chmod, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import KeyvRedis from '@keyv/redis';
import KeyvSqlite from '@keyv/sqlite';
import Keyv from 'keyv';
import { z } from 'zod';
import type { Logger } from '../log.ts';
import { ifThere } from './if-there.ts';
import { createKeyedMutex } from './keyed-mutex.ts';
import { createLayout, isRecordingId, newRecordingId, type Layout } from './layout.ts';
import { mkdirPrivate, openPrivate, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, writePrivateFile } from './private-files.ts';
import {
  ACTIVE_STATES,
  ConsentEventSchema,
  DEFAULT_USER_PREFS,
  LinkSchema,
  MetaFileSchema,
  RecordingSchema,
  SCHEMA_VERSION,
  TombstoneSchema,
  UserPrefsSchema,
  WebhookOutboxEntrySchema,
  type ConsentEvent,
  type Link,
  type MetaFile,
  type Recording,
  type RecordingState,
  type Tombstone,
  type UserPrefs,
  type WebhookOutboxEntry,
} from './schema.ts';

export * from './schema.ts';

export class RecordingNotFoundError extends Error {
  readonly recordingId: string;
  constructor(recordingId: string) {
    super(`no recording ${recordingId}`);
    this.name = 'RecordingNotFoundError';
    this.recordingId = recordingId;
  }
}

/** A guild can have one active recording; thrown by createRecording when another is running. */
export class GuildBusyError extends Error {
  readonly active: Recording;
  constructor(active: Recording) {
    super(`guild ${active.guildId} is already recording (${active.id} in channel ${active.channelId})`);
    this.name = 'GuildBusyError';
    this.active = active;
  }
}

/** Stored data that does not match the schema: written by another version, or corrupted. */
class StoreDataError extends Error {
  constructor(key: string, detail: string) {
    super(`stored value ${key} is unreadable: ${detail}`);
    this.name = 'StoreDataError';
  }
}

export type NewRecording = Pick<
  Recording,
  'guildId' | 'channelId' | 'textChannelId' | 'hostId' | 'hostName' | 'startedAt' | 'consentMessageId' | 'e2ee'
> & { id?: string };

type RecordingFilter = { hostId?: string; guildId?: string; state?: RecordingState | readonly RecordingState[] };

/**
 * Mutate the draft in place or return a replacement (may be async: it runs while the recording is locked);
 * the result is validated before it is written.
 */
type RecordingMutation = (draft: Recording) => Recording | void | Promise<Recording | void>;

type RebuildReport = { restored: string[]; alreadyIndexed: string[]; skipped: { id: string; reason: string }[] };

export type Store = {
  readonly backend: 'sqlite' | 'redis';
  readonly layout: Layout;
  createRecording(init: NewRecording): Promise<Recording>;
  getRecording(id: string): Promise<Recording | undefined>;
  getTombstone(id: string): Promise<Tombstone | undefined>;
  updateRecording(id: string, mutate: RecordingMutation): Promise<Recording>;
  /** Newest first (by startedAt). */
  listRecordings(filter?: RecordingFilter): Promise<Recording[]>;
  activeRecordingForGuild(guildId: string): Promise<Recording | undefined>;
  latestRecordingForHost(hostId: string, filter?: Pick<RecordingFilter, 'state'>): Promise<Recording | undefined>;
  appendConsentEvent(event: ConsentEvent): Promise<void>;
  consentEvents(recordingId: string): Promise<ConsentEvent[]>;
  /** Replaces a recording's consent log by what `rewrite` makes of it (a forgotten speaker's events: forget-speaker.ts). */
  rewriteConsentEvents(recordingId: string, rewrite: (events: ConsentEvent[]) => ConsentEvent[]): Promise<ConsentEvent[]>;
  recordLink(link: Link): Promise<void>;
  linksFor(recordingId: string): Promise<Link[]>;
  getLink(linkId: string): Promise<Link | undefined>;
  /** Removes the recording, its consent events and links (and meta.json); leaves a tombstone. Idempotent. */
  deleteRecordingMetadata(id: string): Promise<Tombstone | undefined>;
  /** Re-creates keyv entries from recordings/<id>/meta.json for recordings the database lost. */
  rebuildIndexFromDisk(): Promise<RebuildReport>;
  /** The webhook outbox: an event is put before its first attempt and removed when it is done with. */
  putWebhook(entry: WebhookOutboxEntry): Promise<void>;
  /** Oldest first. */
  pendingWebhooks(): Promise<WebhookOutboxEntry[]>;
  removeWebhook(id: string): Promise<void>;
  /** A user's choices about the bot's DMs to them; the defaults when they never chose. */
  userPrefs(userId: string): Promise<UserPrefs>;
  setUserPrefs(userId: string, prefs: UserPrefs): Promise<void>;
  /**
   * Rewrites the database so that no copy of what was replaced or deleted stays in its free pages (SQLite keeps
   * them until VACUUM): after a speaker is forgotten. Redis keeps nothing of a replaced value.
   */
  compact(): Promise<void>;
  close(): Promise<void>;
};

export type OpenStoreOptions = {
  dataDir: string;
  /** Unset → sqlite file DATA_DIR/roomrec.sqlite; `sqlite://path`, `redis://…` or `rediss://…`. */
  keyvUrl?: string | undefined;
  log: Logger;
  /** Clock for tombstones' deletedAt. */
  now?: () => number;
};

const NAMESPACE = 'roomrec';
const INDEX_KEY = 'recordings';
const INDEX_LOCK = '\0index';
const WEBHOOK_INDEX_KEY = 'webhooks';
const WEBHOOK_LOCK = '\0webhooks';
const keys = {
  recording: (id: string) => `recording:${id}`,
  tombstone: (id: string) => `tombstone:${id}`,
  consent: (id: string) => `consent:${id}`,
  links: (id: string) => `links:${id}`,
  link: (linkId: string) => `link:${linkId}`,
  webhook: (id: string) => `webhook:${id}`,
  prefs: (userId: string) => `prefs:${userId}`,
};

/** A URL fit for logs: the password of redis://user:password@host is replaced. */
function redact(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}

function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\//.test(url);
}

type Connected = { keyv: Keyv; backend: Store['backend']; compact: () => Promise<void> };

async function connectKeyv(keyvUrl: string | undefined, layout: Layout): Promise<Connected> {
  if (keyvUrl !== undefined && isRedisUrl(keyvUrl)) {
    // throwOnErrors: a failed write must reach the caller, not just an 'error' event nobody reads.
    const store = new KeyvRedis(keyvUrl, { throwOnConnectError: true, throwOnErrors: true, connectionTimeout: 5000 });
    // KeyvRedis prefixes keys with the namespace itself; Keyv's own prefix would double it.
    const keyv = new Keyv({ store, namespace: NAMESPACE, useKeyPrefix: false, throwOnErrors: true });
    return { keyv, backend: 'redis', compact: () => Promise.resolve() };
  }
  const file = keyvUrl === undefined ? layout.sqliteFile : path.resolve(keyvUrl.replace(/^sqlite:\/\//, ''));
  await mkdirPrivate(path.dirname(file));
  await privateSqliteFile(file);
  const store = new KeyvSqlite({ uri: `sqlite://${file}`, busyTimeout: 5000 });
  const compact = async () => void (await store.query('VACUUM'));
  return { keyv: new Keyv({ store, namespace: NAMESPACE, throwOnErrors: true }), backend: 'sqlite', compact };
}

/**
 * SQLite creates its file 0644 (less the umask): it is created here first, 0600, and SQLite keeps the mode of an
 * existing file, and gives its journals the database's. One an older version left is made private too, with
 * its journals.
 */
async function privateSqliteFile(file: string): Promise<void> {
  await (await openPrivate(file, 'a')).close();
  for (const journal of ['-journal', '-wal', '-shm']) {
    await chmod(`${file}${journal}`, PRIVATE_FILE_MODE).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    });
  }
}

/**
 * DATA_DIR is made 0700 at every open, created or not: what an older version (or a permissive umask) left
 * readable inside it is then out of other accounts' reach as well.
 */
async function privateDataDir(dir: string): Promise<void> {
  try {
    await mkdirPrivate(dir);
    await chmod(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    throw new Error(`cannot make the data folder ${dir} private (0700): ${(error as Error).message}`, { cause: error });
  }
}

/** Connects and probes, so a wrong KEYV_URL or an unwritable DATA_DIR fails at start-up with its address. */
async function openKeyv(keyvUrl: string | undefined, layout: Layout, log: Logger): ReturnType<typeof connectKeyv> {
  let connected: Awaited<ReturnType<typeof connectKeyv>> | undefined;
  try {
    connected = await connectKeyv(keyvUrl, layout);
    connected.keyv.on('error', (error: unknown) => log.error({ err: error }, 'metadata store error'));
    await connected.keyv.get(INDEX_KEY);
    return connected;
  } catch (error) {
    await connected?.keyv.disconnect().catch((closeError: unknown) => log.debug({ err: closeError }, 'close after a failed open'));
    const where = redact(keyvUrl ?? layout.sqliteFile);
    throw new Error(`cannot open the metadata store at ${where}: ${(error as Error).message}`, { cause: error });
  }
}

export async function openStore({ dataDir, keyvUrl, log, now = Date.now }: OpenStoreOptions): Promise<Store> {
  const layout = createLayout(dataDir);
  await privateDataDir(layout.dataDir);
  const { keyv, backend, compact } = await openKeyv(keyvUrl, layout, log);
  const mutex = createKeyedMutex();

  async function read<T>(key: string, schema: z.ZodType<T>): Promise<T | undefined> {
    const stored: unknown = await keyv.get(key);
    if (stored === undefined) return undefined;
    const envelope = z.object({ v: z.number(), data: z.unknown() }).safeParse(stored);
    if (!envelope.success) throw new StoreDataError(key, 'not a versioned record');
    if (envelope.data.v !== SCHEMA_VERSION) {
      throw new StoreDataError(key, `schema version ${envelope.data.v}, this roomrec reads ${SCHEMA_VERSION}`);
    }
    const parsed = schema.safeParse(envelope.data.data);
    if (!parsed.success) throw new StoreDataError(key, z.prettifyError(parsed.error));
    return parsed.data;
  }

  async function write<T>(key: string, schema: z.ZodType<T>, value: T): Promise<T> {
    const data = schema.parse(value);
    await keyv.set(key, { v: SCHEMA_VERSION, data });
    return data;
  }

  const readIndex = async (): Promise<string[]> => (await read(INDEX_KEY, z.array(z.string()))) ?? [];

  async function addToIndex(id: string): Promise<void> {
    const ids = await readIndex();
    if (!ids.includes(id)) await write(INDEX_KEY, z.array(z.string()), [...ids, id]);
  }

  async function writeMetaFile(recording: Recording, consentEvents: ConsentEvent[]): Promise<void> {
    const meta: MetaFile = { v: SCHEMA_VERSION, recording, consentEvents };
    const target = layout.metaFile(recording.id);
    await mkdirPrivate(path.dirname(target));
    // Write-then-rename so a crash leaves either the old or the new file, never half of one.
    const temp = `${target}.tmp`;
    await writePrivateFile(temp, `${JSON.stringify(meta, null, 2)}\n`);
    await rename(temp, target);
  }

  const getRecording = (id: string) => read(keys.recording(id), RecordingSchema);
  const consentEvents = async (id: string) => (await read(keys.consent(id), z.array(ConsentEventSchema))) ?? [];
  const linksFor = async (id: string) => (await read(keys.links(id), z.array(LinkSchema))) ?? [];

  async function listRecordings(filter: RecordingFilter = {}): Promise<Recording[]> {
    const ids = await readIndex();
    const states = filter.state === undefined ? undefined : ([] as RecordingState[]).concat(filter.state);
    const records = await Promise.all(ids.map(getRecording));
    return records
      .filter((r): r is Recording => r !== undefined)
      .filter(
        (r) =>
          (filter.hostId === undefined || r.hostId === filter.hostId) &&
          (filter.guildId === undefined || r.guildId === filter.guildId) &&
          (states === undefined || states.includes(r.state)),
      )
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  async function requireRecording(id: string): Promise<Recording> {
    const recording = await getRecording(id);
    if (!recording) throw new RecordingNotFoundError(id);
    return recording;
  }

  return {
    backend,
    layout,

    createRecording: (init) =>
      mutex.run(INDEX_LOCK, async () => {
        const [active] = await listRecordings({ guildId: init.guildId, state: ACTIVE_STATES });
        if (active) throw new GuildBusyError(active);
        const id = init.id ?? newRecordingId();
        if ((await keyv.get(keys.recording(id))) !== undefined || (await keyv.get(keys.tombstone(id))) !== undefined) {
          throw new Error(`recording id ${id} is already taken`);
        }
        const recording = RecordingSchema.parse({ ...init, id, state: 'recording', speakers: [] });
        await writeMetaFile(recording, []);
        await write(keys.recording(id), RecordingSchema, recording);
        await addToIndex(id);
        log.info({ recordingId: id, guildId: recording.guildId, hostId: recording.hostId }, 'recording created');
        return recording;
      }),

    getRecording,
    getTombstone: (id) => read(keys.tombstone(id), TombstoneSchema),

    updateRecording: (id, mutate) =>
      mutex.run(id, async () => {
        const current = await requireRecording(id);
        const draft = structuredClone(current);
        const next = RecordingSchema.parse((await mutate(draft)) ?? draft);
        if (next.id !== id) throw new Error(`updateRecording may not change the id (${id} → ${next.id})`);
        await writeMetaFile(next, await consentEvents(id));
        return write(keys.recording(id), RecordingSchema, next);
      }),

    listRecordings,
    activeRecordingForGuild: async (guildId) => (await listRecordings({ guildId, state: ACTIVE_STATES }))[0],
    latestRecordingForHost: async (hostId, filter = {}) => (await listRecordings({ ...filter, hostId }))[0],

    appendConsentEvent: (event) =>
      mutex.run(event.recordingId, async () => {
        const recording = await requireRecording(event.recordingId);
        const events = [...(await consentEvents(event.recordingId)), ConsentEventSchema.parse(event)];
        await writeMetaFile(recording, events);
        await write(keys.consent(event.recordingId), z.array(ConsentEventSchema), events);
      }),
    consentEvents,
    rewriteConsentEvents: (id, rewrite) =>
      mutex.run(id, async () => {
        const recording = await requireRecording(id);
        const events = z.array(ConsentEventSchema).parse(rewrite(await consentEvents(id)));
        await writeMetaFile(recording, events);
        return write(keys.consent(id), z.array(ConsentEventSchema), events);
      }),

    recordLink: (link) =>
      mutex.run(link.recordingId, async () => {
        await requireRecording(link.recordingId);
        const parsed = LinkSchema.parse(link);
        await write(keys.link(parsed.id), LinkSchema, parsed);
        await write(keys.links(parsed.recordingId), z.array(LinkSchema), [...(await linksFor(parsed.recordingId)), parsed]);
      }),
    linksFor,
    getLink: (linkId) => read(keys.link(linkId), LinkSchema),

    deleteRecordingMetadata: (id) =>
      mutex.run(id, async () => {
        const recording = await getRecording(id);
        if (!recording) return read(keys.tombstone(id), TombstoneSchema);
        const tombstone = await write(keys.tombstone(id), TombstoneSchema, {
          id,
          guildId: recording.guildId,
          hostId: recording.hostId,
          startedAt: recording.startedAt,
          stoppedAt: recording.stoppedAt,
          state: 'deleted',
          deletedAt: now(),
        });
        const links = await linksFor(id);
        await keyv.deleteMany([...links.map((l) => keys.link(l.id)), keys.links(id), keys.consent(id)]);
        await mutex.run(INDEX_LOCK, async () => {
          const ids = await readIndex();
          await write(
            INDEX_KEY,
            z.array(z.string()),
            ids.filter((x) => x !== id),
          );
        });
        await keyv.delete(keys.recording(id));
        // The disk copy goes too, or rebuildIndexFromDisk would bring the recording back.
        if (isRecordingId(id)) await rm(layout.metaFile(id), { force: true });
        log.info({ recordingId: id }, 'recording metadata deleted');
        return tombstone;
      }),

    rebuildIndexFromDisk: () =>
      mutex.run(INDEX_LOCK, async () => {
        const report: RebuildReport = { restored: [], alreadyIndexed: [], skipped: [] };
        const entries = (await ifThere(readdir(layout.recordingsDir, { withFileTypes: true }))) ?? [];
        for (const entry of entries) {
          if (!entry.isDirectory() || !isRecordingId(entry.name)) continue;
          const id = entry.name;
          if (await getRecording(id)) {
            await addToIndex(id);
            report.alreadyIndexed.push(id);
            continue;
          }
          if (await keyv.get(keys.tombstone(id))) {
            report.skipped.push({ id, reason: 'deleted (tombstone present)' });
            continue;
          }
          const meta = await readMetaFile(layout.metaFile(id));
          if (!meta.ok) {
            report.skipped.push({ id, reason: meta.reason });
            continue;
          }
          await write(keys.recording(id), RecordingSchema, meta.value.recording);
          await write(keys.consent(id), z.array(ConsentEventSchema), meta.value.consentEvents);
          await addToIndex(id);
          report.restored.push(id);
        }
        if (report.restored.length > 0) log.warn({ restored: report.restored }, 'recordings restored from meta.json');
        return report;
      }),

    putWebhook: (entry) =>
      mutex.run(WEBHOOK_LOCK, async () => {
        const parsed = await write(keys.webhook(entry.id), WebhookOutboxEntrySchema, entry);
        const ids = (await read(WEBHOOK_INDEX_KEY, z.array(z.string()))) ?? [];
        if (!ids.includes(parsed.id)) await write(WEBHOOK_INDEX_KEY, z.array(z.string()), [...ids, parsed.id]);
      }),

    pendingWebhooks: async () => {
      const ids = (await read(WEBHOOK_INDEX_KEY, z.array(z.string()))) ?? [];
      const entries = await Promise.all(ids.map((id) => read(keys.webhook(id), WebhookOutboxEntrySchema)));
      return entries.filter((e): e is WebhookOutboxEntry => e !== undefined).sort((a, b) => a.createdAt - b.createdAt);
    },

    removeWebhook: (id) =>
      mutex.run(WEBHOOK_LOCK, async () => {
        const ids = (await read(WEBHOOK_INDEX_KEY, z.array(z.string()))) ?? [];
        await write(
          WEBHOOK_INDEX_KEY,
          z.array(z.string()),
          ids.filter((x) => x !== id),
        );
        await keyv.delete(keys.webhook(id));
      }),

    userPrefs: async (userId) => (await read(keys.prefs(userId), UserPrefsSchema)) ?? DEFAULT_USER_PREFS,
    setUserPrefs: async (userId, prefs) => void (await write(keys.prefs(userId), UserPrefsSchema, prefs)),

    compact,
    close: () => keyv.disconnect(),
  };
}

export type MetaFileRead = { ok: true; value: MetaFile } | { ok: false; reason: string };

/** Reads and validates a recording's meta.json; a missing or damaged file is a reason, not an exception. */
export async function readMetaFile(file: string): Promise<MetaFileRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { ok: false, reason: 'no meta.json' };
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `meta.json is not JSON (${(error as Error).message})` };
  }
  const parsed = MetaFileSchema.safeParse(json);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, reason: `meta.json does not match the schema: ${z.prettifyError(parsed.error)}` };
}
