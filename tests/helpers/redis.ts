// A throwaway redis-server on a free loopback port, for suites that must prove the Redis backend behaves like
// SQLite. When the binary is missing the suites skip with REDIS_SKIP_REASON in their name (CI installs it).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this PATH entry: keep looking.
    }
  }
  return undefined;
}

export const redisServerPath: string | undefined = findOnPath('redis-server');

export const REDIS_SKIP_REASON = redisServerPath
  ? ''
  : 'skipped: redis-server is not installed (apt-get install redis-server; CI installs it)';

export type RedisServer = { url: string; stop(): Promise<void> };

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function waitUntilReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`redis-server not ready after ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null) => fail(new Error(`redis-server exited (${code}):\n${output}`));
    function cleanup() {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    }
    function fail(error: Error) {
      cleanup();
      reject(error);
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Starts redis-server with no persistence in a temp dir; retries when the chosen port was taken meanwhile. */
export async function startRedis(): Promise<RedisServer> {
  if (!redisServerPath) throw new Error(REDIS_SKIP_REASON);
  const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      redisServerPath,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await waitUntilReady(child, 30_000);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      continue;
    }
    // Keep draining its log so a full pipe never stalls the server.
    child.stdout?.resume();
    return {
      url: `redis://127.0.0.1:${port}`,
      async stop() {
        if (child.exitCode === null) {
          const exited = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGTERM');
          await exited;
        }
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
