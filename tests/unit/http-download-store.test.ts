// The download server over the real metadata store (SQLite in a temp dir): the store satisfies the server's
// narrow RecordingSource, and deleting a recording's metadata turns its live links into 410 Gone.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDownloadServer, type DownloadServer } from '../../src/http/download-server.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import type { RecordingSource } from '../../src/http/recording-source.ts';
import { silentLogger } from '../../src/log.ts';
import { trackFileName } from '../../src/storage/layout.ts';
import { openStore, type Store } from '../../src/storage/store.ts';

const T0 = Date.UTC(2025, 5, 1, 9, 0, 0);
let root: string;
let store: Store;
let server: DownloadServer;

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomrec-http-store-'));
  store = await openStore({ dataDir: root, log: silentLogger(), now: () => T0 });
  const source: RecordingSource = store;
  server = await startDownloadServer({
    source,
    dataDir: root,
    signer: createLinkSigner({ secret: 'store-test-secret-0123456789abcdefghij' }),
    host: '127.0.0.1',
    port: 0,
    retentionDays: 30,
    log: silentLogger(),
    now: () => T0 + 60_000,
  });
});

afterAll(async () => {
  await server.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

test('a stored recording is served, and 410 once its metadata is deleted', async () => {
  const created = await store.createRecording({
    guildId: '100000000000000001',
    channelId: '100000000000000002',
    textChannelId: '100000000000000003',
    hostId: '100000000000000004',
    hostName: 'Host',
    startedAt: T0,
  });
  const trackFile = trackFileName(1, 'Mira', '100000000000000005');
  await mkdir(path.dirname(store.layout.file(created.id, trackFile)), { recursive: true });
  await writeFile(store.layout.file(created.id, trackFile), Buffer.alloc(1234, 1));
  await store.appendConsentEvent({ recordingId: created.id, userId: '100000000000000005', name: 'Mira', event: 'granted', at: T0 });
  await store.updateRecording(created.id, (draft) => {
    draft.state = 'failed';
    draft.stoppedAt = T0 + 1000;
    draft.speakers.push({ userId: '100000000000000005', name: 'Mira', trackFile, consentedAt: T0, includeInMix: true });
  });

  const link = server.linkFor(created.id);
  const page = await fetch(link.url);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('01 Mira');
  expect(html).toContain('<td>Mira</td><td>opted in</td>');
  const track = await fetch(`${link.url}/tracks/1`);
  expect(track.status).toBe(200);
  expect(Buffer.from(await track.arrayBuffer()).equals(Buffer.alloc(1234, 1))).toBe(true);

  await store.deleteRecordingMetadata(created.id);
  expect((await fetch(link.url)).status).toBe(410);
  expect((await fetch(`${link.url}/tracks/1`)).status).toBe(410);
});
