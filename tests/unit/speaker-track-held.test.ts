// A track killed while placement holds a stream's first words (learning its clock, placement.ts learnMs): what it
// held is journaled beside it (held-journal.ts), and a track resumed from the files the crash left writes them
// where an uninterrupted track puts them.
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { heldJournalPath, readHeldJournal } from '../../src/recording/held-journal.ts';
import { SpeakerTrack, type ReceivedPacket, type SpeakerTrackOptions } from '../../src/recording/speaker-track.ts';
import { bestLag, decodeOggOpusFile, encodeOpusFrames, firstOnset, noise, prng, rms, toMono } from '../helpers/audio.ts';
import { until } from '../helpers/until.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-held-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const opts = (extra: Partial<SpeakerTrackOptions> = {}): SpeakerTrackOptions => ({
  path: join(dir, `t${n++}.ogg`),
  recordingId: 'rec1',
  userId: 'u1',
  speakerName: 'Alice',
  startMs: 500,
  ...extra,
});
const MS = 48;

/** 3 s of speech from 1000 ms, 20 ms packets with RTP, each arriving 0–40 ms late (in arrival order). */
function words(seed: number): ReceivedPacket[] {
  const late = prng(seed);
  return encodeOpusFrames(noise(3000, 0.3, seed))
    .map((opus, i) => ({
      opus,
      arrivalMs: 1000 + 20 * i + late() * 40,
      rtp: { sequence: (40_000 + i) & 0xffff, timestamp: (123_456 + 960 * i) >>> 0, ssrc: 77 },
    }))
    .sort((a, b) => a.arrivalMs - b.arrivalMs);
}

/** Until the journal beside `track` holds `count` packets: written by itself, nothing flushed. */
const journaled = (track: string, count: number) =>
  until(async () => ((await readHeldJournal(track))?.packets.length === count ? true : undefined), `${count} packets in the journal`);

/**
 * The files a process killed `crashAtMs` into `packets` leaves, under a new name: its track and journal as they
 * are once what it held is journaled (the process then closed, so nothing of it runs on).
 */
async function killedDuringHold(packets: ReceivedPacket[], crashAtMs: number): Promise<{ o: SpeakerTrackOptions; heard: number }> {
  const live = opts();
  const track = await SpeakerTrack.create(live);
  const heard = packets.filter((p) => p.arrivalMs < crashAtMs);
  for (const p of heard) track.push(p);
  track.tick(crashAtMs);
  await journaled(live.path, heard.length);
  // Private, like the track it belongs to.
  expect(statSync(heldJournalPath(live.path)).mode & 0o777).toBe(0o600);
  const left = opts();
  copyFileSync(live.path, left.path);
  copyFileSync(heldJournalPath(live.path), heldJournalPath(left.path));
  await track.close(crashAtMs);
  return { o: left, heard: heard.length };
}

const onsetMs = (pcm: Int16Array): number => firstOnset(toMono(pcm), 0.004)! / MS;

describe('SpeakerTrack: a crash while the first words are held', () => {
  test('resumed from the files on disk, the track keeps every word heard, placed as an uninterrupted track places them', async () => {
    const packets = words(5);
    const whole = opts();
    const uninterrupted = await SpeakerTrack.create(whole);
    for (const p of packets) uninterrupted.push(p);
    await uninterrupted.close(6000);

    // Killed 1.5 s into the words: all of them still held (a stream's clock is learned for 2 s).
    const { o, heard } = await killedDuringHold(packets, 2500);
    const resumed = await SpeakerTrack.resume({ ...o, startMs: 4000 });
    expect(resumed.stats().written).toBe(heard);
    expect(existsSync(heldJournalPath(o.path))).toBe(false);
    await resumed.close(6000);

    const a = await decodeOggOpusFile(whole.path);
    const b = await decodeOggOpusFile(o.path);
    expect(b.samples).toBe(a.samples);
    expect(Math.abs(onsetMs(b.pcm) - onsetMs(a.pcm))).toBeLessThanOrEqual(2.5);
    expect(Math.abs(onsetMs(b.pcm) - 1000)).toBeLessThanOrEqual(5);
    // The same audio at the same place, within a grid step, up to where the crash came; silence after it.
    const held = bestLag(toMono(a.pcm), toMono(b.pcm), 240, 1010 * MS, 2400 * MS);
    expect(Math.abs(held.lag)).toBeLessThanOrEqual(120);
    expect(held.correlation).toBeGreaterThan(0.99);
    expect(rms(toMono(b.pcm), 2560 * MS, 6000 * MS)).toBe(0);
  });

  test('a torn last record (the crash came mid-write) is left out with a warning: the rest is written', async () => {
    const packets = words(6);
    const { o, heard } = await killedDuringHold(packets, 2000);
    appendFileSync(heldJournalPath(o.path), Buffer.from([200, 0, 0, 0, 1, 2]));
    const warnings: string[] = [];
    const resumed = await SpeakerTrack.resume({
      ...o,
      startMs: 3000,
      log: { debug: () => undefined, warn: (_o, m) => warnings.push(m ?? '') },
    });
    expect(warnings).toEqual(['ignored the end of the held-packets journal']);
    expect(resumed.stats().written).toBe(heard);
    await resumed.close(3000);
    const d = await decodeOggOpusFile(o.path);
    expect(Math.abs(onsetMs(d.pcm) - 1000)).toBeLessThanOrEqual(5);
    expect(rms(toMono(d.pcm), 1100 * MS, 1900 * MS)).toBeGreaterThan(0.05);
  });

  test('a journal that is not one is ignored with a warning, never a crash', async () => {
    const { o } = await killedDuringHold(words(7), 1500);
    copyFileSync(o.path, heldJournalPath(o.path));
    const warnings: string[] = [];
    const resumed = await SpeakerTrack.resume({
      ...o,
      startMs: 2000,
      log: { debug: () => undefined, warn: (_o, m) => warnings.push(m ?? '') },
    });
    expect(warnings).toEqual(['ignored the end of the held-packets journal']);
    expect(resumed.stats().written).toBe(0);
    expect(existsSync(heldJournalPath(o.path))).toBe(false);
    await resumed.close(2000);
  });

  test('once the hold ends and the track is on disk, the journal is removed; none outlives a closed track', async () => {
    const o = opts();
    const track = await SpeakerTrack.create(o);
    const packets = words(8);
    for (const p of packets.filter((p) => p.arrivalMs < 1500)) track.push(p);
    await track.flush();
    expect(existsSync(heldJournalPath(o.path))).toBe(true);
    for (const p of packets.filter((p) => p.arrivalMs >= 1500)) track.push(p);
    await track.flush();
    expect(existsSync(heldJournalPath(o.path))).toBe(false);
    // A new stream (a reconnect: another SSRC) is held again, and the track closed during its hold.
    for (const p of words(9).filter((p) => p.arrivalMs < 2000))
      track.push({ ...p, arrivalMs: p.arrivalMs + 4000, rtp: { ...p.rtp!, ssrc: 78 } });
    await track.flush();
    expect(existsSync(heldJournalPath(o.path))).toBe(true);
    await track.close(6500);
    expect(readdirSync(dir).filter((f) => f.startsWith(`t${n - 1}.`))).toEqual([`t${n - 1}.ogg`]);
  });
});
