// Everything roomrec writes holds people's voices, names or consent: folders are 0700 and files 0600, whatever
// the umask. The mode given to mkdir and open is only an upper bound (the umask takes bits off it), so a
// permissive umask would leave them readable by every account on the machine: the mode is set again, explicitly,
// on what was just created.
import { chmodSync, closeSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The folders a recursive mkdir of `target` created, given the first one it reports (none if it created none). */
function createdFolders(first: string | undefined, target: string): string[] {
  if (first === undefined) return [];
  const created = [target];
  for (let dir = target; dir !== first && path.dirname(dir) !== dir;) {
    dir = path.dirname(dir);
    created.push(dir);
  }
  return created;
}

/** `mkdir -p`: every folder it creates is 0700; folders that were already there are left as they are. */
export async function mkdirPrivate(dir: string): Promise<void> {
  const target = path.resolve(dir);
  const first = await mkdir(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const created of createdFolders(first, target)) await chmod(created, PRIVATE_DIR_MODE);
}

export function mkdirPrivateSync(dir: string): void {
  const target = path.resolve(dir);
  const first = mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  for (const created of createdFolders(first, target)) chmodSync(created, PRIVATE_DIR_MODE);
}

/** `fs.promises.open(file, flags)` for writing; the file is 0600 from the moment it is opened. */
export async function openPrivate(file: string, flags: 'w' | 'wx' | 'a'): Promise<FileHandle> {
  const handle = await open(file, flags, PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/** `fs.openSync(file, flags)` for writing (a log), the file 0600; returns the descriptor. */
export function openPrivateSync(file: string, flags: 'a'): number {
  const fd = openSync(file, flags, PRIVATE_FILE_MODE);
  try {
    fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

/** `fs.promises.writeFile`, the file 0600. */
export async function writePrivateFile(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await openPrivate(file, 'w');
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/**
 * One folder (0700) inside `dir`'s parent, which must exist: unlike mkdirPrivate it never creates the parents, so
 * a writer whose recording was deleted meanwhile fails (ENOENT) instead of bringing its folder back.
 */
export async function mkdirPrivateIn(dir: string): Promise<void> {
  try {
    await mkdir(dir, { mode: PRIVATE_DIR_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw error;
  }
  await chmod(dir, PRIVATE_DIR_MODE);
}
