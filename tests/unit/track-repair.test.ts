import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openOggOpus, scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { repairTrack } from '../../src/audio/track-repair.ts';
import { decodeOggOpusFile, encodeOpusFrames, noise, rms, toMono } from '../helpers/audio.ts';

// Found from this file, not from the working directory: the tests run from anywhere.
const WRITER = new URL('../../src/audio/ogg-opus-writer.ts', import.meta.url).href;
const FINALISE = fileURLToPath(new URL('../../scripts/finalise-track.ts', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'roomrec-repair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const FFMPEG = spawnSync('sh', ['-c', 'command -v ffmpeg']).status === 0;
const packets = encodeOpusFrames(noise(3000, 0.3, 4));
const whole = join(dir, 'whole.ogg');
let pageStarts: number[] = [];

beforeAll(async () => {
  // 3 s of audio in pages of 10 packets (as the 1 s flush would make them at a lower packet rate).
  const w = await OggOpusWriter.create({ path: whole, serial: 3 });
  for (let i = 0; i < packets.length; i++) {
    w.writePacket(packets[i]!, 960);
    if (i % 10 === 9) await w.flush();
  }
  await w.close();
  const bytes = readFileSync(whole);
  pageStarts = [];
  for (let i = bytes.indexOf('OggS'); i >= 0; i = bytes.indexOf('OggS', i + 1)) pageStarts.push(i);
});

async function packetCount(path: string): Promise<number> {
  let count = 0;
  for await (const _ of (await openOggOpus(path)).packets()) count++;
  return count;
}

describe('a track cut off by a crash', () => {
  // Cut points relative to the start of the 8th page: inside its header, its segment table, its body, and its last byte.
  test.each([1, 20, 28, 30, 200, -1])('cut %i bytes into a page: decodes to the last complete page, then repairs', async (into) => {
    const bytes = readFileSync(whole);
    const page = pageStarts[8]!;
    const next = pageStarts[9]!;
    const cutAt = into > 0 ? page + into : next + into;
    const path = join(dir, `cut${into}.ogg`);
    writeFileSync(path, bytes.subarray(0, cutAt));

    const before = await decodeOggOpusFile(path);
    expect(before.truncated).toBe(true);
    const complete = (8 - 2) * 10; // pages 2..7 hold 10 packets each
    expect(before.packets).toBe(complete);
    expect(rms(toMono(before.pcm), 4800, before.samples - 4800)).toBeGreaterThan(0.1);

    const result = await repairTrack(path);
    expect(result).toMatchObject({ status: 'repaired', droppedBytes: cutAt - page });
    const after = readFileSync(path);
    expect(after.subarray(0, page).equals(bytes.subarray(0, page))).toBe(true); // nothing valid rewritten
    const scan = await scanOggOpus(path);
    expect(scan.truncated).toBe(false);
    expect(scan.lastWhole.eos).toBe(true);
    expect(Number(scan.lastWhole.granule)).toBe(complete * 960 + 120);
    const repaired = await decodeOggOpusFile(path);
    expect(repaired.truncated).toBe(false);
    expect(repaired.samples).toBe(complete * 960 + 120 - 312);
    expect(await repairTrack(path)).toMatchObject({ status: 'intact', droppedBytes: 0 });
    if (FFMPEG) {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-']);
      expect(String(r.stderr)).toBe('');
      expect(r.status).toBe(0);
    }
  });

  test('a complete file is left alone', async () => {
    const path = join(dir, 'intact.ogg');
    copyFileSync(whole, path);
    // The last flush() left nothing pending, so close() carried EOS on a 2.5 ms silence packet.
    expect(await repairTrack(path)).toMatchObject({ status: 'intact', droppedBytes: 0, samples: packets.length * 960 + 120 - 312 });
    expect(readFileSync(path).equals(readFileSync(whole))).toBe(true);
  });

  test('a writer killed with SIGKILL leaves a file that decodes and repairs (child process)', async () => {
    const path = join(dir, 'killed.ogg');
    const script = `
      const { OggOpusWriter } = await import(${JSON.stringify(WRITER)});
      const w = await OggOpusWriter.create({ path: ${JSON.stringify(path)}, flushIntervalMs: 20 });
      const packet = Buffer.from([0xf8, 0xff, 0xfe]);
      let n = 0;
      setInterval(() => { for (let i = 0; i < 5; i++) w.writePacket(packet, 960); n += 5; if (n >= 100) process.kill(process.pid, 'SIGKILL'); }, 5);
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.signal).toBe('SIGKILL');
    const count = await packetCount(path);
    expect(count).toBeGreaterThan(0);
    expect(count).toBeLessThanOrEqual(100);
    const result = await repairTrack(path);
    expect(result.status).toBe('repaired');
    expect(await packetCount(path)).toBe(count + 1);
  });

  test('the finalise-track CLI repairs files and reports bad input clearly', () => {
    const cut = join(dir, 'cli.ogg');
    writeFileSync(cut, readFileSync(whole).subarray(0, pageStarts[5]! + 50));
    const wav = join(dir, 'not.ogg');
    writeFileSync(wav, 'RIFF....WAVE');
    const ok = spawnSync(process.execPath, [FINALISE, cut], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/cli\.ogg: repaired, dropped 50 torn bytes, now \d+\.\d{3} s/);
    const bad = spawnSync(process.execPath, [FINALISE, wav], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('not.ogg: not an Ogg file');
  });
});
