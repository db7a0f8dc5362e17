import { describe, expect, test } from 'vitest';
import {
  decodeHeldJournal,
  encodeHeldPacket,
  encodeHeldStart,
  heldEndMs,
  replayHeld,
  type HeldPacket,
  type HeldStart,
  type HeldWrite,
} from '../../src/recording/held-journal.ts';
import { initialPlacement, msToGrid, placementReducer, type PlacementOutput } from '../../src/recording/placement.ts';

/** A 20 ms CELT frame (TOC config 31, one frame) with a body that tells the packets apart. */
const frame = (i: number): Buffer => Buffer.from([31 << 3, i & 0xff, (i >> 8) & 0xff, 0x55]);

/** A 20 ms stream from `atMs` with RTP, arrivals delayed by `delay(i)` ms. */
function stream(count: number, atMs: number, delay: (i: number) => number = () => 0): HeldPacket[] {
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: atMs + 20 * i + delay(i),
    rtp: { sequence: (65_530 + i) & 0xffff, timestamp: (2 ** 32 - 5000 + 960 * i) >>> 0, ssrc: 0xdeadbeef },
    opus: frame(i),
  }));
}

const journalOf = (start: HeldStart, packets: HeldPacket[]): Buffer =>
  Buffer.concat([encodeHeldStart(start), ...packets.map(encodeHeldPacket)]);

describe('held-packets journal: the record format', () => {
  test('round trip: the start and every packet, with and without RTP, exactly as written', () => {
    const start = { head: 4_147_200_000 + 360, startMs: 86_400_000.5 };
    const packets: HeldPacket[] = [...stream(3, 1000.25), { arrivalMs: 1100, opus: frame(9) }];
    expect(decodeHeldJournal(journalOf(start, packets))).toEqual({ start, packets, ignoredBytes: 0, problem: null });
  });

  test('a torn last record, cut at any byte, is left out and reported; every whole record before it is read', () => {
    const start = { head: 48_000, startMs: 1000 };
    const packets = stream(4, 1500);
    const whole = journalOf(start, packets);
    const last = encodeHeldPacket(packets[3]!).length;
    for (let cut = 1; cut < last; cut++) {
      const read = decodeHeldJournal(whole.subarray(0, whole.length - cut));
      expect(read.start).toEqual(start);
      expect(read.packets).toEqual(packets.slice(0, 3));
      expect(read.ignoredBytes).toBe(last - cut);
      expect(read.problem).toMatch(/torn record/);
    }
  });

  test('a damaged record (CRC failure, impossible length) ends what is read, without throwing', () => {
    const whole = journalOf({ head: 0, startMs: 0 }, stream(3, 0));
    // The second packet's record: after the magic and start record, and the first packet's record.
    const second = encodeHeldStart({ head: 0, startMs: 0 }).length + encodeHeldPacket(stream(1, 0)[0]!).length;
    const flipped = Buffer.from(whole);
    flipped[second + 12] = flipped[second + 12]! ^ 1;
    const crc = decodeHeldJournal(flipped);
    expect(crc.packets).toHaveLength(1);
    expect(crc.problem).toMatch(/CRC failure/);
    const huge = Buffer.from(whole);
    huge.writeUInt32LE(0xffffffff, second);
    expect(decodeHeldJournal(huge)).toMatchObject({
      packets: [expect.anything()],
      problem: expect.stringMatching(/impossible record length/),
    });
  });

  test('empty, foreign or headerless files hold nothing to replay', () => {
    expect(decodeHeldJournal(Buffer.alloc(0))).toEqual({ start: null, packets: [], ignoredBytes: 0, problem: null });
    expect(decodeHeldJournal(Buffer.from('OggS....'))).toMatchObject({ start: null, ignoredBytes: 8, problem: expect.any(String) });
    const start = encodeHeldStart({ head: 0, startMs: 0 });
    expect(decodeHeldJournal(start.subarray(0, 10))).toMatchObject({ start: null, packets: [], problem: expect.stringMatching(/torn/) });
    // Packets with no start record before them cannot be placed.
    const noStart = Buffer.concat([start.subarray(0, 4), encodeHeldPacket(stream(1, 0)[0]!)]);
    expect(decodeHeldJournal(noStart)).toMatchObject({ start: null, packets: [], problem: expect.stringMatching(/unexpected record/) });
  });

  test('heldEndMs: where the last packet held ends, on the recording clock', () => {
    const read = decodeHeldJournal(
      journalOf(
        { head: 0, startMs: 0 },
        stream(5, 1000, (i) => (i === 2 ? 90 : 0)),
      ),
    );
    expect(heldEndMs(read)).toBe(1000 + 20 * 2 + 90 + 20);
  });
});

/** Positions a track that never crashed would give the same packets, and what it writes from `from` on. */
function uninterrupted(start: HeldStart, packets: HeldPacket[], endMs: number) {
  let state = initialPlacement<Buffer>(start.startMs);
  const out: PlacementOutput<Buffer>[] = [];
  for (const p of packets) {
    const step = placementReducer(state, {
      type: 'packet',
      arrivalMs: p.arrivalMs,
      samples: 960,
      rtp: p.rtp,
      bytes: p.opus,
      payload: p.opus,
    });
    state = step.state;
    out.push(...step.out);
  }
  out.push(...placementReducer(state, { type: 'tick', nowMs: endMs }).out);
  return out.flatMap((o) => (o.kind === 'packet' ? [{ pos: o.pos, payload: o.payload }] : []));
}

/** Where each packet of `writes` lands when they are appended from `from`. */
function landed(writes: HeldWrite[], from: number): { pos: number; payload: Buffer }[] {
  let at = from;
  const out: { pos: number; payload: Buffer }[] = [];
  for (const w of writes) {
    if (w.kind === 'packet') out.push({ pos: at, payload: w.payload });
    at += w.samples;
  }
  return out;
}

describe('replayHeld: the journal placed as the track would have placed it', () => {
  const start = { head: msToGrid(1000), startMs: 1000 };
  const jitter = (i: number) => (i * 7919) % 37;
  const packets = stream(60, 1500, jitter);

  test('on a track whose pages end where the hold began: every packet where an uninterrupted track puts it', () => {
    const read = decodeHeldJournal(journalOf(start, packets));
    const { writes, head } = replayHeld(read, start.head);
    const expected = uninterrupted(start, packets, 10_000);
    expect(landed(writes, start.head)).toEqual(expected);
    expect(head).toBe(expected.at(-1)!.pos + 960);
    // The silence before the first word fills the track up to it, on the grid.
    expect(writes[0]).toEqual({ kind: 'silence', samples: expected[0]!.pos - start.head });
  });

  test('what the disk already holds is skipped; a slot only partly on disk becomes silence', () => {
    const read = decodeHeldJournal(journalOf(start, packets));
    const expected = uninterrupted(start, packets, 10_000);
    // Pages of the first 20 packets reached the disk after the hold ended, and half of the 21st's slot.
    const diskHead = expected[20]!.pos + 480;
    const { writes, head } = replayHeld(read, diskHead);
    expect(writes[0]).toEqual({ kind: 'silence', samples: 480 });
    expect(landed(writes, diskHead)).toEqual(expected.slice(21));
    expect(head).toBe(expected.at(-1)!.pos + 960);
    // All of it on disk: nothing to write.
    expect(replayHeld(read, head + 9600)).toEqual({ writes: [], head: head + 9600 });
  });

  test('a track whose pages end before the hold began is filled with silence up to it', () => {
    const read = decodeHeldJournal(journalOf(start, packets));
    const { writes } = replayHeld(read, start.head - 4800);
    expect(landed(writes, start.head - 4800)).toEqual(uninterrupted(start, packets, 10_000));
  });

  test('a journal with no start, or no packets, writes nothing', () => {
    expect(replayHeld(decodeHeldJournal(Buffer.alloc(0)), 960)).toEqual({ writes: [], head: 960 });
    expect(replayHeld(decodeHeldJournal(journalOf(start, [])), start.head)).toEqual({ writes: [], head: start.head });
  });
});
