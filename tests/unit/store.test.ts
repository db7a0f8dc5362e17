import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { trackFileName } from '../../src/storage/layout.ts';
import {
  GuildBusyError,
  RecordingNotFoundError,
  openStore,
  type NewRecording,
  type Recording,
  type Store,
} from '../../src/storage/store.ts';
import { newRoom } from '../helpers/new-recording.ts';
import { REDIS_SKIP_REASON, redisServerPath, startRedis, type RedisServer } from '../helpers/redis.ts';

const T0 = Date.UTC(2025, 0, 1);
const log = silentLogger();

const room = (overrides: Partial<NewRecording> = {}): NewRecording => newRoom(T0, overrides);

type Backend = {
  /** Opens a store on a fresh data dir; `reopen` opens a second store on the same metadata and data dir. */
  open(): Promise<{ store: Store; dataDir: string; keyvUrl: string | undefined }>;
  /** A store on the same data dir whose metadata database has been wiped. */
  wipeMetadata(dataDir: string, keyvUrl: string | undefined): Promise<Store>;
};

function storeContract(name: string, backend: () => Backend) {
  describe(name, () => {
    let store: Store;
    let dataDir: string;
    let keyvUrl: string | undefined;
    const opened: Store[] = [];

    beforeAll(async () => {
      ({ store, dataDir, keyvUrl } = await backend().open());
      opened.push(store);
    });
    afterAll(async () => {
      for (const s of opened) await s.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    test('a recording round-trips with speakers, mix and stop', async () => {
      const created = await store.createRecording(room({ consentMessageId: '500000000000000001' }));
      expect(created).toMatchObject({ state: 'recording', speakers: [], consentMessageId: '500000000000000001' });
      await store.updateRecording(created.id, (draft) => {
        draft.speakers.push({
          userId: '42',
          name: 'Alice',
          trackFile: trackFileName(1, 'Alice', '42'),
          consentedAt: T0 + 5_000,
          includeInMix: true,
        });
      });
      const ready = await store.updateRecording(created.id, (draft) => ({
        ...draft,
        state: 'ready',
        stoppedAt: T0 + 60_000,
        stopReason: 'command',
        mix: { file: 'mix.ogg', format: 'ogg', durationMs: 55_000 },
      }));
      expect(await store.getRecording(created.id)).toEqual(ready);
      expect(ready.speakers).toEqual([
        { userId: '42', name: 'Alice', trackFile: 'tracks/1-alice-42.ogg', consentedAt: T0 + 5_000, includeInMix: true },
      ]);
      expect(ready.mix).toEqual({ file: 'mix.ogg', format: 'ogg', durationMs: 55_000 });
    });

    test('integrity figures and the E2EE state round-trip; null (not E2EE) stays apart from absent (not noted)', async () => {
      const plain = await store.createRecording(room({ guildId: 'e2ee-plain', e2ee: null }));
      expect((await store.getRecording(plain.id))?.e2ee).toBeNull();
      const unknown = await store.createRecording(room({ guildId: 'e2ee-unknown' }));
      expect(await store.getRecording(unknown.id)).not.toHaveProperty('e2ee');
      const e2ee = { protocol: 'dave' as const, version: 1, privacyCode: '1'.repeat(30), privacyCodes: ['1'.repeat(30)], transitions: 2 };
      const stats = { received: 10, lost: 1, late: 0, duplicate: 0, undecryptable: 3, silenceFilledSeconds: 1.25 };
      const rec = await store.createRecording(room({ guildId: 'e2ee-dave', e2ee }));
      await store.updateRecording(rec.id, (d) => {
        d.speakers.push({ userId: '42', name: 'A', trackFile: 'tracks/1-a-42.ogg', consentedAt: T0, includeInMix: true, stats });
      });
      expect(await store.getRecording(rec.id)).toMatchObject({ e2ee, speakers: [{ stats }] });
      await expect(
        store.updateRecording(rec.id, (d) => {
          d.speakers[0]!.stats = { ...stats, lost: -1 };
        }),
      ).rejects.toThrow();
    });

    test('meta.json beside the files mirrors the metadata', async () => {
      const rec = await store.createRecording(room({ guildId: 'meta-guild' }));
      await store.appendConsentEvent({ recordingId: rec.id, userId: '42', name: 'Alice', event: 'granted', at: T0 + 1 });
      const updated = await store.updateRecording(rec.id, (d) => {
        d.state = 'failed';
        d.error = 'voice connection lost';
      });
      const meta = JSON.parse(await readFile(store.layout.metaFile(rec.id), 'utf8'));
      expect(meta).toEqual({
        v: 1,
        recording: updated,
        consentEvents: [{ recordingId: rec.id, userId: '42', name: 'Alice', event: 'granted', at: T0 + 1 }],
      });
    });

    test('an invalid update is refused and the stored recording is unchanged', async () => {
      const rec = await store.createRecording(room({ guildId: 'invalid-guild' }));
      await expect(
        store.updateRecording(rec.id, (d) => {
          (d as { state: string }).state = 'paused';
        }),
      ).rejects.toThrow();
      await expect(store.updateRecording(rec.id, (d) => ({ ...d, id: 'zzzzzzzzzz' }))).rejects.toThrow(/may not change the id/);
      expect(await store.getRecording(rec.id)).toEqual(rec);
    });

    test('unknown ids: undefined on read, RecordingNotFoundError on update', async () => {
      expect(await store.getRecording('aaaaaaaaaa')).toBeUndefined();
      await expect(store.updateRecording('aaaaaaaaaa', () => undefined)).rejects.toBeInstanceOf(RecordingNotFoundError);
      await expect(
        store.appendConsentEvent({ recordingId: 'aaaaaaaaaa', userId: '1', name: 'x', event: 'granted', at: T0 }),
      ).rejects.toBeInstanceOf(RecordingNotFoundError);
    });

    test('concurrent updates of one recording lose nothing', async () => {
      const rec = await store.createRecording(room({ guildId: 'busy-guild' }));
      const userIds = Array.from({ length: 40 }, (_, i) => String(1000 + i));
      await Promise.all(
        userIds.map((userId, i) =>
          store.updateRecording(rec.id, async (d) => {
            d.speakers.push({
              userId,
              name: `s${i}`,
              trackFile: trackFileName(i, `s${i}`, userId),
              consentedAt: T0 + i,
              includeInMix: true,
            });
          }),
        ),
      );
      await Promise.all(
        userIds.map((userId, i) => store.appendConsentEvent({ recordingId: rec.id, userId, name: `s${i}`, event: 'granted', at: T0 + i })),
      );
      const stored = await store.getRecording(rec.id);
      expect(stored?.speakers.map((s) => s.userId).sort()).toEqual(userIds);
      expect((await store.consentEvents(rec.id)).map((e) => e.userId).sort()).toEqual(userIds);
    });

    test('one active recording per guild, even when two starts race', async () => {
      const guildId = 'race-guild';
      const results = await Promise.allSettled([store.createRecording(room({ guildId })), store.createRecording(room({ guildId }))]);
      const fulfilled = results.filter((r) => r.status === 'fulfilled');
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(fulfilled).toHaveLength(1);
      expect(rejected[0]?.reason).toBeInstanceOf(GuildBusyError);
      const active = await store.activeRecordingForGuild(guildId);
      expect(active?.id).toBe((fulfilled[0] as PromiseFulfilledResult<Recording>).value.id);
      // Once it is mixing, the guild may record again.
      await store.updateRecording(active!.id, (d) => {
        d.state = 'mixing';
      });
      expect(await store.activeRecordingForGuild(guildId)).toBeUndefined();
      await expect(store.createRecording(room({ guildId }))).resolves.toMatchObject({ state: 'recording' });
    });

    test('listing filters by host, guild and state, newest first', async () => {
      const hostId = '499999999999999999';
      const a = await store.createRecording(room({ guildId: 'list-a', hostId, startedAt: T0 + 1 }));
      const b = await store.createRecording(room({ guildId: 'list-b', hostId, startedAt: T0 + 3 }));
      const c = await store.createRecording(room({ guildId: 'list-c', hostId, startedAt: T0 + 2 }));
      await store.updateRecording(a.id, (d) => ({ ...d, state: 'ready', stoppedAt: T0 + 10 }));
      await store.updateRecording(c.id, (d) => ({ ...d, state: 'ready', stoppedAt: T0 + 10 }));
      expect((await store.listRecordings({ hostId })).map((r) => r.id)).toEqual([b.id, c.id, a.id]);
      expect((await store.listRecordings({ hostId, state: 'ready' })).map((r) => r.id)).toEqual([c.id, a.id]);
      expect((await store.listRecordings({ hostId, state: ['recording', 'ready'] })).map((r) => r.id)).toEqual([b.id, c.id, a.id]);
      expect((await store.listRecordings({ guildId: 'list-b' })).map((r) => r.id)).toEqual([b.id]);
      expect((await store.latestRecordingForHost(hostId))?.id).toBe(b.id);
      expect((await store.latestRecordingForHost(hostId, { state: 'ready' }))?.id).toBe(c.id);
      expect(await store.latestRecordingForHost('no-such-host')).toBeUndefined();
    });

    test('links are recorded per recording and by id', async () => {
      const rec = await store.createRecording(room({ guildId: 'link-guild' }));
      const link = { id: 'link-1', recordingId: rec.id, issuedTo: rec.hostId, issuedAt: T0, expiresAt: T0 + 86_400_000 };
      await store.recordLink(link);
      await store.recordLink({ ...link, id: 'link-2', issuedAt: T0 + 1 });
      expect((await store.linksFor(rec.id)).map((l) => l.id)).toEqual(['link-1', 'link-2']);
      expect(await store.getLink('link-1')).toEqual(link);
    });

    test('deleting metadata removes recording, consent events and links, and leaves a tombstone', async () => {
      const rec = await store.createRecording(room({ guildId: 'delete-guild' }));
      await store.updateRecording(rec.id, (d) => ({ ...d, state: 'ready', stoppedAt: T0 + 9 }));
      await store.appendConsentEvent({ recordingId: rec.id, userId: '42', name: 'Alice', event: 'granted', at: T0 + 1 });
      await store.recordLink({ id: 'link-del', recordingId: rec.id, issuedTo: rec.hostId, issuedAt: T0, expiresAt: T0 + 1 });

      const tombstone = await store.deleteRecordingMetadata(rec.id);
      expect(tombstone).toMatchObject({ id: rec.id, state: 'deleted', guildId: 'delete-guild', stoppedAt: T0 + 9 });
      expect(await store.getRecording(rec.id)).toBeUndefined();
      expect(await store.getTombstone(rec.id)).toEqual(tombstone);
      expect(await store.consentEvents(rec.id)).toEqual([]);
      expect(await store.linksFor(rec.id)).toEqual([]);
      expect(await store.getLink('link-del')).toBeUndefined();
      expect((await store.listRecordings()).map((r) => r.id)).not.toContain(rec.id);
      await expect(readFile(store.layout.metaFile(rec.id))).rejects.toMatchObject({ code: 'ENOENT' });
      // Idempotent: a second delete returns the same tombstone.
      expect(await store.deleteRecordingMetadata(rec.id)).toEqual(tombstone);
      // The id cannot be reused.
      await expect(store.createRecording(room({ guildId: 'delete-guild-2', id: rec.id }))).rejects.toThrow(/already taken/);
    });

    test('the webhook outbox keeps pending events, oldest first, until each is removed', async () => {
      const { id: recordingId } = await store.createRecording(room({ guildId: '100000000000000077' }));
      const entry = (id: string, createdAt: number) => ({ id, recordingId, type: 'recording.ready', createdAt, body: `{"id":"${id}"}` });
      await store.putWebhook(entry('later', T0 + 2));
      await store.putWebhook(entry('sooner', T0 + 1));
      await store.putWebhook(entry('later', T0 + 2));
      expect(await store.pendingWebhooks()).toEqual([entry('sooner', T0 + 1), entry('later', T0 + 2)]);
      await store.removeWebhook('sooner');
      await store.removeWebhook('never-there');
      expect(await store.pendingWebhooks()).toEqual([entry('later', T0 + 2)]);
      await store.removeWebhook('later');
      expect(await store.pendingWebhooks()).toEqual([]);
    });

    test("a user's notify choice is kept, per user, and read back by a store opened again (a restart)", async () => {
      expect(await store.userPrefs('500000000000000001')).toEqual({ notify: true });
      await store.setUserPrefs('500000000000000001', { notify: false });
      await store.setUserPrefs('500000000000000002', { notify: true });
      const other = await openStore({ dataDir, keyvUrl, log });
      opened.push(other);
      expect(await other.userPrefs('500000000000000001')).toEqual({ notify: false });
      expect(await other.userPrefs('500000000000000002')).toEqual({ notify: true });
      await other.setUserPrefs('500000000000000001', { notify: true });
      expect(await store.userPrefs('500000000000000001')).toEqual({ notify: true });
    });

    test('a second store on the same metadata sees the same data', async () => {
      const rec = await store.createRecording(room({ guildId: 'reopen-guild' }));
      const other = await openStore({ dataDir, keyvUrl, log });
      opened.push(other);
      expect(await other.getRecording(rec.id)).toEqual(rec);
      expect((await other.listRecordings({ guildId: 'reopen-guild' })).map((r) => r.id)).toEqual([rec.id]);
    });

    test('metadata lost from the database is rebuilt from meta.json; deleted and damaged folders are not', async () => {
      const kept = await store.createRecording(room({ guildId: 'rebuild-guild' }));
      await store.appendConsentEvent({ recordingId: kept.id, userId: '42', name: 'Alice', event: 'granted', at: T0 + 2 });
      const readyKept = await store.updateRecording(kept.id, (d) => ({ ...d, state: 'ready', stoppedAt: T0 + 5 }));
      const deleted = await store.createRecording(room({ guildId: 'rebuild-guild-2' }));
      await store.deleteRecordingMetadata(deleted.id);
      const damaged = await store.createRecording(room({ guildId: 'rebuild-guild-3' }));
      await writeFile(store.layout.metaFile(damaged.id), '{"v":1,"recording":');

      const fresh = await backend().wipeMetadata(dataDir, keyvUrl);
      opened.push(fresh);
      expect(await fresh.getRecording(kept.id)).toBeUndefined();
      const report = await fresh.rebuildIndexFromDisk();
      expect(report.restored).toContain(kept.id);
      expect(report.restored).not.toContain(deleted.id);
      expect(report.skipped).toContainEqual({ id: damaged.id, reason: expect.stringMatching(/^meta.json is not JSON/) });
      expect(await fresh.getRecording(kept.id)).toEqual(readyKept);
      expect(await fresh.consentEvents(kept.id)).toEqual([
        { recordingId: kept.id, userId: '42', name: 'Alice', event: 'granted', at: T0 + 2 },
      ]);
      expect((await fresh.listRecordings({ guildId: 'rebuild-guild' })).map((r) => r.id)).toEqual([kept.id]);
      // Running it again changes nothing.
      const again = await fresh.rebuildIndexFromDisk();
      expect(again.restored).toEqual([]);
      expect(again.alreadyIndexed).toContain(kept.id);
    });
  });
}

storeContract('store on SQLite (default: DATA_DIR/roomrec.sqlite)', () => ({
  async open() {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-store-'));
    return { store: await openStore({ dataDir, log }), dataDir, keyvUrl: undefined };
  },
  async wipeMetadata(dataDir) {
    return openStore({ dataDir, keyvUrl: `sqlite://${path.join(dataDir, 'wiped.sqlite')}`, log });
  },
}));

describe('store on SQLite: failures', () => {
  test('an unopenable database file fails at open with its path', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-store-'));
    await writeFile(path.join(dataDir, 'not-a-dir'), '');
    await expect(openStore({ dataDir, keyvUrl: `sqlite://${dataDir}/not-a-dir/db.sqlite`, log })).rejects.toThrow(
      /^cannot open the metadata store at .*not-a-dir\/db.sqlite: E/,
    );
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe.skipIf(!redisServerPath)(`store on Redis ${REDIS_SKIP_REASON}`.trim(), () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  storeContract('contract', () => ({
    async open() {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-store-'));
      const keyvUrl = `${redis.url}/0`;
      return { store: await openStore({ dataDir, keyvUrl, log }), dataDir, keyvUrl };
    },
    async wipeMetadata(dataDir) {
      // Another logical database of the same server starts empty.
      return openStore({ dataDir, keyvUrl: `${redis.url}/1`, log });
    },
  }));

  test('an unreachable Redis fails at open, naming the address without its password', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-store-'));
    const dead = new URL(redis.url);
    dead.port = '1';
    dead.username = 'roomrec';
    dead.password = 'sekrit';
    const failure = openStore({ dataDir, keyvUrl: dead.toString(), log });
    await expect(failure).rejects.toThrow(/cannot open the metadata store at redis:\/\/roomrec:\*\*\*@127\.0\.0\.1:1/);
    await expect(failure).rejects.not.toThrow(/sekrit/);
  }, 20_000);
});

if (!redisServerPath) {
  // Make the reason visible in the run's output as well as in the skipped suite's name.
  console.warn(`[store.test] Redis suite ${REDIS_SKIP_REASON}`);
}
