// `npm run demo -- --scenario FILE --out DIR [--hold]` as a user runs it: a child process, the contract's
// result.json, exit codes, and the download server held open until SIGINT.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';

const ROOT = path.join(import.meta.dirname, '..', '..');
const NODE = path.join(ROOT, 'node_modules', '.bin', 'node');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-demo-'));
  for (const name of ['alice', 'bob']) await copyFile(path.join(ROOT, 'scripts', 'demo', `${name}.wav`), path.join(dir, `${name}.wav`));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function demo(args: string[]) {
  const child = spawn(NODE, ['scripts/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, out: () => stdout, err: () => stderr };
}

test('a bad scenario file: non-zero exit, every problem named, nothing written', async () => {
  const file = path.join(dir, 'bad.json');
  await writeFile(file, JSON.stringify({ name: 'x', host: 'nobody', speakers: [{ id: 'a', audio: 'a.mp3' }], endAt: 5 }));
  const run = demo(['--scenario', file, '--out', path.join(dir, 'bad-out')]);
  expect(await run.exit).toBe(2);
  expect(run.err()).toContain('speakers[0].audio');
  expect(run.err()).toContain('host');
  expect(existsSync(path.join(dir, 'bad-out', 'result.json'))).toBe(false);
});

test('a scenario file: result.json as the contract says, link served with --hold until SIGINT, exit 0', async () => {
  const file = path.join(dir, 'short.json');
  await writeFile(
    file,
    JSON.stringify({
      name: 'short',
      host: 'alice',
      speakers: [
        { id: 'alice', name: 'Alice', audio: 'alice.wav', joinAt: 0, consentAt: 1.0, speakAt: [1.5] },
        { id: 'bob', name: 'Bob', audio: 'bob.wav', joinAt: 0, speakAt: [2.0] },
      ],
      commands: [
        { at: 0.5, user: 'alice', slash: 'record start' },
        { at: 4.0, user: 'alice', slash: 'record stop' },
      ],
      endAt: 5.5,
    }),
  );
  const out = path.join(dir, 'out');
  const run = demo(['--scenario', file, '--out', out, '--hold']);
  const resultFile = path.join(out, 'result.json');
  for (let i = 0; i < 600 && !existsSync(resultFile); i++) await sleep(50);
  await sleep(200);
  const result = JSON.parse(await readFile(resultFile, 'utf8')) as Record<string, unknown> & {
    tracks: { speaker: string; path: string }[];
    dms: { to: string; links: string[] }[];
    downloadUrl: string;
    mix: string;
  };
  for (const field of ['recordingId', 'recordingStartedAt', 'recordingStoppedAt', 'mix', 'tracks', 'consent', 'dms', 'downloadUrl', 'exitReason']) {
    expect(result, field).toHaveProperty(field);
  }
  expect(result.exitReason).toBe('completed');
  expect(result.tracks.map((t) => t.speaker)).toEqual(['alice']);
  expect(existsSync(result.mix)).toBe(true);
  expect(result.dms[0]?.links[0]).toBe(result.downloadUrl);
  expect(result.recordingStartedAt).toBeGreaterThan(0.5);
  expect(result.recordingStoppedAt).toBeGreaterThanOrEqual(4.0);

  // Held: the link keeps working after the scenario ended, until SIGINT.
  expect((await fetch(result.downloadUrl)).status).toBe(200);
  expect(run.out()).toContain(result.downloadUrl);
  run.child.kill('SIGINT');
  expect(await run.exit).toBe(0);
}, 60_000);
