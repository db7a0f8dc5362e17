// `npm run run-job -- retention` as an operator runs it, with WEBHOOK_URL set: the recordings it deletes are
// announced like those the bot's own retention deletes, signed; what the receiver does not take stays queued.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { openStore } from '../../src/storage/store.ts';
import { verifyWebhook } from '../../src/webhook/signature.ts';
import { runScript } from '../helpers/cli.ts';
import { newRoom } from '../helpers/new-recording.ts';
import { freePort, startWebhookReceiver } from '../helpers/webhook-receiver.ts';

const RUN_JOB = path.join(import.meta.dirname, '..', '..', 'scripts', 'run-job.ts');
const SECRET = 'a-webhook-secret-of-some-length';
const DAY = 86_400_000;
const HANG_GUARD_MS = 120_000;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-run-job-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A data directory holding one recording stopped 40 days ago; `.env` in `dir` points the job at it. */
async function oldRecording(webhookUrl: string): Promise<string> {
  const dataDir = path.join(dir, 'data');
  const store = await openStore({ dataDir, log: silentLogger() });
  const rec = await store.createRecording(newRoom(Date.now() - 41 * DAY));
  await store.updateRecording(rec.id, (r) => ({ ...r, state: 'ready', stoppedAt: Date.now() - 40 * DAY }));
  await store.close();
  await writeFile(path.join(dir, '.env'), `DATA_DIR=${dataDir}\nWEBHOOK_URL=${webhookUrl}\nWEBHOOK_SECRET=${SECRET}\nLOG_LEVEL=warn\n`);
  return rec.id;
}

test('each recording it deletes is POSTed as recording.deleted, signed', async () => {
  const receiver = await startWebhookReceiver([200]);
  try {
    const id = await oldRecording(receiver.url);
    const run = await runScript(RUN_JOB, ['retention'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
    expect([run.code, run.stderr]).toEqual([0, '']);
    expect(receiver.requests).toHaveLength(1);
    const { headers, body } = receiver.requests[0]!;
    expect(verifyWebhook(SECRET, headers, body)).toMatchObject({ ok: true });
    expect(JSON.parse(body)).toMatchObject({ type: 'recording.deleted', recording: { id } });
  } finally {
    await receiver.close();
  }
});

test('a receiver that is down: the job still ends, and the event waits in the outbox for the bot', async () => {
  const id = await oldRecording(`http://127.0.0.1:${await freePort()}/hook`);
  const run = await runScript(RUN_JOB, ['retention'], { cwd: dir, timeoutMs: HANG_GUARD_MS });
  expect(run.code).toBe(0);
  const store = await openStore({ dataDir: path.join(dir, 'data'), log: silentLogger() });
  try {
    expect((await store.pendingWebhooks()).map((e) => [e.type, e.recordingId])).toEqual([['recording.deleted', id]]);
    expect(await store.getRecording(id)).toBeUndefined();
  } finally {
    await store.close();
  }
});
