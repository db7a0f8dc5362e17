import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wavHeader } from '../../src/audio/encoders/wav.ts';
import { concatPcm, firstOnset, noise, rms, sec, tone, toMono } from '../helpers/audio.ts';
import { runScript } from '../helpers/cli.ts';
import { decodeMono, HAVE_FFMPEG, HAVE_OPUSENC, readWav, writeTrack } from '../helpers/mix-fixtures.ts';

const MIX = fileURLToPath(new URL('../../scripts/mix.ts', import.meta.url));
let dir: string;

const mix = (...args: string[]) => runScript(MIX, args, { cwd: dir });

async function writeWav(path: string, pcm: Int16Array, channels: 1 | 2): Promise<void> {
  const header = wavHeader(pcm.byteLength);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(48000 * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  await writeFile(path, Buffer.concat([header, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
}

const silence = (s: number, channels = 2) => new Int16Array(sec(s) * channels);

// Terminal control: ESC sequences (cursor moves, colours) and carriage returns (redrawn lines).
// eslint-disable-next-line no-control-regex -- terminal control characters are what this looks for
const CONTROL = /[\x1b\r]/;

/** A private mount namespace with a tiny tmpfs: the only way to get a real ENOSPC without filling a shared disk. */
function canMountTmpfs(): boolean {
  if (spawnSync('sh', ['-c', 'command -v unshare']).status !== 0) return false;
  return spawnSync('unshare', ['-rm', 'sh', '-c', 'mount -t tmpfs -o size=64k none "$0"', tmpdir()]).status === 0;
}
const HAVE_TMPFS = canMountTmpfs();
const HAVE_SCRIPT = spawnSync('sh', ['-c', 'command -v script']).status === 0;
// Permission checks mean nothing to root: drop to nobody for that test. Nobody must be able to reach this Node
// and the mix script: a clone inside a private folder (one made by `mktemp -d`) is out of its reach.
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const CAN_DROP_TO_NOBODY =
  process.getuid?.() === 0 &&
  spawnSync('sh', ['-c', 'command -v setpriv']).status === 0 &&
  spawnSync('setpriv', [...NOBODY, process.execPath, '-e', `require('node:fs').accessSync(${JSON.stringify(MIX)})`]).status === 0;
const shellQuote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'roomrec-mixcli-'));
  await writeTrack(join(dir, 'host.ogg'), concatPcm(tone(220, 1000, 0.2), silence(1)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('npm run mix', () => {
  test.skipIf(!HAVE_OPUSENC || !HAVE_FFMPEG)(
    'mixes a mono opusenc track and an ffmpeg track with the recorder one, aligned (opus-tools and ffmpeg come from CI)',
    async () => {
      // opusenc: mono, a burst at exactly 3.000 s. ffmpeg: stereo tone from 0.5 s, 6 s long (the longest).
      const mono = concatPcm(
        silence(3, 1),
        noise(200, 0.5, 1).filter((_, i) => i % 2 === 0),
        silence(1, 1),
      );
      await writeWav(join(dir, 'guest.wav'), mono, 1);
      execFileSync('opusenc', ['--quiet', join(dir, 'guest.wav'), join(dir, 'guest.ogg')]);
      await writeWav(join(dir, 'cohost.wav'), concatPcm(silence(0.5), tone(440, 1000, 0.2), silence(4.5)), 2);
      execFileSync('ffmpeg', ['-v', 'error', '-y', '-i', join(dir, 'cohost.wav'), '-c:a', 'libopus', join(dir, 'cohost.ogg')]);

      const run = await mix('host.ogg', 'guest.ogg', 'cohost.ogg', '-o', 'all.wav');
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/all\.wav: wav, 3 tracks, 0:06\.0/);
      // Not a terminal: no progress bar drawn into the output.
      expect(run.stdout).not.toMatch(/\[[█░=-]+\]|mixing/);
      const out = await decodeMono(join(dir, 'all.wav'));
      expect(out.length).toBe(sec(6));
      expect(Math.abs(firstOnset(out, 0.1, sec(2.5))! - sec(3))).toBeLessThanOrEqual(sec(0.005));
    },
  );

  test('--only and --normalize', async () => {
    const run = await mix('host.ogg', '-o', 'host.ogg.mp3', '--only', 'host', '--normalize=-20');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/loudness .* -> -20 LUFS/);
    const missing = await mix('host.ogg', '-o', 'x.ogg', '--only', 'nobody');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no track for speaker "nobody" (have host)');
  });

  test('--level names each speaker with their speech loudness and gain', async () => {
    const run = await mix('host.ogg', '-o', 'levelled.wav', '--level');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/host -\d+\.\d LUFS [+-]\d+\.\d dB/);
  });

  test('refuses a missing, empty, corrupt or non-Ogg input, naming the file, and writes nothing', async () => {
    await writeFile(join(dir, 'empty.ogg'), '');
    await writeFile(join(dir, 'text.ogg'), 'hello, I am not audio');
    await writeTrack(join(dir, 'long.ogg'), tone(300, 20_000, 0.2));
    // A flipped byte in an early page: a CRC mismatch followed by valid pages is corruption, not a crash tail.
    const corrupt = await readFile(join(dir, 'long.ogg'));
    corrupt[Math.floor(corrupt.length / 3)]! ^= 0xff;
    await writeFile(join(dir, 'corrupt.ogg'), corrupt);
    const cases: [string, RegExp][] = [
      ['missing.ogg', /missing\.ogg: no such file/],
      ['empty.ogg', /empty\.ogg: empty file/],
      ['text.ogg', /text\.ogg: not an Ogg file/],
      ['corrupt.ogg', /corrupt\.ogg: corrupt page at byte \d+/],
    ];
    for (const [file, message] of cases) {
      const run = await mix('host.ogg', file, '-o', `from-${file}.ogg`);
      expect(run.code, file).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(existsSync(join(dir, `from-${file}.ogg`))).toBe(false);
    }
  });

  test.skipIf(!HAVE_FFMPEG)('refuses Ogg Vorbis (made by ffmpeg) as not Opus', async () => {
    execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=d=1', '-c:a', 'libvorbis', join(dir, 'bob.ogg')]);
    const run = await mix('bob.ogg', '-o', 'v.ogg');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bob.ogg: Ogg but not Opus (Vorbis?)');
  });

  test('usage errors exit 2 with the usage text', async () => {
    for (const args of [
      ['-o', 'x.ogg'],
      ['host.ogg'],
      ['host.ogg', '-o', 'x.aac'],
      ['host.ogg', '-o', 'x.ogg', '--normalize=loud'],
      ['host.ogg', '-o', 'noext'],
      ['host.ogg', '-o', 'x.mp3', '--format', 'wav'],
      ['host.ogg', '-o', 'x.bin', '--format', 'aac'],
    ]) {
      const run = await mix(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^mix: .+\n\nusage: npm run mix/);
    }
    const help = await mix('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--normalize');
  });

  test('an output with no extension is refused unless --format names the format', async () => {
    const bare = await mix('host.ogg', '-o', 'mixed');
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('cannot tell the format of "mixed": end it in .ogg, .opus');
    expect(existsSync(join(dir, 'mixed'))).toBe(false);

    const explicit = await mix('host.ogg', '-o', 'mixed', '--format', 'wav');
    expect(explicit.stderr).toBe('');
    expect(explicit.code).toBe(0);
    const pcm = toMono(await readWav(join(dir, 'mixed')));
    expect(Math.abs(pcm.length - sec(2))).toBeLessThan(sec(0.01));
    expect(rms(pcm, 0, sec(1))).toBeGreaterThan(0.1);
  });

  test('refuses to write the mix over one of its inputs (same path, ./path, a symlink or a hard link), exit 2', async () => {
    await writeTrack(join(dir, 'keep.ogg'), tone(330, 1000, 0.2));
    const before = await readFile(join(dir, 'keep.ogg'));
    await symlink(join(dir, 'keep.ogg'), join(dir, 'keep-link.ogg'));
    await link(join(dir, 'keep.ogg'), join(dir, 'keep-hard.ogg'));
    for (const output of ['keep.ogg', './keep.ogg', join(dir, 'keep.ogg'), 'keep-link.ogg', 'keep-hard.ogg']) {
      const run = await mix('host.ogg', 'keep.ogg', '-o', output);
      expect(run.code, output).toBe(2);
      expect(run.stderr).toContain(`mix: the output "${output}" is the input "keep.ogg": mixing would overwrite it`);
    }
    expect(await readFile(join(dir, 'keep.ogg'))).toEqual(before);
    expect((await readdir(dir)).filter((f) => f.includes('.partial-'))).toEqual([]);
  });

  test('an output directory that does not exist: one clear line, exit 1, no stack and no partial file named', async () => {
    const run = await mix('host.ogg', '-o', '/nonexistent/dir/x.ogg');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('mix: cannot write /nonexistent/dir/x.ogg: directory /nonexistent/dir does not exist\n');
    const relative = await mix('host.ogg', '-o', 'no-such-dir/x.wav', '--normalize');
    expect(relative.code).toBe(1);
    expect(relative.stderr).toBe('mix: cannot write no-such-dir/x.wav: directory no-such-dir does not exist\n');
  });

  test.skipIf(!HAVE_TMPFS)(
    'a full disk: "no space left", exit 1, and no partial or truncated file left (tmpfs in a private mount namespace)',
    async () => {
      await writeTrack(join(dir, 'four.ogg'), tone(500, 4000, 0.2));
      const full = join(dir, 'full');
      await mkdir(full);
      // 64 kB: a 4 s WAV (768 kB) cannot fit; the Ogg Opus mix (~55 kB) fits once, then the disk is full.
      const node = shellQuote(process.execPath);
      const script = [
        `mount -t tmpfs -o size=64k none ${shellQuote(full)}`,
        `cd ${shellQuote(dir)}`,
        `for out in full/a.wav full/b.flac full/c.ogg full/d.ogg; do ${node} ${shellQuote(MIX)} host.ogg four.ogg -o "$out"; echo "exit $out $?"; done`,
        'echo "left: $(ls -A full | tr "\\n" " ")"',
        // And a read-only file system, refused before any work.
        `mount -o remount,ro ${shellQuote(full)}`,
        `${node} ${shellQuote(MIX)} host.ogg -o full/e.ogg; echo "exit full/e.ogg $?"`,
      ].join(' && ');
      const run = spawnSync('unshare', ['-rm', 'sh', '-c', script], { encoding: 'utf8' });
      expect(run.stderr).toContain('mix: cannot write full/a.wav: no space left on the disk; nothing was written');
      expect(run.stderr).toContain('mix: cannot write full/b.flac: no space left on the disk; nothing was written');
      expect(run.stdout).toContain('exit full/a.wav 1');
      expect(run.stdout).toContain('exit full/b.flac 1');
      expect(run.stdout).toContain('exit full/c.ogg 0');
      expect(run.stdout).toContain('exit full/d.ogg 1');
      expect(run.stderr).not.toMatch(/partial|\n\s+at /);
      // Only the one mix that fitted, complete; nothing half-written under any name.
      expect(run.stdout).toMatch(/left: c\.ogg \n/);
      expect(run.stderr).toContain('mix: cannot write full/e.ogg: full is on a read-only file system');
      expect(run.stdout).toContain('exit full/e.ogg 1');
    },
  );

  test.skipIf(!CAN_DROP_TO_NOBODY)('a directory the user may not write to: "permission denied", exit 1 (run as nobody)', async () => {
    await chmod(dir, 0o755);
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o555 });
    const run = spawnSync('setpriv', [...NOBODY, process.execPath, MIX, 'host.ogg', '-o', 'locked/x.ogg'], {
      cwd: dir,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('mix: cannot write locked/x.ogg: permission denied (directory locked)\n');
    expect(run.status).toBe(1);
    expect(await readdir(locked)).toEqual([]);
  });

  test('--only with two inputs of the same file name: refused as ambiguous, or chosen by path; errors name the path', async () => {
    await mkdir(join(dir, 'dup1'), { recursive: true });
    await mkdir(join(dir, 'dup2'), { recursive: true });
    await writeTrack(join(dir, 'dup1', 'x.ogg'), concatPcm(tone(440, 1000, 0.3), silence(1)));
    await writeTrack(join(dir, 'dup2', 'x.ogg'), concatPcm(silence(1), tone(440, 1000, 0.3)));

    const ambiguous = await mix('dup1/x.ogg', 'dup2/x.ogg', '-o', 'dup.wav', '--only', 'x');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('speaker "x" is ambiguous: dup1/x.ogg and dup2/x.ogg share that label');
    expect(existsSync(join(dir, 'dup.wav'))).toBe(false);

    const chosen = await mix('dup1/x.ogg', 'dup2/x.ogg', '-o', 'dup.wav', '--only', 'dup2/x.ogg');
    expect(chosen.stderr).toBe('');
    expect(chosen.code).toBe(0);
    const out = await decodeMono(join(dir, 'dup.wav'));
    expect(rms(out, 0, sec(0.9))).toBeLessThan(0.001); // dup1's tone (first second) is not in it
    expect(rms(out, sec(1.1), sec(1.9))).toBeGreaterThan(0.1); // dup2's is

    await copyFile(join(dir, 'text.ogg'), join(dir, 'dup2', 'x.ogg'));
    const bad = await mix('dup1/x.ogg', 'dup2/x.ogg', '-o', 'dup-bad.ogg');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe('mix: dup2/x.ogg: not an Ogg file\n');
  });

  test('the length is rounded before it is split into minutes: a mix 312 samples short of a minute is 1:00.0', async () => {
    await writeTrack(join(dir, 'minute.ogg'), silence(60));
    const run = await mix('minute.ogg', '-o', 'minute.ogg.wav');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^minute\.ogg\.wav: wav, 1 track, 1:00\.0;/);
  });

  test('not a terminal: no progress bar and no terminal control characters in the output', async () => {
    const run = await mix('host.ogg', '-o', 'plain.ogg', '--normalize');
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(CONTROL);
    expect(run.stderr).not.toMatch(CONTROL);
    expect(run.stdout).not.toContain('mixing [');
    expect(run.stdout).toMatch(/^plain\.ogg: ogg, 1 track/);
  });

  test.skipIf(!HAVE_SCRIPT)('on a terminal (a pseudo-terminal made by script(1)) the progress bar is drawn', () => {
    const command = `${shellQuote(process.execPath)} ${shellQuote(MIX)} host.ogg -o tty.ogg`;
    const run = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: dir, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/mixing \[[█░]+\] 100%/);
    expect(run.stdout).toMatch(CONTROL);
    expect(run.stdout).toContain('tty.ogg: ogg, 1 track');
  });
});
