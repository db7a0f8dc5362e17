// Mix files left half-written by a process that died: `mix.<ext>.partial-<pid>` and
// `mix-levelled.<ext>.partial-<pid>` (the mixer) and `mix.<ext>.live-partial-<pid>` (the live mix), next to where
// the finished mix goes, and the formats a download asked for, `formats/<asset>.<ext>.partial-<pid>`. Nothing ever
// reads them again (a format is served only once renamed into place, and a new job writes a partial of its own),
// and a live partial can hold a withdrawn speaker's voice (the bot crashed between the withdrawal and the live mix
// starting over without them), so they are removed at start-up, except for recordings being written.
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.ts';
import { ifThere } from './if-there.ts';
import { isRecordingId, type Layout } from './layout.ts';

const LEFTOVER = /^mix(?:-levelled)?\.[a-z0-9]+\.(?:live-)?partial-[^/]*$/;
const LEFTOVER_FORMAT = /\.partial-[^/]*$/;

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
  const folders = (await ifThere(readdir(layout.recordingsDir, { withFileTypes: true }))) ?? [];
  for (const folder of folders) {
    if (!folder.isDirectory() || !isRecordingId(folder.name) || deps.isLive(folder.name)) continue;
    const recordingId = folder.name;
    const dir = layout.recordingDir(recordingId);
    const formatsDir = layout.formatsDir(recordingId);
    const files = [
      ...(await filesIn(dir)).filter(isLeftoverMixFile),
      ...(await filesIn(formatsDir))
        .filter((name) => LEFTOVER_FORMAT.test(name))
        .map((name) => path.join(path.relative(dir, formatsDir), name)),
    ];
    if (files.length === 0) continue;
    // The folders' newest mtime is an orphan's age (retention): housekeeping must not move it.
    const times = await Promise.all([dir, formatsDir].map((d) => ifThere(stat(d))));
    await Promise.all(files.map((name) => rm(layout.file(recordingId, name), { force: true })));
    for (const [i, d] of [dir, formatsDir].entries()) {
      const before = times[i];
      if (before) await utimes(d, before.atime, before.mtime);
    }
    log.info({ recordingId, files }, `removed ${files.length} unfinished mix file(s) left by an earlier run`);
    removed.push({ recordingId, files });
  }
  return removed;
}

/** The regular files directly in `dir`; none when it does not exist. */
async function filesIn(dir: string): Promise<string[]> {
  const entries = (await ifThere(readdir(dir, { withFileTypes: true }))) ?? [];
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}
