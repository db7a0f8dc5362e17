// `npm start` when Discord cannot be logged in to: a wrong token (the stand-in answers REST 401, as Discord
// does) or no Discord at the address. The process must say what is wrong and exit non-zero by itself: the
// download server and the retention job opened before the login must not keep it alive.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import type { DiscordSim } from '../../discord-sim/index.ts';

const ROOT = path.join(import.meta.dirname, '..', '..');
let dir: string;
let sim: DiscordSim;

const CHILD = `
import { main } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src', 'main.ts')).href)};
import { loadBotConfig } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src', 'config.ts')).href)};
import { silentLogger } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src', 'log.ts')).href)};
await main({ config: loadBotConfig(process.env), discordApi: process.env.API, httpPort: 0, log: silentLogger() });
`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-startup-'));
  await writeFile(path.join(dir, 'child.mjs'), CHILD);
  sim = await startSimForBot();
}, 60_000);

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the bot's entry point; resolves with how it ended, or rejects if it is still running after 30 s. */
function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', 'node'), [path.join(dir, 'child.mjs')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      LINK_SECRET: randomBytes(32).toString('hex'),
      DATA_DIR: path.join(dir, 'data'),
      NODE_NO_WARNINGS: '1',
      ...env,
    },
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the bot did not exit within 30 s (it hangs); stderr: ${stderr}`));
    }, 30_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test('a token Discord rejects: a clear message and a non-zero exit', async () => {
  const { code, stderr } = await runMain({ DISCORD_TOKEN: 'not-the-token', API: sim.restUrl });
  expect(code).toBe(1);
  expect(stderr).toMatch(/Discord rejected DISCORD_TOKEN \(.+\): reset it in the developer portal/);
  expect(stderr).not.toMatch(/\n\s+at /); // a sentence, not a stack trace
}, 40_000);

test('no Discord at the address: a clear message and a non-zero exit', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
  const api = `http://127.0.0.1:${port}/api`;
  const { code, stderr } = await runMain({ DISCORD_TOKEN: sim.token, API: api });
  expect(code).toBe(1);
  expect(stderr).toContain(`cannot reach Discord at ${api}`);
}, 40_000);
