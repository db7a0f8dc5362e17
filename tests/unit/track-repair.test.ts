import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openOggOpus, scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { resealOggPage } from '../../src/audio/ogg-page.ts';
import { finalisedPath, repairTrack } from '../../src/audio/track-repair.ts';
import { decodeOggOpusFile, encodeOpusFrames, noise, rms, toMono } from '../helpers/audio.ts';
import { damagedTracks, writePagedTrack } from '../helpers/ogg-pages.ts';

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
  // 3 s of audio in pages of 10 packets.
  await writePagedTrack(whole, packets, 10);
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
    expect(result).toMatchObject({ status: 'repaired', droppedBytes: cutAt - page, output: finalisedPath(path) });
    expect(readFileSync(path).equals(bytes.subarray(0, cutAt))).toBe(true); // the original is kept as it was
    const copy = finalisedPath(path);
    expect(readFileSync(copy).subarray(0, page).equals(bytes.subarray(0, page))).toBe(true); // nothing valid rewritten
    const scan = await scanOggOpus(copy);
    expect(scan.truncated).toBe(false);
    expect(scan.lastWhole.eos).toBe(true);
    expect(Number(scan.lastWhole.granule)).toBe(complete * 960 + 120);
    const repaired = await decodeOggOpusFile(copy);
    expect(repaired.truncated).toBe(false);
    expect(repaired.samples).toBe(complete * 960 + 120 - 312);
    expect(await repairTrack(copy)).toMatchObject({ status: 'intact', droppedBytes: 0, output: null });
    if (FFMPEG) {
      const r = spawnSync('ffmpeg', ['-v', 'error', '-i', copy, '-f', 'null', '-']);
      expect(String(r.stderr)).toBe('');
      expect(r.status).toBe(0);
    }
  });

  test('a complete file is left alone', async () => {
    const path = join(dir, 'intact.ogg');
    copyFileSync(whole, path);
    // The last flush() left nothing pending, so close() carried EOS on a 2.5 ms silence packet.
    expect(await repairTrack(path)).toMatchObject({
      status: 'intact',
      output: null,
      droppedBytes: 0,
      samples: packets.length * 960 + 120 - 312,
    });
    expect(readFileSync(path).equals(readFileSync(whole))).toBe(true);
    expect(existsSync(finalisedPath(path))).toBe(false);
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
    expect(await packetCount(finalisedPath(path))).toBe(count + 1);
    expect(await packetCount(path)).toBe(count);
  });

  test('the finalise-track CLI writes a repaired copy, keeps the original, never overwrites a copy, and reports bad input clearly', () => {
    const cut = join(dir, 'cli.ogg');
    const torn = readFileSync(whole).subarray(0, pageStarts[5]! + 50);
    writeFileSync(cut, torn);
    const wav = join(dir, 'not.ogg');
    writeFileSync(wav, 'RIFF....WAVE');
    const ok = spawnSync(process.execPath, [FINALISE, cut], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(
      `${cut}: repaired into ${join(dir, 'cli.finalised.ogg')} (the original is kept): dropped 50 torn bytes, end-of-stream page added; now ${((30 * 960 + 120 - 312) / 48000).toFixed(3)} s\n`,
    );
    expect(readFileSync(cut).equals(torn)).toBe(true);
    const copy = readFileSync(join(dir, 'cli.finalised.ogg'));
    const again = spawnSync(process.execPath, [FINALISE, cut], { encoding: 'utf8' });
    expect(again.status).toBe(1);
    expect(again.stderr).toBe(`${cut}: ${join(dir, 'cli.finalised.ogg')} already exists: nothing written (remove it to finalise again)\n`);
    expect(readFileSync(join(dir, 'cli.finalised.ogg')).equals(copy)).toBe(true);
    const bad = spawnSync(process.execPath, [FINALISE, wav, join(dir, 'missing.ogg')], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toBe(`${wav}: not an Ogg file\n${join(dir, 'missing.ogg')}: no such file\n`);
  });
});

describe('finalise-track on a damaged track', () => {
  let corpus: Record<string, Buffer>;
  beforeAll(() => {
    corpus = damagedTracks(readFileSync(whole));
  });
  const run = (name: string) => {
    const path = join(dir, `damaged-${name}.ogg`);
    writeFileSync(path, corpus[name]!, { mode: 0o644 });
    chmodSync(path, 0o644);
    const r = spawnSync(process.execPath, [FINALISE, path], { encoding: 'utf8' });
    expect(readFileSync(path).equals(corpus[name]!)).toBe(true); // the original is never changed
    return { path, status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  // The good file is what these damages were made from, so a copy that puts them right is that file, byte for byte.
  test.each([
    ['out-of-order', 'pages put back in order'],
    ['swapped', 'pages put back in order'],
    ['repeated', 'dropped a repeated page'],
    ['huge-granule', 'last granule position set to where its packets end'],
    ['hundred-hours', 'last granule position set to where its packets end'],
    ['zero-granule', 'last granule position set to where its packets end'],
    ['junk-after-end', 'dropped 54 bytes after the end of the stream'],
  ])('%s: a repaired copy that is the good file again', (name, change) => {
    const r = run(name);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(`: repaired into .*damaged-${name}\\.finalised\\.ogg \\(the original is kept\\): ${change}; now 2\\.996 s\\n$`),
    );
    expect(readFileSync(finalisedPath(r.path)).equals(readFileSync(whole))).toBe(true);
    expect(statSync(finalisedPath(r.path)).mode & 0o777).toBe(0o600); // private, whatever the original's mode (0644 here)
  });

  test.each([
    ['lost-page', /^.*: warning: 1 page is missing before byte \d+: the audio after the gap plays 0\.200 s early\n$/],
    ['start-offset', /^.*: warning: its granule positions count from 3600\.000 s, not 0/],
  ])('%s: nothing a copy can put right: intact, with the warning, and no copy', (name, warning) => {
    const r = run(name);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/: intact, \d+\.\d{3} s\n$/);
    expect(r.stderr).toMatch(warning);
    expect(existsSync(finalisedPath(r.path))).toBe(false);
  });

  test.each([
    ['chained', /is chained after the first/],
    ['multiplexed', /is multiplexed with the first/],
    ['flipped', /corrupt page at byte \d+/],
    ['invalid-packet', /invalid Opus packet in the page at byte \d+/],
    ['headers-cut', /file ends before the Opus headers are complete/],
  ])('%s: refused in one line, nothing written', (name, problem) => {
    const r = run(name);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(problem);
    expect(readdirSync(dir).filter((f) => f.startsWith(`damaged-${name}.finalised`))).toEqual([]);
  });

  test('pages out of order and a torn tail: the copy has the pages in order without the torn one, and says a page is missing', async () => {
    const path = join(dir, 'shuffled-and-torn.ogg');
    const bytes = corpus['out-of-order']!;
    writeFileSync(path, bytes.subarray(0, bytes.length - 30));
    const result = await repairTrack(path);
    const tornPage = pageStarts[pageStarts.length - 1]! - pageStarts[pageStarts.length - 2]!;
    expect(result.changes).toEqual(['pages put back in order', `dropped ${tornPage - 30} torn bytes`]);
    expect(result.warnings).toEqual([
      expect.stringMatching(/^1 page is missing before byte \d+: the audio after the gap plays 0\.200 s early$/),
    ]);
    const packetsLeft = await packetCount(result.output!);
    expect(packetsLeft).toBe(packets.length - 10 + 1); // the torn page's 10 packets are gone; the EOS filler stays
  });

  test('two different pages with one sequence number cannot be put in order: refused, nothing written', async () => {
    const path = join(dir, 'same-number.ogg');
    // The repeated page, with one of its bytes changed and its CRC made right: two versions of page 4. The
    // second one starts where page 5 starts in the good file.
    const bytes = Buffer.from(corpus.repeated!);
    const [from, length] = [pageStarts[5]!, pageStarts[5]! - pageStarts[4]!];
    bytes[from + 60]! ^= 0x01;
    resealOggPage(bytes.subarray(from, from + length));
    writeFileSync(path, bytes);
    await expect(repairTrack(path)).rejects.toThrow('two different pages are numbered 4: the pages cannot be put back in order');
    expect(readdirSync(dir).filter((f) => f.startsWith('same-number.finalised'))).toEqual([]);
  });
});
