import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { openOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { opusPacketSamples } from '../../src/audio/opus-packet.ts';
import { heldJournalPath, readHeldJournal } from '../../src/recording/held-journal.ts';
import { SpeakerTrack, type ReceivedPacket, type SpeakerTrackOptions } from '../../src/recording/speaker-track.ts';
import {
  bestLag,
  concatPcm,
  decodeOggOpusFile,
  decodeOggOpusSummary,
  encodeOpusFrames,
  firstOnset,
  noise,
  prng,
  rms,
  toMono,
  tone,
} from '../helpers/audio.ts';
import { until } from '../helpers/until.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-track-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const opts = (extra: Partial<SpeakerTrackOptions> = {}): SpeakerTrackOptions => ({
  path: join(dir, `t${n++}.ogg`),
  recordingId: 'rec1',
  userId: 'u1',
  speakerName: 'Alice',
  startMs: 0,
  ...extra,
});
const MS = 48; // samples per ms
// Silence in a track is exact digital zero, so a low threshold finds the first word without noise
// triggering it; an encoder's first frame can start quietly, hence not a higher one.
const onsetMs = (pcm: Int16Array, fromMs = 0): number | null => {
  const at = firstOnset(toMono(pcm), 0.004, fromMs * MS);
  return at === null ? null : at / MS;
};

/** A talk spurt as a Discord client sends it: 20 ms packets from `atMs`, with optional RTP headers. */
function spurt(frames: Buffer[], atMs: number, rtp?: { seq: number; ts: number; ssrc: number }): ReceivedPacket[] {
  return frames.map((opus, i) => ({
    opus,
    arrivalMs: atMs + 20 * i,
    ...(rtp ? { rtp: { sequence: (rtp.seq + i) & 0xffff, timestamp: (rtp.ts + 960 * i) >>> 0, ssrc: rtp.ssrc } } : {}),
  }));
}

/** Network faults, reproducible: loss, duplicates, reordering (a packet held back), jitter. */
function faulty(
  packets: ReceivedPacket[],
  f: { loss: number; dup: number; reorder: number; jitterMs: number; seed: number },
): { sent: ReceivedPacket[]; lost: Set<ReceivedPacket> } {
  const rnd = prng(f.seed);
  const out: ReceivedPacket[] = [];
  const lost = new Set<ReceivedPacket>();
  for (const p of packets) {
    if (rnd() < f.loss) {
      lost.add(p);
      continue;
    }
    const delay = rnd() * f.jitterMs + (rnd() < f.reorder ? 30 : 0);
    out.push({ ...p, arrivalMs: p.arrivalMs + delay });
    if (rnd() < f.dup) out.push({ ...p, arrivalMs: p.arrivalMs + delay + rnd() * 30 });
  }
  return { sent: out.sort((a, b) => a.arrivalMs - b.arrivalMs), lost };
}

async function record(o: SpeakerTrackOptions, packets: ReceivedPacket[], endMs: number): Promise<SpeakerTrack> {
  const track = await SpeakerTrack.create(o);
  for (const p of packets) track.push(p);
  await track.close(endMs);
  return track;
}

/** Tracks end on the 2.5 ms grid at or after the requested end. */
function expectDuration(samples: number, ms: number): void {
  expect(samples).toBeGreaterThanOrEqual(ms * MS);
  expect(samples).toBeLessThan((ms + 2.5) * MS);
}

const speech = (ms: number, seed: number): Buffer[] => encodeOpusFrames(concatPcm(noise(ms, 0.3, seed), tone(300, 0)));

describe('SpeakerTrack: time alignment, decoded with libopus', () => {
  test('a speaker who first talks 95 s in: 95 s of silence, first word within 5 ms, exact duration', async () => {
    const o = opts();
    const jitter = prng(3);
    const packets = spurt(speech(1000, 1), 95_000).map((p) => ({ ...p, arrivalMs: p.arrivalMs + jitter() * 8 }));
    const track = await record(o, packets, 100_000);
    const d = await decodeOggOpusFile(o.path);
    expectDuration(d.samples, 100_000);
    expect(Math.abs(onsetMs(d.pcm)! - 95_000)).toBeLessThanOrEqual(5);
    // Exact zeros up to the word (less the codec's 6.5 ms look-ahead, where its pre-echo may start).
    expect(rms(toMono(d.pcm), 0, 94_993 * MS)).toBe(0);
    expect(track.stats()).toMatchObject({ written: 50, dropped: { invalid: 0, duplicate: 0, late: 0 } });
    expect(d.comments).toMatchObject({ ARTIST: 'Alice', ROOMREC_RECORDING: 'rec1', ROOMREC_USER: 'u1' });
  });

  test.each([
    ['with RTP', true],
    ['bare frames (no RTP)', false],
  ])('every gap keeps its length (%s)', async (_name, withRtp) => {
    const o = opts();
    const spurts = [
      [1000, 400],
      [2730, 600],
      [7015, 300],
    ] as const;
    const packets = spurts.flatMap(([at, len], i) =>
      spurt(speech(len, i + 10), at, withRtp ? { seq: 65500 + i * 40, ts: 2 ** 32 - 10_000 + at * MS, ssrc: 9 } : undefined),
    );
    await record(o, packets, 8000);
    const d = await decodeOggOpusFile(o.path);
    let from = 0;
    for (const [at, len] of spurts) {
      const onset = onsetMs(d.pcm, from)!;
      expect(Math.abs(onset - at)).toBeLessThanOrEqual(5);
      from = at + len + 50;
    }
    expectDuration(d.samples, 8000);
  });

  test('nothing before consent: the track starts at startMs, earlier packets are dropped', async () => {
    const o = opts({ startMs: 5000 });
    const track = await record(o, spurt(speech(400, 4), 4800), 6000);
    const d = await decodeOggOpusFile(o.path);
    expect(rms(toMono(d.pcm), 0, 4993 * MS)).toBe(0);
    // Joining mid-utterance, libopus needs a frame to build up energy: the word is audible within it.
    expect(onsetMs(d.pcm)! - 5000).toBeLessThan(20);
    expect(track.stats().dropped.late).toBe(10);
  });

  // The spurt as a whole is anchored on arrival time (to within the first packets' jitter, on the 2.5 ms
  // grid); what must not happen is audio moving relative to that anchor. With RTP, not by a single sample;
  // with bare frames, by no more than the jitter (there is nothing better to go by).
  test.each([
    ['RTP: 10% loss, 5% duplicates, 10% reordered, 15 ms jitter', true, { loss: 0.1, dup: 0.05, reorder: 0.1, jitterMs: 15, seed: 7 }, 0],
    ['RTP: 30% loss', true, { loss: 0.3, dup: 0, reorder: 0, jitterMs: 5, seed: 8 }, 0],
    ['bare frames: 10% loss, 5% duplicates, 8 ms jitter', false, { loss: 0.1, dup: 0.05, reorder: 0, jitterMs: 8, seed: 9 }, 5 * MS],
  ])('%s: later audio does not shift', async (_name, withRtp, faults, tolerance) => {
    const frames = speech(4000, 21);
    const clean = spurt(frames, 2000, withRtp ? { seq: 65000, ts: 4_294_900_000, ssrc: 5 } : undefined);
    const { sent, lost } = faulty(clean, faults);
    const oc = opts();
    const of = opts();
    await record(oc, clean, 7000);
    const track = await record(of, sent, 7000);
    const a = toMono((await decodeOggOpusFile(oc.path)).pcm);
    const b = toMono((await decodeOggOpusFile(of.path)).pcm);
    expect(b.length).toBe(a.length);
    const stats = track.stats();
    expect(stats.written).toBe(clean.length - lost.size);
    if (faults.dup > 0) expect(stats.dropped.duplicate).toBeGreaterThan(0);
    if (faults.reorder > 0) expect(stats.reordered).toBeGreaterThan(0);

    const anchor = bestLag(a, b, 10 * MS, 2000 * MS, 2200 * MS);
    expect(Math.abs(anchor.lag)).toBeLessThanOrEqual(5 * MS);
    // Each of the last 40 frames received sits where the anchor says, and so does the whole last second.
    const received = clean.map((p, i) => (lost.has(p) ? -1 : i)).filter((i) => i >= 0 && !lost.has(clean[i - 1]!));
    let aligned = 0;
    for (const i of received.slice(-40)) {
      const from = (2000 + 20 * i) * MS + 240;
      const lag = bestLag(a, b, 10 * MS, from, from + 720);
      if (Math.abs(lag.lag - anchor.lag) <= tolerance && lag.correlation > 0.5) aligned++;
    }
    expect(aligned).toBeGreaterThanOrEqual(38);
    const tail = bestLag(a, b, 10 * MS, 5000 * MS, 6000 * MS);
    expect(Math.abs(tail.lag - anchor.lag)).toBeLessThanOrEqual(tolerance);
    expect(tail.correlation).toBeGreaterThan(0.5);
  });

  test('integrity counts: every frame received, gaps in the RTP sequence lost, a pause between spurts is no loss', async () => {
    // Two spurts 3 s apart, numbered on from each other as a Discord client does (it numbers only what it
    // sends), across the 16-bit wrap.
    const first = spurt(speech(1000, 50), 1000, { seq: 65_500, ts: 1000, ssrc: 9 });
    const second = spurt(speech(1000, 51), 5000, { seq: (65_500 + first.length) & 0xffff, ts: 1000 + 960 * 250, ssrc: 9 });
    const clean = [...first, ...second];
    const { sent, lost } = faulty(clean, { loss: 0.1, dup: 0.05, reorder: 0.1, jitterMs: 10, seed: 11 });
    const track = await record(opts(), sent, 7000);
    const stats = track.stats();
    // A loss can only be seen with a later packet after it (and an earlier one before it).
    const seen = clean.map((p) => !lost.has(p));
    const visible = clean.filter((p, i) => lost.has(p) && seen.slice(0, i).includes(true) && seen.slice(i + 1).includes(true));
    expect(visible.length).toBeGreaterThan(5);
    expect(stats.received).toBe(sent.length);
    expect(stats.lost).toBe(visible.length);
    expect(stats.dropped.duplicate).toBe(sent.length - new Set(sent.map((p) => p.rtp?.sequence)).size);

    const clean2 = await record(opts(), clean, 7000);
    expect(clean2.stats()).toMatchObject({ received: clean.length, lost: 0, dropped: { duplicate: 0, late: 0 } });
  });

  test('frames without an RTP header are never counted as lost', async () => {
    const packets = spurt(speech(1000, 52), 1000, { seq: 10, ts: 0, ssrc: 3 });
    // Every fifth frame lost its header on the way (the voice layer could not pair it): no gap.
    const mixed = packets.map((p, i) => (i % 5 === 2 ? { opus: p.opus, arrivalMs: p.arrivalMs } : p));
    const track = await record(opts(), mixed, 3000);
    expect(track.stats()).toMatchObject({ received: packets.length, lost: 0 });
  });

  test('invalid packets are dropped, counted and never written', async () => {
    const o = opts();
    const good = spurt(speech(400, 30), 1000);
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0xfb, 0x00]),
      Buffer.from([0xf9, 1, 2, 3]),
      Buffer.from([0xfa, 200, 1]),
      Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(1300)]),
    ];
    const mixed: ReceivedPacket[] = [];
    good.forEach((p, i) => {
      mixed.push(p);
      if (i < garbage.length) mixed.push({ opus: garbage[i]!, arrivalMs: p.arrivalMs + 5 });
    });
    mixed.push({ opus: 'not a buffer' as unknown as Buffer, arrivalMs: 2000 });
    const track = await record(o, mixed, 2000);
    expect(track.stats().dropped.invalid).toBe(garbage.length + 1);
    const written: Buffer[] = [];
    for await (const p of (await openOggOpus(o.path)).packets()) {
      expect(opusPacketSamples(p.data)).not.toBeNull();
      written.push(p.data);
    }
    expect(written.filter((p) => garbage.some((g) => g.equals(p)))).toEqual([]);
    expect(written.filter((p) => good.some((g) => g.opus.equals(p))).length).toBe(good.length);
  });

  test('resume after a crash: the torn tail is cut, the downtime becomes silence, alignment holds', async () => {
    const o = opts();
    const first = await SpeakerTrack.create(o);
    for (const p of spurt(speech(500, 40), 1000)) first.push(p);
    first.tick(3000);
    await first.flush(); // what the periodic page flush would have put on disk by then
    // Simulate the crash: the process dies with a half-written page on disk (no close).
    const crashed = readFileSync(o.path);
    await first.close(3000);
    writeFileSync(o.path, Buffer.concat([crashed, Buffer.from('OggS\x00\x00garbage-of-a-torn-page')]));
    const second = await SpeakerTrack.resume(o);
    for (const p of spurt(speech(500, 41), 10_000)) second.push(p);
    await second.close(12_000);
    const d = await decodeOggOpusFile(o.path);
    expect(d.truncated).toBe(false);
    expectDuration(d.samples, 12_000);
    expect(Math.abs(onsetMs(d.pcm)! - 1000)).toBeLessThanOrEqual(5);
    expect(Math.abs(onsetMs(d.pcm, 2000)! - 10_000)).toBeLessThanOrEqual(5);
    expect(rms(toMono(d.pcm), 2000 * MS, 9990 * MS)).toBe(0);
  });

  test('resume after a clean close continues the same file', async () => {
    const o = opts();
    await record(o, spurt(speech(300, 50), 500), 1000);
    const again = await SpeakerTrack.resume(o);
    for (const p of spurt(speech(300, 51), 4000)) again.push(p);
    await again.close(5000);
    const d = await decodeOggOpusFile(o.path);
    expectDuration(d.samples, 5000);
    expect(Math.abs(onsetMs(d.pcm, 1000)! - 4000)).toBeLessThanOrEqual(5);
  });

  test('silence costs almost nothing: bytes per silent hour', async () => {
    const o = opts();
    await record(o, [], 3_600_000);
    const bytes = statSync(o.path).size;
    const d = await decodeOggOpusSummary(o.path);
    expectDuration(d.samples, 3_600_000);
    expect(d.peak).toBe(0);
    expect(bytes).toBeLessThan(600_000);
    process.stdout.write(`[figure] bytes per silent hour: ${bytes}\n`);
  });

  test('a silent stretch between words costs the same as a silent track', async () => {
    const o = opts();
    const speechOnly = spurt(speech(1000, 60), 0);
    await record(o, [...speechOnly, ...spurt(speech(1000, 61), 601_000)], 602_000);
    const d = await decodeOggOpusSummary(o.path);
    expectDuration(d.samples, 602_000);
    const speechBytes = speechOnly.reduce((n, p) => n + p.opus.length, 0) * 2;
    expect(statSync(o.path).size - speechBytes).toBeLessThan(600_000 / 6 + 10_000);
  });
});

// A track killed while placement holds a stream's first words (learning its clock, placement.ts learnMs): what it
// held is journaled beside it (held-journal.ts), and a track resumed from the files the crash left writes them
// where an uninterrupted track puts them.

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

/** Resumes the track, keeping what it warns about. */
async function resumeWarned(o: SpeakerTrackOptions, startMs: number): Promise<{ resumed: SpeakerTrack; warnings: string[] }> {
  const warnings: string[] = [];
  const resumed = await SpeakerTrack.resume({ ...o, startMs, log: { debug: () => undefined, warn: (_o, m) => warnings.push(m ?? '') } });
  return { resumed, warnings };
}

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
    expect(Math.abs(onsetMs(b.pcm)! - onsetMs(a.pcm)!)).toBeLessThanOrEqual(2.5);
    expect(Math.abs(onsetMs(b.pcm)! - 1000)).toBeLessThanOrEqual(5);
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
    const { resumed, warnings } = await resumeWarned(o, 3000);
    expect(warnings).toEqual(['ignored the end of the held-packets journal']);
    expect(resumed.stats().written).toBe(heard);
    await resumed.close(3000);
    const d = await decodeOggOpusFile(o.path);
    expect(Math.abs(onsetMs(d.pcm)! - 1000)).toBeLessThanOrEqual(5);
    expect(rms(toMono(d.pcm), 1100 * MS, 1900 * MS)).toBeGreaterThan(0.05);
  });

  test('a journal that is not one is ignored with a warning, never a crash', async () => {
    const { o } = await killedDuringHold(words(7), 1500);
    copyFileSync(o.path, heldJournalPath(o.path));
    const { resumed, warnings } = await resumeWarned(o, 2000);
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
