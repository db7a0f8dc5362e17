// Background work on a worker thread (a live mix, a format made for a download) may fall behind for a while; the
// voice socket on the main thread may not. So such a thread runs at a lower CPU priority: when the cores are
// busy (other rooms, other programs) the main thread gets the CPU first instead of sharing it equally.
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';

/** Nice value of a background thread (0 is normal, 19 the lowest); the threads it starts inherit it. */
const BACKGROUND_NICE = 10;

/**
 * On Linux the nice value belongs to a thread, set through the thread's own id; elsewhere it would lower the
 * whole process, so it is left alone there, as it is when the system refuses. Call it on the worker thread.
 */
export function lowerThisThreadsPriority(): void {
  if (process.platform !== 'linux') return;
  try {
    const tid = Number(basename(readlinkSync('/proc/thread-self')));
    // Never raised: a bot started under `nice` keeps its threads at least that low.
    if (getPriority(tid) < BACKGROUND_NICE) setPriority(tid, BACKGROUND_NICE);
  } catch {
    // Normal priority it is: the work is the same, only less polite to the main thread.
  }
}
