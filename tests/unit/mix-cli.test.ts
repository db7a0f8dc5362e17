import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { wavHeader } from '../../src/audio/encoders/wav.ts';
import { concatPcm, firstOnset, noise, sec, tone } from '../helpers/audio.ts';
import { decodeMono, HAVE_FFMPEG, HAVE_OPUSENC, writeTrack } from '../helpers/mix-fixtures.ts';

const MIX = fileURLToPath(new URL('../../scripts/mix.ts', import.meta.url));
let dir: string;

function mix(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MIX, ...args], { cwd: dir }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function writeWav(path: string, pcm: Int16Array, channels: 1 | 2): Promise<void> {
  const header = wavHeader(pcm.byteLength);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(48000 * 2 * channels, 28);
  header.writeUInt16LE(2 * channels, 32);
  await writeFile(path, Buffer.concat([header, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
}

const silence = (s: number, channels = 2) => new Int16Array(sec(s) * channels);

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
      const mono = concatPcm(silence(3, 1), noise(200, 0.5, 1).filter((_, i) => i % 2 === 0), silence(1, 1));
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
    for (const args of [['-o', 'x.ogg'], ['host.ogg'], ['host.ogg', '-o', 'x.aac'], ['host.ogg', '-o', 'x.ogg', '--normalize=loud']]) {
      const run = await mix(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^mix: .+\n\nusage: npm run mix/);
    }
    const help = await mix('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--normalize');
  });
});
