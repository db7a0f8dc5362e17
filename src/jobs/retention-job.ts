// The thin scheduling shell around runRetention: a run at start-up (catch up after downtime), then on the cron
// schedule. Runs never overlap; stop() waits for the one in flight so the store can be closed after it.
import cron from 'node-cron';
import type { Logger } from '../log.ts';
import { runRetention, type RetentionPolicy, type RetentionReport } from '../storage/retention.ts';
import type { Recording, Store } from '../storage/store.ts';

type ScheduledHandle = { stop(): void | Promise<void> };
/** Calls `task` on the cron `expression` until stopped; node-cron by default, a manual trigger in tests. */
export type Scheduler = (expression: string, task: () => Promise<void>) => ScheduledHandle;

const nodeCronScheduler: Scheduler = (expression, task) => {
  const scheduled = cron.schedule(expression, task, { name: 'retention', noOverlap: true });
  // destroy (not just stop) also drops it from node-cron's task registry.
  return { stop: () => scheduled.destroy() };
};

export type RetentionJobOptions = {
  store: Store;
  policy: RetentionPolicy;
  cron: string;
  log: Logger;
  clock?: () => number;
  schedule?: Scheduler;
  /** Each recording retention deleted, as it was (the webhook's `recording.deleted`). */
  onDeleted?: (recording: Recording) => void;
  /** Settles what is still being made from a recording before it goes (retention.ts DeleteRecordingOptions). */
  beforeDelete?: (recordingId: string) => Promise<void>;
};

export type RetentionJob = {
  /** The start-up catch-up run; undefined when it failed (the failure is logged). */
  readonly startup: Promise<RetentionReport | undefined>;
  /** Runs once now, after any run in flight. */
  runNow(): Promise<RetentionReport>;
  stop(): Promise<void>;
};

export function startRetentionJob(options: RetentionJobOptions): RetentionJob {
  const { store, policy, log, clock = Date.now, schedule = nodeCronScheduler } = options;
  let queue: Promise<unknown> = Promise.resolve();
  let stopped = false;

  const runNow = (): Promise<RetentionReport> => {
    const run = queue.then(() =>
      runRetention({
        store,
        policy,
        log,
        now: clock(),
        ...(options.onDeleted ? { onDeleted: options.onDeleted } : {}),
        ...(options.beforeDelete ? { beforeDelete: options.beforeDelete } : {}),
      }),
    );
    // The queue only orders runs; the caller of this run gets its error.
    queue = run.catch(() => undefined);
    return run;
  };

  const logged = (trigger: string) =>
    runNow().catch((error: unknown) => {
      log.error({ err: error, trigger }, 'retention run failed; the next scheduled run retries');
      return undefined;
    });

  const startup = logged('startup');
  const task = schedule(options.cron, async () => {
    if (!stopped) await logged('schedule');
  });
  log.info({ cron: options.cron, retentionDays: policy.retentionDays }, 'retention job scheduled');

  return {
    startup,
    runNow,
    async stop() {
      stopped = true;
      await task.stop();
      await queue;
    },
  };
}
