// The formats made on request (catalog.ts FORMAT_RULES says how), one job per (recording, asset, format) however
// many requests ask for it, at most `concurrency` at once and the rest queued in order of asking. Each runs on a
// thread of its own (format-thread.ts) into a partial file renamed into place when complete, so a file that is
// there is whole. What is known of a job lives here, in memory: the file on disk is the only record of a made
// format (a restart forgets queued, running and failed jobs; start-up removes their partial files).
import path from 'node:path';
import { runFormatJob, type FormatJob, type RunningFormatJob } from '../audio/format-thread.ts';
import type { Logger } from '../log.ts';
import { mkdirPrivateIn } from '../storage/private-files.ts';

type JobState =
  /** Nobody asked yet (or the server restarted since). */
  | { state: 'absent' }
  | { state: 'queued' }
  | { state: 'preparing'; percent: number }
  /** Made by this process: the file is in place unless someone removed it since. */
  | { state: 'done' }
  /** The last attempt failed (logged); asking with `retry` starts it again. */
  | { state: 'failed' };

export type FormatJobs = {
  /** The state of the job `key` names, without starting it. */
  stateOf(key: string): JobState;
  /**
   * Starts `job` unless it is queued, running or done already (a failed one only with `retry`), and returns its
   * state. `key` names it: the recording and the format file's key.
   */
  request(key: string, job: FormatJob, options: { retry: boolean; recordingId: string }): JobState;
  /** Forgets a done job whose file has gone, so the next request makes it again. */
  forget(key: string): void;
  /**
   * Drops every job of a recording whose audio is about to change (a speaker forgotten): the queued ones, and the
   * running ones stopped at their next block; resolves once none is left running.
   */
  dropRecording(recordingId: string): Promise<void>;
  /** Stops the running jobs at their next block, drops the queue, and waits for the threads to end. */
  close(): Promise<void>;
};

const DEFAULT_FORMAT_CONCURRENCY = 1;

type Entry =
  | { status: 'queued'; job: FormatJob; recordingId: string }
  | { status: 'running'; done: number; total: number; run?: RunningFormatJob; finished?: Promise<void> }
  | { status: 'done' }
  | { status: 'failed' };

export function createFormatJobs({ concurrency = DEFAULT_FORMAT_CONCURRENCY, log }: { concurrency?: number; log: Logger }): FormatJobs {
  const entries = new Map<string, Entry>();
  const queue: string[] = [];
  const running = new Set<Promise<void>>();
  // Keys are `<recording id>/<format file key>` (download-server.ts jobKey).
  const jobsOf = (recordingId: string) => [...entries].filter(([key]) => key.startsWith(`${recordingId}/`));
  let closed = false;

  const stateOf = (key: string): JobState => {
    const entry = entries.get(key);
    switch (entry?.status) {
      case undefined:
        return { state: 'absent' };
      case 'queued':
        return { state: 'queued' };
      case 'running':
        return { state: 'preparing', percent: entry.total > 0 ? Math.min(99, Math.floor((100 * entry.done) / entry.total)) : 0 };
      case 'done':
        return { state: 'done' };
      case 'failed':
        return { state: 'failed' };
    }
  };

  const pump = () => {
    while (!closed && running.size < concurrency && queue.length > 0) {
      const key = queue.shift()!;
      const entry = entries.get(key);
      if (entry?.status === 'queued') start(key, entry.job, entry.recordingId);
    }
  };

  const start = (key: string, job: FormatJob, recordingId: string) => {
    const fields = { recordingId, kind: job.kind, format: job.format, output: path.basename(job.output) };
    const startedAt = performance.now();
    log.info(fields, 'making a format on request');
    const entry: Entry & { status: 'running' } = { status: 'running', done: 0, total: 0 };
    entries.set(key, entry);
    const finished = (async () => {
      try {
        // The recording's folder must exist already: a deleted recording's folder is not made again.
        await mkdirPrivateIn(path.dirname(job.output));
        if (closed) throw new Error('the server closed before the format was started');
        entry.run = runFormatJob(job, (done, total) => Object.assign(entry, { done, total }));
        await entry.run.finished;
        entries.set(key, { status: 'done' });
        log.info({ ...fields, ms: Math.round(performance.now() - startedAt) }, 'format made');
      } catch (error) {
        entries.set(key, { status: 'failed' });
        log.error({ ...fields, err: error }, 'making a format failed; the page offers to try again');
      }
    })();
    entry.finished = finished;
    running.add(finished);
    void finished.then(() => {
      running.delete(finished);
      pump();
    });
  };

  return {
    stateOf,
    request(key, job, { retry, recordingId }) {
      const current = entries.get(key)?.status;
      if (closed || current === 'queued' || current === 'running' || current === 'done' || (current === 'failed' && !retry))
        return stateOf(key);
      entries.set(key, { status: 'queued', job, recordingId });
      queue.push(key);
      pump();
      return stateOf(key);
    },
    forget(key) {
      if (entries.get(key)?.status === 'done') entries.delete(key);
    },
    async dropRecording(recordingId) {
      const stopping: Promise<void>[] = [];
      for (const [key, entry] of jobsOf(recordingId)) {
        if (entry.status === 'running') {
          entry.run?.abort();
          if (entry.finished) stopping.push(entry.finished);
        }
        entries.delete(key);
      }
      queue.splice(0, queue.length, ...queue.filter((key) => entries.has(key)));
      await Promise.all(stopping);
      // A job that ended meanwhile set its state again: it is for the old audio.
      for (const [key] of jobsOf(recordingId)) entries.delete(key);
    },
    async close() {
      closed = true;
      for (const key of queue.splice(0)) entries.delete(key);
      for (const entry of entries.values()) if (entry.status === 'running') entry.run?.abort();
      await Promise.all(running);
    },
  };
}
