import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startRetentionJob, type Scheduler } from '../../src/jobs/retention-job.ts';
import { trackFileName } from '../../src/storage/layout.ts';
import {
  DAY_MS,
  deleteRecording,
  deletionTime,
  expiresAt,
  isExpired,
  runRetention,
  type RetentionPolicy,
} from '../../src/storage/retention.ts';
import { openStore, type Recording, type RecordingState, type Store } from '../../src/storage/store.ts';
import { capturingLogger } from '../helpers/log-lines.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.UTC(2025, 5, 1, 12);
const policy: RetentionPolicy = { retentionDays: 30 };

describe('deletionTime (the one rule every date shown comes from)', () => {
  test('retention days after the stop; a recording that never recorded its stop, after its start', () => {
    expect(deletionTime({ startedAt: 1_000, stoppedAt: 5_000 }, 30)).toBe(5_000 + 30 * DAY_MS);
    expect(deletionTime({ startedAt: 1_000 }, 30)).toBe(1_000 + 30 * DAY_MS);
    // Retention deletes it exactly then: the date people are shown is the date it goes.
    expect(expiresAt({ state: 'failed', startedAt: 1_000 }, { retentionDays: 30 })).toBe(deletionTime({ startedAt: 1_000 }, 30));
  });
});

describe('isExpired (pure rule)', () => {
  const base = { startedAt: NOW - 40 * DAY };

  test.each<[RecordingState, number | undefined, boolean]>([
    ['ready', NOW - 30 * DAY - 1, true],
    ['ready', NOW - 30 * DAY, false], // exactly 30 days: not yet
    ['ready', NOW - 29 * DAY, false],
    ['failed', NOW - 31 * DAY, true],
    ['failed', undefined, true], // never stopped cleanly: dated from its start (40 days ago)
    ['deleted', NOW - 31 * DAY, true],
    ['recording', undefined, false],
    ['recording', NOW - 365 * DAY, false],
    ['stopping', NOW - 365 * DAY, false],
    ['mixing', NOW - 365 * DAY, false],
  ])('%s stopped at %s → %s', (state, stoppedAt, expected) => {
    expect(isExpired({ ...base, state, stoppedAt }, NOW, policy)).toBe(expected);
  });

  test('follows the configured number of days', () => {
    const rec = { state: 'ready' as const, startedAt: NOW - 10 * DAY, stoppedAt: NOW - 8 * DAY };
    expect(isExpired(rec, NOW, { retentionDays: 7 })).toBe(true);
    expect(isExpired(rec, NOW, { retentionDays: 30 })).toBe(false);
    expect(expiresAt(rec, policy)).toBe(NOW + 22 * DAY);
    expect(expiresAt({ ...rec, state: 'mixing' }, policy)).toBeUndefined();
  });
});

describe('runRetention', () => {
  let dataDir: string;
  let store: Store;
  let guild = 0;
  let logged: ReturnType<typeof capturingLogger>;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'roomrec-retention-'));
    logged = capturingLogger();
    store = await openStore({ dataDir, log: logged.log, now: () => NOW });
  });
  afterEach(async () => {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** A finished room with a track, a mix, a receipt, a consent event and a link. */
  async function room(state: RecordingState, stoppedAgoDays: number | undefined): Promise<Recording> {
    guild += 1;
    const rec = await store.createRecording({
      guildId: `guild-${guild}`,
      channelId: '2',
      textChannelId: '3',
      hostId: '4',
      hostName: 'Host',
      startedAt: NOW - ((stoppedAgoDays ?? 0) + 1) * DAY,
    });
    const trackFile = trackFileName(1, 'Alice', '42');
    await mkdir(store.layout.tracksDir(rec.id), { recursive: true });
    await writeFile(store.layout.file(rec.id, trackFile), Buffer.alloc(1000));
    await writeFile(store.layout.mixFile(rec.id, 'ogg'), Buffer.alloc(500));
    await writeFile(store.layout.receiptFile(rec.id), 'Alice granted consent\n');
    await store.appendConsentEvent({ recordingId: rec.id, userId: '42', name: 'Alice', event: 'granted', at: rec.startedAt });
    await store.recordLink({
      id: `link-${rec.id}`,
      recordingId: rec.id,
      issuedTo: '4',
      issuedAt: rec.startedAt,
      expiresAt: rec.startedAt + DAY,
    });
    return store.updateRecording(rec.id, (d) => ({
      ...d,
      state,
      stoppedAt: stoppedAgoDays === undefined ? undefined : NOW - stoppedAgoDays * DAY,
      speakers: [{ userId: '42', name: 'Alice', trackFile, consentedAt: rec.startedAt, includeInMix: true }],
      mix: { file: 'mix.ogg', format: 'ogg', durationMs: 1000 },
    }));
  }

  const exists = (p: string) =>
    stat(p).then(
      () => true,
      (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );

  async function expectGone(rec: Recording) {
    expect(await exists(store.layout.recordingDir(rec.id))).toBe(false);
    expect(await store.getRecording(rec.id)).toBeUndefined();
    expect(await store.getTombstone(rec.id)).toMatchObject({ state: 'deleted', deletedAt: NOW });
    expect(await store.consentEvents(rec.id)).toEqual([]);
    expect(await store.linksFor(rec.id)).toEqual([]);
    expect(await store.getLink(`link-${rec.id}`)).toBeUndefined();
  }

  async function expectKept(rec: Recording) {
    expect(await store.getRecording(rec.id)).toEqual(rec);
    expect(await exists(store.layout.file(rec.id, 'tracks/1-alice-42.ogg'))).toBe(true);
    expect(await exists(store.layout.mixFile(rec.id, 'ogg'))).toBe(true);
    expect(await store.getLink(`link-${rec.id}`)).toBeDefined();
  }

  test('deletes exactly the finished recordings older than the period, never busy ones', async () => {
    const old = await room('ready', 31);
    const oldFailed = await room('failed', 45);
    const young = await room('ready', 29);
    const borderline = await room('ready', 30);
    const stillRecording = await room('recording', undefined);
    const stuckMixing = await room('mixing', 90);
    const stopping = await room('stopping', 90);

    const report = await runRetention({ store, now: NOW, policy, log: logged.log });

    expect(report.failed).toEqual([]);
    expect(report.deleted.map((d) => d.recordingId).sort()).toEqual([old.id, oldFailed.id].sort());
    expect(report.deleted.find((d) => d.recordingId === old.id)).toEqual({
      recordingId: old.id,
      reason: 'expired',
      files: 4, // track, mix, receipt, meta.json
      bytes: expect.any(Number),
    });
    await expectGone(old);
    await expectGone(oldFailed);
    for (const rec of [young, borderline, stillRecording, stuckMixing, stopping]) await expectKept(rec);
    expect((await store.listRecordings()).map((r) => r.id).sort()).toEqual(
      [young.id, borderline.id, stillRecording.id, stuckMixing.id, stopping.id].sort(),
    );
    const deletions = logged.lines.filter((l) => l.msg === 'retention deleted recording').map((l) => l.recordingId);
    expect(deletions.sort()).toEqual([old.id, oldFailed.id].sort());
  });

  test('a second run finds nothing to do', async () => {
    await room('ready', 40);
    await room('ready', 1);
    expect((await runRetention({ store, now: NOW, policy, log: logged.log })).deleted).toHaveLength(1);
    const second = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(second).toEqual({ dryRun: false, deleted: [], failed: [] });
  });

  test('files already gone do not stop it', async () => {
    const folderGone = await room('ready', 40);
    const mixGone = await room('ready', 40);
    await rm(store.layout.recordingDir(folderGone.id), { recursive: true });
    await rm(store.layout.mixFile(mixGone.id, 'ogg'));
    const report = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(report.failed).toEqual([]);
    expect(report.deleted.find((d) => d.recordingId === folderGone.id)).toMatchObject({ files: 0, bytes: 0 });
    await expectGone(folderGone);
    await expectGone(mixGone);
  });

  test('a dry run reports what would go and deletes nothing', async () => {
    const old = await room('ready', 40);
    const report = await runRetention({ store, now: NOW, policy, log: logged.log, dryRun: true });
    expect(report).toMatchObject({ dryRun: true, deleted: [{ recordingId: old.id, reason: 'expired' }] });
    await expectKept(old);
  });

  test('each recording it deletes is handed to onDeleted as it was; a dry run hands none', async () => {
    const old = await room('ready', 40);
    await room('ready', 1);
    const told: Recording[] = [];
    const onDeleted = (recording: Recording) => told.push(recording);
    await runRetention({ store, now: NOW, policy, log: logged.log, dryRun: true, onDeleted });
    expect(told).toEqual([]);
    await runRetention({ store, now: NOW, policy, log: logged.log, onDeleted });
    expect(told).toEqual([old]);
    await expectGone(old);
  });

  test('orphaned folders: old ones go, fresh ones and foreign entries stay', async () => {
    const recordings = store.layout.recordingsDir;
    const stale = 'orphanaaaa';
    const fresh = 'orphanbbbb';
    await mkdir(path.join(recordings, stale, 'tracks'), { recursive: true });
    await writeFile(path.join(recordings, stale, 'tracks', '1-x-1.ogg'), 'x');
    const longAgo = new Date(NOW - 31 * DAY);
    for (const p of ['tracks/1-x-1.ogg', 'tracks', '.']) await utimes(path.join(recordings, stale, p), longAgo, longAgo);
    // "Fresh" is judged against the injected clock: written 10 days before NOW.
    await mkdir(path.join(recordings, fresh), { recursive: true });
    const tenDaysAgo = new Date(NOW - 10 * DAY);
    await writeFile(path.join(recordings, fresh, 'part.ogg'), 'x');
    await utimes(path.join(recordings, fresh, 'part.ogg'), tenDaysAgo, tenDaysAgo);
    await utimes(path.join(recordings, fresh), tenDaysAgo, tenDaysAgo);
    await mkdir(path.join(recordings, 'not-a-recording'), { recursive: true });
    await utimes(path.join(recordings, 'not-a-recording'), longAgo, longAgo);

    const report = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(report.deleted).toEqual([{ recordingId: stale, reason: 'stale-orphan', files: 1, bytes: 1 }]);
    expect((await readdir(recordings)).sort()).toEqual(['not-a-recording', fresh]);
  });

  test('a folder whose metadata was lost is judged by its meta.json', async () => {
    const expired = await room('ready', 40);
    const recent = await room('ready', 2);
    // Simulate a lost database: a new store on the same data dir, different SQLite file.
    const lost = await openStore({ dataDir, keyvUrl: `sqlite://${path.join(dataDir, 'other.sqlite')}`, log: logged.log });
    try {
      const report = await runRetention({ store: lost, now: NOW, policy, log: logged.log });
      expect(report.deleted).toEqual([{ recordingId: expired.id, reason: 'expired-orphan', files: 4, bytes: expect.any(Number) }]);
      expect(await exists(lost.layout.recordingDir(expired.id))).toBe(false);
      expect(await exists(lost.layout.recordingDir(recent.id))).toBe(true);
    } finally {
      await lost.close();
    }
  });

  test('a folder left behind by an interrupted delete goes on the next run', async () => {
    const rec = await room('ready', 40);
    await store.deleteRecordingMetadata(rec.id); // metadata gone, files still there
    const report = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(report.deleted).toEqual([expect.objectContaining({ recordingId: rec.id, reason: 'tombstoned-folder' })]);
    expect(await exists(store.layout.recordingDir(rec.id))).toBe(false);
  });

  test('a recording that cannot be deleted is reported, kept, and retried; the others still go', async () => {
    const blocked = await room('ready', 40);
    const other = await room('ready', 40);
    const dir = store.layout.recordingDir(blocked.id);
    await rm(dir, { recursive: true });
    await writeFile(dir, 'a file where the folder should be'); // fails even for root, unlike permissions

    const report = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(report.failed).toEqual([{ recordingId: blocked.id, error: expect.stringMatching(/^ENOTDIR/) }]);
    expect(report.deleted.map((d) => d.recordingId)).toEqual([other.id]);
    expect(await store.getRecording(blocked.id)).toBeDefined();
    expect(logged.lines).toContainEqual(
      expect.objectContaining({ msg: 'retention could not delete recording; the next run retries', recordingId: blocked.id }),
    );

    await rm(dir);
    const retry = await runRetention({ store, now: NOW, policy, log: logged.log });
    expect(retry.deleted.map((d) => d.recordingId)).toEqual([blocked.id]);
  });

  describe('deleteRecording (one recording, as retention and /recordings delete do it)', () => {
    test('removes files, metadata, consent events and links, leaves a tombstone, and is idempotent', async () => {
      const gone = await room('ready', 1);
      const kept = await room('ready', 1);
      await deleteRecording({ store, recordingId: gone.id, log: logged.log });
      await expectGone(gone);
      await expectKept(kept);
      await deleteRecording({ store, recordingId: gone.id, log: logged.log });
      await expectGone(gone);
    });

    test('what is still being made from it settles first: a mix finished at the last moment goes with the folder', async () => {
      const rec = await room('ready', 1);
      // A background mix that renames its output into place just as the deletion begins.
      const settled: string[] = [];
      const beforeDelete = async (id: string) => {
        await writeFile(store.layout.file(id, 'mix-levelled.ogg'), Buffer.alloc(100));
        settled.push(id);
      };
      await deleteRecording({ store, recordingId: rec.id, log: logged.log, beforeDelete });
      expect(settled).toEqual([rec.id]);
      await expectGone(rec);
      expect(await exists(store.layout.recordingDir(rec.id))).toBe(false);
    });

    test('files go first, then metadata: a crash in between leaves metadata saying what to finish', async () => {
      const rec = await room('ready', 1);
      const folderPresentWhenMetadataWent: boolean[] = [];
      const watched: Store = {
        ...store,
        async deleteRecordingMetadata(id) {
          folderPresentWhenMetadataWent.push(await exists(store.layout.recordingDir(id)));
          return store.deleteRecordingMetadata(id);
        },
      };
      await deleteRecording({ store: watched, recordingId: rec.id, log: logged.log });
      expect(folderPresentWhenMetadataWent).toEqual([false]);
      await expectGone(rec);
    });
  });

  describe('retention job', () => {
    function manualScheduler() {
      const ticks: (() => Promise<void>)[] = [];
      let stopped = 0;
      const schedule: Scheduler = (expression, task) => {
        expect(expression).toBe('0 * * * *');
        ticks.push(task);
        return { stop: () => void (stopped += 1) };
      };
      return { schedule, tick: () => Promise.all(ticks.map((t) => t())), stopped: () => stopped };
    }

    test('catches up at start-up, then deletes on schedule as the clock moves', async () => {
      const overdue = await room('ready', 45); // expired during "downtime"
      const soon = await room('ready', 29.5); // expires half a day from NOW
      let clock = NOW;
      const scheduler = manualScheduler();
      const job = startRetentionJob({
        store,
        policy,
        cron: '0 * * * *',
        log: logged.log,
        clock: () => clock,
        schedule: scheduler.schedule,
      });

      const startup = await job.startup;
      expect(startup?.deleted.map((d) => d.recordingId)).toEqual([overdue.id]);
      await expectKept(soon);

      clock = NOW + 6 * 60 * 60 * 1000; // six hours later: not yet
      await scheduler.tick();
      expect(await store.getRecording(soon.id)).toBeDefined();

      clock = NOW + DAY; // a day later: due
      await scheduler.tick();
      expect(await store.getRecording(soon.id)).toBeUndefined();
      expect(await store.getTombstone(soon.id)).toBeDefined();

      await job.stop();
      expect(scheduler.stopped()).toBe(1);
      const runsBefore = logged.lines.filter((l) => l.msg === 'retention run finished').length;
      await scheduler.tick(); // a tick racing the stop does nothing
      expect(logged.lines.filter((l) => l.msg === 'retention run finished')).toHaveLength(runsBefore);
    });

    test('a failing run is logged and the next one still happens', async () => {
      const scheduler = manualScheduler();
      let failNext = true;
      const flaky: Store = {
        ...store,
        listRecordings: (filter) => {
          if (failNext) {
            failNext = false;
            return Promise.reject(new Error('database is locked'));
          }
          return store.listRecordings(filter);
        },
      };
      const old = await room('ready', 40);
      const job = startRetentionJob({
        store: flaky,
        policy,
        cron: '0 * * * *',
        log: logged.log,
        clock: () => NOW,
        schedule: scheduler.schedule,
      });
      expect(await job.startup).toBeUndefined();
      expect(logged.lines).toContainEqual(
        expect.objectContaining({ msg: 'retention run failed; the next scheduled run retries', trigger: 'startup' }),
      );
      await scheduler.tick();
      expect(await store.getRecording(old.id)).toBeUndefined();
      await job.stop();
    });

    test('runs on node-cron by default and stops cleanly', async () => {
      const old = await room('ready', 40);
      const job = startRetentionJob({ store, policy, cron: '0 * * * *', log: logged.log, clock: () => NOW });
      expect((await job.startup)?.deleted.map((d) => d.recordingId)).toEqual([old.id]);
      expect((await job.runNow()).deleted).toEqual([]);
      await job.stop();
    });
  });
});
