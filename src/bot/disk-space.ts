// `/record start` looks at the free space where recordings go before anything visible happens: a room started
// on a nearly full disk would soon record silence (speaker-track.ts), so below MIN_FREE_DISK_MB it is refused,
// and below twice that it starts with a warning.
import { statfs } from 'node:fs/promises';

export type FreeSpaceVerdict = { verdict: 'ok' | 'warn' | 'refuse'; freeMb: number };

const MB = 1024 * 1024;

/** Pure: what `/record start` does with `freeBytes` free and a threshold of `minFreeMb` (0: never refuse or warn). */
export function judgeFreeSpace(freeBytes: number, minFreeMb: number): FreeSpaceVerdict {
  const freeMb = Math.floor(freeBytes / MB);
  if (minFreeMb === 0) return { verdict: 'ok', freeMb };
  if (freeBytes < minFreeMb * MB) return { verdict: 'refuse', freeMb };
  return { verdict: freeBytes < 2 * minFreeMb * MB ? 'warn' : 'ok', freeMb };
}

/** Bytes an unprivileged process may still write on the file system holding `dir`. */
export async function freeBytesAt(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

export function lowSpaceRefusal(freeMb: number, minFreeMb: number): string {
  return (
    `I can't start recording: the bot's disk has only ${freeMb} MB free, below the ${minFreeMb} MB it needs to record safely ` +
    '(`MIN_FREE_DISK_MB`). Ask whoever runs the bot to free some space, then try again.'
  );
}

export function lowSpaceWarning(freeMb: number): string {
  return (
    `⚠️ The bot's disk has only ${freeMb} MB free. If it fills up, recording pauses (what is recorded stays safe) ` +
    'and resumes by itself when space is freed.'
  );
}
