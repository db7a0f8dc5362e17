// Mix files left half-written by a process that died: `mix.<ext>.partial-<pid>` and
// `mix-levelled.<ext>.partial-<pid>` (the mixer) and `mix.<ext>.live-partial-<pid>` (the live mix), next to where the finished mix goes. Nothing ever reads them
// again, and a live partial can hold a withdrawn speaker's voice (the bot crashed between the withdrawal and the
// live mix starting over without them), so they are removed at start-up, except for recordings being written.
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import type { Logger } from '../log.ts';
import { isRecordingId, type Layout } from './layout.ts';

const LEFTOVER = /^mix(?:-levelled)?\.[a-z0-9]+\.(?:live-)?partial-[^/]*$/;

/** Whether `fileName` (in a recording's folder) is an unfinished mix output. */
export function isLeftoverMixFile(fileName: string): boolean {
  return LEFTOVER.test(fileName);
}

export type RemovedLeftovers = { recordingId: string; files: string[] }[];

/** Removes unfinished mix outputs of every recording that `isLive` says is not being written; logs each removal. */
export async function removeLeftoverMixFiles(deps: {
  layout: Layout;
  isLive: (recordingId: string) => boolean;
  log: Logger;
}): Promise<RemovedLeftovers> {
  const { layout, log } = deps;
  const removed: RemovedLeftovers = [];
  const folders = await readdir(layout.recordingsDir, { withFileTypes: true }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  });
  for (const folder of folders) {
    if (!folder.isDirectory() || !isRecordingId(folder.name) || deps.isLive(folder.name)) continue;
    const recordingId = folder.name;
    const dir = layout.recordingDir(recordingId);
    const entries = await readdir(dir, { withFileTypes: true });
    const files = entries.filter((e) => e.isFile() && isLeftoverMixFile(e.name)).map((e) => e.name);
    if (files.length === 0) continue;
    // The folder's newest mtime is an orphan's age (retention): housekeeping must not move it.
    const times = await stat(dir);
    await Promise.all(files.map((name) => rm(layout.file(recordingId, name), { force: true })));
    await utimes(dir, times.atime, times.mtime);
    log.info({ recordingId, files }, `removed ${files.length} unfinished mix file(s) left by an earlier run`);
    removed.push({ recordingId, files });
  }
  return removed;
}
