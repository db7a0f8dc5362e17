// The download server against clients that are slow, stalled, too many, or that send bad link after bad link.
// Real sockets over loopback, the server's limits set small; every wait is on an event (a socket's close, a log
// line), never on a sleep.
import { mkdir, mkdtemp, readdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startDownloadServer, type DownloadServer, type DownloadServerOptions } from '../../src/http/download-server.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import type { RecordingSource, RecordingView } from '../../src/http/recording-source.ts';
import { createLogger } from '../../src/log.ts';
import { until } from '../helpers/until.ts';

const T0 = Date.UTC(2025, 3, 1, 12, 0, 0);
const HOUR = 3_600_000;
const BIG_TRACK_BYTES = 32 * 1024 * 1024; // far more than loopback's socket buffers hold

const RECORDING: RecordingView = {
  id: 'abcdefghij',
  hostName: 'Host',
  startedAt: T0,
  stoppedAt: T0 + HOUR,
  state: 'ready',
  speakers: [{ userId: '111', name: 'Mira', trackFile: 'tracks/1-x-111.ogg', consentedAt: T0, includeInMix: true }],
  mix: undefined,
};
const source: RecordingSource = {
  getRecording: async (id) => (id === RECORDING.id ? RECORDING : undefined),
  consentEvents: async () => [],
};

type LogLine = { level: number; msg: string } & Record<string, unknown>;

let root: string;
let trackPath: string;
let clock = T0 + 2 * HOUR;
let lines: LogLine[] = [];
const servers: DownloadServer[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomrec-http-hardening-'));
  trackPath = path.join(root, 'recordings', RECORDING.id, 'tracks/1-x-111.ogg');
  await mkdir(path.dirname(trackPath), { recursive: true });
  await writeFile(trackPath, Buffer.alloc(BIG_TRACK_BYTES, 7));
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  lines = [];
  clock = T0 + 2 * HOUR;
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function start(overrides: Partial<DownloadServerOptions> = {}): Promise<DownloadServer> {
  const log = createLogger({
    level: 'debug',
    name: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  });
  const server = await startDownloadServer({
    source,
    dataDir: root,
    signer: createLinkSigner({ secret: 'hardening-test-secret-0123456789abcdef' }),
    host: '127.0.0.1',
    port: 0,
    retentionDays: 30,
    log,
    now: () => clock,
    ...overrides,
  });
  servers.push(server);
  return server;
}

/** A raw connection, with everything it received and a promise of its close. */
function open(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received, closed, connected, text: () => Buffer.concat(received).toString('latin1') };
}

const logged = (msg: string) => lines.filter((line) => line.msg === msg);

describe('slow and stalled connections', () => {
  test('a client that never finishes its headers gets 408 and is disconnected (slowloris)', async () => {
    const server = await start({ connections: { headersTimeoutMs: 100, requestTimeoutMs: 200 } });
    const client = open(server.port);
    await client.connected;
    client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await client.closed;
    expect(client.text()).toMatch(/^HTTP\/1\.1 408 /);
  });

  test('a download the client stops reading is cut off, and the file it was reading is closed', async () => {
    const server = await start({ connections: { idleTimeoutMs: 100 } });
    const link = new URL(server.linkFor(RECORDING.id).url).pathname;
    const client = open(server.port);
    await client.connected;
    client.socket.pause(); // reads nothing: the server's writes stall once the socket buffers are full
    client.socket.write(`GET ${link}/tracks/1 HTTP/1.1\r\nHost: x\r\n\r\n`);
    await until(() => (logged('idle connection closed').length > 0 ? true : undefined), 'the idle connection to be closed');
    client.socket.resume();
    await client.closed;
    const [head] = client.text().split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toContain(`Content-Length: ${BIG_TRACK_BYTES}`);
    expect(Buffer.concat(client.received).length).toBeLessThan(BIG_TRACK_BYTES);
    if (process.platform === 'linux') {
      const openTrack = async () => {
        const fds = await readdir('/proc/self/fd');
        const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
        return targets.includes(await realpath(trackPath));
      };
      await until(async () => ((await openTrack()) ? undefined : true), 'the track file to be closed');
    }
  });

  test('connections past the cap are closed at once, unanswered, and logged once with a count', async () => {
    const server = await start({ connections: { maxConnections: 2, keepAliveTimeoutMs: 60_000 } });
    const kept = [open(server.port), open(server.port)];
    for (const client of kept) {
      client.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await until(() => (client.text().includes('\r\n\r\nok\n') ? true : undefined), 'a kept-alive answer');
    }
    for (let i = 0; i < 2; i += 1) {
      const extra = open(server.port);
      extra.socket.on('error', () => {}); // the server may reset it
      extra.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await extra.closed;
      expect(extra.text()).toBe('');
    }
    expect(logged('connection refused: the download server has as many open as it allows')).toHaveLength(1);
    for (const client of kept) client.socket.destroy();
    await servers.splice(0)[0]?.close();
    expect(logged('connections refused at the cap').map((line) => line.refused)).toEqual([2]);
  });
});

describe('refused links', () => {
  const bad = (n: number) => `/r/${'A'.repeat(50)}${n}`;

  async function get(server: DownloadServer, target: string, headers: Record<string, string> = {}) {
    const reply = await fetch(`${server.url}${target}`, { headers });
    return { status: reply.status, retryAfter: reply.headers.get('retry-after'), body: await reply.text() };
  }

  test('past the limit an address is told when to come back, and its links, even good ones, are not looked at', async () => {
    const server = await start({ refusedLinks: { limit: 3, windowMs: HOUR } });
    const good = new URL(server.linkFor(RECORDING.id).url).pathname;
    const refusals = [await get(server, bad(1)), await get(server, bad(2)), await get(server, bad(3))];
    expect(refusals.map((r) => r.status)).toEqual([403, 403, 403]);
    expect(new Set(refusals.map((r) => r.body)).size).toBe(1);
    expect(await get(server, bad(4))).toMatchObject({ status: 429, retryAfter: '3600' });
    clock += 20 * 60_000;
    expect(await get(server, good)).toMatchObject({ status: 429, retryAfter: '2400' });
    expect(await get(server, '/healthz')).toMatchObject({ status: 200 });

    clock += 40 * 60_000; // the window is over
    expect((await get(server, good)).status).toBe(200);
    expect((await get(server, bad(5))).status).toBe(403);
  });

  test('the log gets the first refusal of a window, then one line with the count, never a token', async () => {
    const server = await start({ refusedLinks: { limit: 3, windowMs: HOUR } });
    for (let n = 0; n < 6; n += 1) await get(server, bad(n));
    await get(server, '/r/short');
    expect(logged('download link refused')).toEqual([expect.objectContaining({ client: '127.0.0.1', reason: 'malformed' })]);
    clock += HOUR;
    await get(server, bad(9));
    expect(logged('download links refused')).toEqual([
      expect.objectContaining({ client: '127.0.0.1', refused: 3, turnedAway: 4, reasons: { malformed: 3 } }),
    ]);
    expect(logged('download link refused')).toHaveLength(2);
    const text = JSON.stringify(lines);
    expect(text).not.toContain('A'.repeat(50));
    expect(text).not.toContain('short');
  });

  test('a lone refusal is its one line; windows still open when the server closes are summed up then', async () => {
    const server = await start({ trustProxy: true, refusedLinks: { limit: 10, windowMs: HOUR } });
    await get(server, bad(1), { 'X-Forwarded-For': '203.0.113.7' });
    await get(server, bad(2), { 'X-Forwarded-For': '198.51.100.2' });
    await get(server, bad(3), { 'X-Forwarded-For': '198.51.100.2' });
    expect(logged('download link refused').map((line) => line.client)).toEqual(['203.0.113.7', '198.51.100.2']);
    await servers.splice(0)[0]?.close();
    expect(logged('download links refused')).toEqual([expect.objectContaining({ client: '198.51.100.2', refused: 2, turnedAway: 0 })]);
  });

  test('X-Forwarded-For is ignored unless the proxy is trusted: sending one does not escape the limit', async () => {
    const server = await start({ refusedLinks: { limit: 1, windowMs: HOUR } });
    expect((await get(server, bad(1), { 'X-Forwarded-For': '203.0.113.7' })).status).toBe(403);
    expect((await get(server, bad(2), { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
  });

  test('behind a trusted proxy each client is limited on its own, by the address the proxy appended', async () => {
    const server = await start({ trustProxy: true, refusedLinks: { limit: 1, windowMs: HOUR } });
    expect((await get(server, bad(1), { 'X-Forwarded-For': '203.0.113.7' })).status).toBe(403);
    expect((await get(server, bad(2), { 'X-Forwarded-For': '203.0.113.7' })).status).toBe(429);
    expect((await get(server, bad(3), { 'X-Forwarded-For': '198.51.100.2' })).status).toBe(403);
    // What the client wrote before the proxy's entry is the client's word, not the proxy's.
    expect((await get(server, bad(4), { 'X-Forwarded-For': '192.0.2.1, 203.0.113.7' })).status).toBe(429);
    expect(logged('download link refused').map((line) => line.client)).toEqual(['203.0.113.7', '198.51.100.2']);
  });
});
