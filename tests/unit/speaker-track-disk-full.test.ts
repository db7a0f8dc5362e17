// A full disk while a speaker talks: the file always ends at a complete page, a few seconds wait in memory,
// the rest becomes silence of the same length, and once space is freed the track goes on, aligned.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { writeAll } from '../../src/audio/write-all.ts';
import { SpeakerTrack, type ReceivedPacket } from '../../src/recording/speaker-track.ts';
import { concatPcm, decodeOggOpusFile, encodeOpusFrames, firstOnset, noise, rms, toMono, tone } from '../helpers/audio.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-diskfull-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MS = 48;

const spurt = (ms: number, atMs: number, seed: number): ReceivedPacket[] =>
  encodeOpusFrames(concatPcm(noise(ms, 0.3, seed), tone(300, 0))).map((opus, i) => ({ opus, arrivalMs: atMs + 20 * i }));

/**
 * The disk as the track sees it: while `full`, a write puts half its bytes in the file and then fails with
 * ENOSPC, as write(2) does when the last blocks run out. Every write first checks that the file on disk ends at
 * a complete page (nothing torn was left by the write before).
 */
function disk(path: string) {
  const d = {
    full: false,
    failures: 0,
    tornSeen: 0,
    write: async (fh: FileHandle, data: Uint8Array, position: number): Promise<void> => {
      if (position > 0 && (await scanOggOpus(path)).tailBytes > 0) d.tornSeen++;
      if (!d.full) return writeAll(fh, data, position);
      d.failures++;
      await fh.write(data, 0, Math.floor(data.length / 2), position);
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    },
  };
  return d;
}

/** What a track tells of the disk: every change (true: full), and a promise of the first time it has room again. */
function diskFullEvents() {
  const events: boolean[] = [];
  let resumed: () => void = () => undefined;
  const diskOk = new Promise<void>((resolve) => (resumed = resolve));
  const onDiskFull = (full: boolean) => {
    events.push(full);
    if (!full) resumed();
  };
  return { events, diskOk, onDiskFull };
}

const onsetMs = (mono: Float32Array, fromMs: number): number | null => {
  const at = firstOnset(mono, 0.004, fromMs * MS);
  return at === null ? null : at / MS;
};

describe('SpeakerTrack on a full disk', () => {
  test('what was recorded stays whole, the time the disk was full is silence, and the track resumes aligned', async () => {
    const path = join(dir, 'full.ogg');
    const d = disk(path);
    const { events, diskOk, onDiskFull } = diskFullEvents();
    const track = await SpeakerTrack.create({
      path,
      recordingId: 'rec1',
      userId: 'u1',
      speakerName: 'Alice',
      startMs: 0,
      diskFullBufferMs: 1000,
      onDiskFull,
      write: d.write,
    });
    for (const p of spurt(1000, 1000, 1)) track.push(p);
    await track.flush();

    d.full = true;
    // Said before the disk was known to be full: all of it waits in memory and is written later.
    for (const p of spurt(1000, 3000, 2)) track.push(p);
    await expect(track.flush()).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(events).toEqual([true]);
    expect(track.error).toBeNull();
    // Meanwhile the file is what was written before, whole and decodable.
    const during = await scanOggOpus(path);
    expect(during.tailBytes).toBe(0);
    expect(onsetMs(toMono((await decodeOggOpusFile(path)).pcm), 0)).toBeGreaterThan(990);

    // Past the 1 s budget: kept only as its length.
    for (const p of spurt(4000, 6000, 3)) track.push(p);
    await expect(track.flush()).rejects.toMatchObject({ code: 'ENOSPC' });

    d.full = false;
    // Nobody has to write for the track to find out: it tries again by itself.
    await diskOk;
    expect(events).toEqual([true, false]);
    for (const p of spurt(1000, 12_000, 4)) track.push(p);
    await track.close(14_000);

    // C (4 s) and the silence around it, less what stayed in the reorder window: counted as lost to the disk.
    expect(track.stats().diskFullSamples).toBeGreaterThan(5900 * MS);
    expect(track.stats().diskFullSamples).toBeLessThan(6100 * MS);
    expect(d.failures).toBeGreaterThanOrEqual(2);
    expect(d.tornSeen).toBe(0);
    const decoded = await decodeOggOpusFile(path);
    const mono = toMono(decoded.pcm);
    expect(decoded.samples).toBeGreaterThanOrEqual(14_000 * MS);
    expect(decoded.samples).toBeLessThan(14_003 * MS);
    // Before the disk filled, and what waited in memory: where it was said.
    expect(Math.abs(onsetMs(mono, 0)! - 1000)).toBeLessThanOrEqual(5);
    expect(Math.abs(onsetMs(mono, 2100)! - 3000)).toBeLessThanOrEqual(5);
    // What came past the budget is exact silence, and what came after the disk had room is where it was said.
    // (less its last 80 ms, still in the reorder window when the disk had room again: those were written).
    expect(rms(mono, 4100 * MS, 9900 * MS)).toBe(0);
    expect(rms(mono, 10_010 * MS, 11_990 * MS)).toBe(0);
    expect(Math.abs(onsetMs(mono, 10_010)! - 12_000)).toBeLessThanOrEqual(5);
    expect(rms(mono, 12_000 * MS, 13_000 * MS)).toBeGreaterThan(0.05);
  });

  test('a speaker who consents while the disk is full: the track opens, waits, and is written once there is room', async () => {
    const path = join(dir, 'created-full.ogg');
    const d = disk(path);
    d.full = true;
    const { events, diskOk, onDiskFull } = diskFullEvents();
    // Consent at 2 s of the recording: the silence before it and their first words wait in memory with the headers.
    const track = await SpeakerTrack.create({
      path,
      recordingId: 'rec1',
      userId: 'u2',
      speakerName: 'Cleo',
      startMs: 2000,
      onDiskFull,
      write: d.write,
    });
    expect(events).toEqual([true]);
    // Nothing torn on disk meanwhile: an empty file, which reads as a track with no audio yet.
    expect(statSync(path).size).toBe(0);
    for (const p of spurt(1000, 2500, 7)) track.push(p);
    d.full = false;
    await diskOk;
    for (const p of spurt(1000, 5000, 8)) track.push(p);
    await track.close(7000);
    expect(d.tornSeen).toBe(0);
    const decoded = await decodeOggOpusFile(path);
    const mono = toMono(decoded.pcm);
    expect(decoded.samples).toBeGreaterThanOrEqual(7000 * MS);
    expect(decoded.samples).toBeLessThan(7003 * MS);
    expect(rms(mono, 0, 2400 * MS)).toBe(0);
    expect(Math.abs(onsetMs(mono, 0)! - 2500)).toBeLessThanOrEqual(5);
    expect(Math.abs(onsetMs(mono, 3600)! - 5000)).toBeLessThanOrEqual(5);
    expect(track.stats().diskFullSamples).toBe(0);
  });

  test('a disk still full at the stop: close does not fail, and the track ends at its last whole page', async () => {
    const path = join(dir, 'full-at-stop.ogg');
    const d = disk(path);
    const track = await SpeakerTrack.create({ path, recordingId: 'rec1', userId: 'u1', speakerName: 'Bob', startMs: 0, write: d.write });
    for (const p of spurt(1000, 500, 5)) track.push(p);
    await track.flush();
    d.full = true;
    for (const p of spurt(1000, 2000, 6)) track.push(p);
    await track.close(4000);
    const scan = await scanOggOpus(path);
    expect(scan.tailBytes).toBe(0);
    expect(scan.lastWhole.eos).toBe(false);
    const mono = toMono((await decodeOggOpusFile(path)).pcm);
    expect(Math.abs(onsetMs(mono, 0)! - 500)).toBeLessThanOrEqual(5);
    expect(rms(mono, 500 * MS, 1400 * MS)).toBeGreaterThan(0.05);
  });

  test('a track whose writer failed for good (EIO) is finalised from what is on disk at the stop, with its end page', async () => {
    const path = join(dir, 'eio.ogg');
    let failOnce = false;
    const write = async (fh: FileHandle, data: Uint8Array, position: number): Promise<void> => {
      if (failOnce) {
        failOnce = false;
        await fh.write(data, 0, Math.floor(data.length / 2), position);
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      }
      await writeAll(fh, data, position);
    };
    const track = await SpeakerTrack.create({ path, recordingId: 'rec1', userId: 'u1', speakerName: 'Eve', startMs: 0, write });
    for (const p of spurt(1000, 500, 9)) track.push(p);
    await track.flush();
    failOnce = true;
    for (const p of spurt(1000, 2000, 10)) track.push(p);
    await expect(track.flush()).rejects.toMatchObject({ code: 'EIO' });
    await track.close(4000);
    const scan = await scanOggOpus(path);
    expect(scan.tailBytes).toBe(0);
    expect(scan.lastWhole.eos).toBe(true);
    const mono = toMono((await decodeOggOpusFile(path)).pcm);
    expect(Math.abs(onsetMs(mono, 0)! - 500)).toBeLessThanOrEqual(5);
    expect(rms(mono, 500 * MS, 1400 * MS)).toBeGreaterThan(0.05);
  });

  test('a track opened and closed on a disk that stays full leaves an empty file, which a later open starts again', async () => {
    const path = join(dir, 'opened-full.ogg');
    const d = disk(path);
    d.full = true;
    const o = { path, recordingId: 'rec1', userId: 'u1', speakerName: 'Cy', startMs: 0, write: d.write };
    const first = await SpeakerTrack.create(o);
    await first.close(500);
    expect(statSync(path).size).toBe(0);
    d.full = false;
    const track = await SpeakerTrack.resume({ ...o, startMs: 1000 });
    for (const p of spurt(500, 1500, 7)) track.push(p);
    await track.close(3000);
    const mono = toMono((await decodeOggOpusFile(path)).pcm);
    expect(Math.abs(onsetMs(mono, 0)! - 1500)).toBeLessThanOrEqual(5);
  });

  test('a disk that fills right after the headers: the track opens, waits, and its silence up to the consent is written later', async () => {
    const path = join(dir, 'full-after-headers.ogg');
    const d = disk(path);
    d.full = true;
    const events: boolean[] = [];
    const track = await SpeakerTrack.create({
      path,
      recordingId: 'rec1',
      userId: 'u1',
      speakerName: 'Di',
      startMs: 2000,
      onDiskFull: (full) => events.push(full),
      write: (fh, data, position) => (position === 0 ? writeAll(fh, data, position) : d.write(fh, data, position)),
    });
    expect(events).toEqual([true]);
    d.full = false;
    for (const p of spurt(500, 2500, 8)) track.push(p);
    await track.close(4000);
    expect(events).toEqual([true, false]);
    const mono = toMono((await decodeOggOpusFile(path)).pcm);
    expect(Math.abs(onsetMs(mono, 0)! - 2500)).toBeLessThanOrEqual(5);
  });
});
