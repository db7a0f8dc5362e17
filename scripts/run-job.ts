// Run a maintenance job by hand with the configured store:
//   npm run run-job -- retention [--dry-run]
//   npm run run-job -- rebuild-index
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { ConfigError, envWithDotenv, loadConfig, type Config } from '../src/config.ts';
import { createLogger, type Logger } from '../src/log.ts';
import { runRetention } from '../src/storage/retention.ts';
import { openStore, type Store } from '../src/storage/store.ts';
import { createWebhook } from '../src/webhook/webhook.ts';

/** How long the job waits for the webhook receiver to take its `recording.deleted` events before it exits. */
const DELIVERY_WAIT_MS = 10_000;

type Job = {
  describe: string;
  run(deps: { config: Config; store: Store; log: Logger; dryRun: boolean }): Promise<{ ok: boolean }>;
};

const JOBS: Record<string, Job> = {
  retention: {
    describe: 'delete recordings older than RETENTION_DAYS (and orphaned folders); --dry-run lists them only',
    async run({ config, store, log, dryRun }) {
      // The same `recording.deleted` events the bot's own retention sends. Delivery is tried while the job runs;
      // what the receiver has not taken when it ends stays in the store's outbox, which the bot delivers when it
      // next starts. Nothing issues links here: deleted events carry none.
      const webhook =
        config.webhook && !dryRun
          ? createWebhook({
              ...config.webhook,
              store,
              log: log.child({ part: 'webhook' }),
              now: Date.now,
              issueLink: () => Promise.reject(new Error('run-job sends only recording.deleted, which has no link')),
            })
          : undefined;
      const report = await runRetention({
        store,
        log,
        dryRun,
        now: Date.now(),
        policy: { retentionDays: config.retention.days },
        ...(webhook ? { onDeleted: (recording) => void webhook.notify('recording.deleted', recording) } : {}),
      });
      if (webhook) {
        await Promise.race([webhook.idle(), delay(DELIVERY_WAIT_MS, undefined, { ref: false })]);
        await webhook.close();
      }
      return { ok: report.failed.length === 0 };
    },
  },
  'rebuild-index': {
    describe: 'restore metadata of recordings the database lost from recordings/<id>/meta.json',
    async run({ store, log }) {
      const report = await store.rebuildIndexFromDisk();
      log.info(report, 'rebuild-index finished');
      return { ok: true };
    },
  },
};

function usage(): string {
  const jobs = Object.entries(JOBS).map(([name, job]) => `  ${name.padEnd(14)} ${job.describe}`);
  return ['usage: npm run run-job -- <job> [--dry-run]', '', 'jobs:', ...jobs].join('\n');
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    console.log(usage());
    return 0;
  }
  const name = positionals[0];
  const job = name !== undefined && Object.hasOwn(JOBS, name) ? JOBS[name] : undefined;
  if (!job || positionals.length > 1) {
    console.error(`${name === undefined ? 'no job given' : `unknown job ${JSON.stringify(positionals.join(' '))}`}\n\n${usage()}`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig(envWithDotenv());
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = createLogger({ level: config.logLevel, name: `run-job:${name}` });
  const store = await openStore({ dataDir: config.dataDir, keyvUrl: config.keyv.url, log });
  try {
    const { ok } = await job.run({ config, store, log, dryRun: values['dry-run'] });
    return ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

process.exitCode = await main();
