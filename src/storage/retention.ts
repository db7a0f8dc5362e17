// Retention: the rule is pure (isExpired); runRetention applies it to the store and the disk. Deleting is
// files first, metadata second, so a crash in between leaves metadata that the next run finishes off; a run
// after a complete one finds nothing to do.
import { lstat, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { ifThere } from './if-there.ts';
import { isRecordingId } from './layout.ts';
import { BUSY_STATES, readMetaFile, type Recording, type Store } from './store.ts';

export type RetentionPolicy = { retentionDays: number };

export const DAY_MS = 24 * 60 * 60 * 1000;

type Dated = Pick<Recording, 'state' | 'startedAt' | 'stoppedAt'>;

/**
 * The one rule for when a recording is deleted: `retentionDays` after its stop. A recording that failed before
 * recording its stop time is dated from its start, so it cannot linger forever. Every place that shows or
 * applies the date (retention, the page and receipt, the consent message) asks this.
 */
export function deletionTime(recording: Pick<Recording, 'startedAt' | 'stoppedAt'>, retentionDays: number): number {
  return (recording.stoppedAt ?? recording.startedAt) + retentionDays * DAY_MS;
}

/** When a recording becomes deletable, or undefined while files are still being written (recording, stopping, mixing). */
export function expiresAt(recording: Dated, policy: RetentionPolicy): number | undefined {
  if (BUSY_STATES.includes(recording.state)) return undefined;
  return deletionTime(recording, policy.retentionDays);
}

export function isExpired(recording: Dated, now: number, policy: RetentionPolicy): boolean {
  const expiry = expiresAt(recording, policy);
  return expiry !== undefined && expiry < now;
}

type DeletedEntry = {
  recordingId: string;
  /** Why it went: expired metadata, an expired meta.json with no metadata, a tombstone, or an old bare folder. */
  reason: 'expired' | 'expired-orphan' | 'tombstoned-folder' | 'stale-orphan';
  files: number;
  bytes: number;
};

export type RetentionReport = {
  dryRun: boolean;
  deleted: DeletedEntry[];
  failed: { recordingId: string; error: string }[];
};

export type RunRetentionOptions = {
  store: Store;
  now: number;
  policy: RetentionPolicy;
  log: Logger;
  /** Report what would go without deleting anything. */
  dryRun?: boolean;
  onDeleted?: (recording: Recording) => void;
  beforeDelete?: DeleteRecordingOptions['beforeDelete'];
};

type FolderStats = { files: number; bytes: number; newestMtimeMs: number };

/** Files, bytes and the newest modification time (epoch ms) under `dir`; undefined when it does not exist. */
async function folderStats(dir: string): Promise<FolderStats | undefined> {
  let root;
  try {
    root = await lstat(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const stats: FolderStats = { files: 0, bytes: 0, newestMtimeMs: root.mtimeMs };
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const info = await lstat(path.join(entry.parentPath, entry.name));
    stats.newestMtimeMs = Math.max(stats.newestMtimeMs, info.mtimeMs);
    if (info.isFile()) {
      stats.files += 1;
      stats.bytes += info.size;
    }
  }
  return stats;
}

async function listRecordingFolders(recordingsDir: string, log: Logger): Promise<string[]> {
  const entries = (await ifThere(readdir(recordingsDir, { withFileTypes: true }))) ?? [];
  const ids: string[] = [];
  for (const entry of entries) {
    if (entry.isDirectory() && isRecordingId(entry.name)) ids.push(entry.name);
    else log.debug({ entry: entry.name }, 'retention ignores a non-recording entry');
  }
  return ids;
}

/** Why a folder with no live metadata should go now, or undefined to keep it. */
async function orphanVerdict(
  { store, now, policy }: RunRetentionOptions,
  id: string,
  stats: FolderStats,
): Promise<DeletedEntry['reason'] | undefined> {
  if (await store.getTombstone(id)) return 'tombstoned-folder';
  const meta = await readMetaFile(store.layout.metaFile(id));
  if (meta.ok) return isExpired(meta.value.recording, now, policy) ? 'expired-orphan' : undefined;
  // Nothing says what this is: judge by the newest file, so a folder being written is never taken.
  return stats.newestMtimeMs + policy.retentionDays * DAY_MS < now ? 'stale-orphan' : undefined;
}

export type DeleteRecordingOptions = {
  store: Store;
  recordingId: string;
  log: Logger;
  /** False for a folder whose metadata is already gone (an orphan): only the files are removed. */
  withMetadata?: boolean;
  /** Called with the recording as it was, once it is deleted (not for orphans: nothing is known of them). */
  onDeleted?: (recording: Recording) => void;
  /**
   * Settles what is still being made from it (the levelled mix, formats on request) before the folder goes: a
   * file finished a moment later would land in a folder being removed (and make the removal fail).
   */
  beforeDelete?: (recordingId: string) => Promise<void>;
};

/**
 * Deletes one recording: its folder first, then its metadata (which leaves a tombstone). In that order a
 * crash in between leaves metadata that says what to finish, never metadata pointing at half-deleted files
 * that still look alive. Idempotent. Retention and a host's `/recordings delete` both go through here.
 */
export async function deleteRecording(options: DeleteRecordingOptions): Promise<void> {
  const { store, recordingId, log, withMetadata = true, onDeleted } = options;
  await options.beforeDelete?.(recordingId);
  const before = withMetadata && onDeleted ? await store.getRecording(recordingId) : undefined;
  await rm(store.layout.recordingDir(recordingId), { recursive: true, force: true });
  if (withMetadata) await store.deleteRecordingMetadata(recordingId);
  if (before) onDeleted?.(before);
  log.debug({ recordingId, withMetadata }, 'recording deleted from disk and store');
}

export async function runRetention(options: RunRetentionOptions): Promise<RetentionReport> {
  const { store, now, policy, log, dryRun = false } = options;
  const report: RetentionReport = { dryRun, deleted: [], failed: [] };

  async function remove(recordingId: string, reason: DeletedEntry['reason'], withMetadata: boolean, stats?: FolderStats) {
    const entry: DeletedEntry = { recordingId, reason, files: stats?.files ?? 0, bytes: stats?.bytes ?? 0 };
    if (!dryRun)
      await deleteRecording({
        store,
        recordingId,
        log,
        withMetadata,
        ...(options.onDeleted ? { onDeleted: options.onDeleted } : {}),
        ...(options.beforeDelete ? { beforeDelete: options.beforeDelete } : {}),
      });
    report.deleted.push(entry);
    log.info({ ...entry, dryRun }, dryRun ? 'retention would delete recording' : 'retention deleted recording');
  }

  async function attempt(recordingId: string, work: () => Promise<void>) {
    try {
      await work();
    } catch (error) {
      report.failed.push({ recordingId, error: (error as Error).message });
      log.error({ err: error, recordingId }, 'retention could not delete recording; the next run retries');
    }
  }

  const live = await store.listRecordings();
  for (const recording of live) {
    if (!isExpired(recording, now, policy)) continue;
    await attempt(recording.id, async () =>
      remove(recording.id, 'expired', true, await folderStats(store.layout.recordingDir(recording.id))),
    );
  }

  const liveIds = new Set(live.map((r) => r.id));
  for (const id of await listRecordingFolders(store.layout.recordingsDir, log)) {
    if (liveIds.has(id)) continue;
    await attempt(id, async () => {
      // Created since we listed? Then it is not an orphan.
      if (await store.getRecording(id)) return;
      const stats = await folderStats(store.layout.recordingDir(id));
      if (!stats) return;
      const reason = await orphanVerdict(options, id, stats);
      if (reason) await remove(id, reason, false, stats);
    });
  }

  log.info(
    { dryRun, deleted: report.deleted.length, failed: report.failed.length, now: new Date(now).toISOString() },
    'retention run finished',
  );
  return report;
}
