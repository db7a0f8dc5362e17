// Property-based tests (fast-check) for the Ogg Opus reader and the repair tool: streams of any packets laid
// over pages of any size, then damaged in the ways files get damaged (granule positions that lie, pages out of
// order, lost or repeated, bytes flipped, files cut short). What must hold for every one of them: the reader
// refuses with a MediaFormatError or reads what the packets hold; it never claims audio the packets do not
// have, never throws anything else, and never changes the file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { openOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { MediaFormatError, PageOrderError } from '../../src/audio/ogg-opus-stream.ts';
import { opusPacketSamples } from '../../src/audio/opus-packet.ts';
import { repairTrack } from '../../src/audio/track-repair.ts';
import { buildStream, editPage, granuleOf, type BuiltStream } from '../helpers/ogg-pages.ts';

const dir = mkdtempSync(join(tmpdir(), 'roomrec-oggprop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** One Opus packet (a code-0 TOC of any config, so 2.5 to 60 ms) of any size up to past the 255-byte lacing steps. */
const packetArb = fc
  .record({
    config: fc.integer({ min: 0, max: 31 }),
    stereo: fc.boolean(),
    length: fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constantFrom(254, 255, 256, 509, 510, 511, 765, 1275)),
    fill: fc.integer({ min: 0, max: 255 }),
  })
  .map(({ config, stereo, length, fill }) => {
    const data = Buffer.alloc(1 + length, fill);
    data[0] = (config << 3) | (stereo ? 4 : 0);
    return { data, samples: opusPacketSamples(data)! };
  });

const streamArb = fc.record({
  serial: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  preSkip: fc.oneof(fc.constant(312), fc.integer({ min: 0, max: 3840 })),
  origin: fc.constant(0n),
  packets: fc.array(packetArb, { minLength: 1, maxLength: 40 }),
  pageSegments: fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 1, maxLength: 6 }),
});

const total = (packets: { samples: number }[]) => packets.reduce((sum, p) => sum + p.samples, 0);

/** The reader's view of `bytes` (written to a file of its own), or the MediaFormatError it refused them with. */
async function read(bytes: Buffer) {
  const path = join(dir, `p${n++}.ogg`);
  writeFileSync(path, bytes);
  try {
    const file = await openOggOpus(path);
    const packets: Buffer[] = [];
    let samples = 0;
    for await (const p of file.packets()) {
      packets.push(p.data);
      samples += p.samples;
    }
    expect(readFileSync(path).equals(bytes)).toBe(true); // reading never changes the file
    return { ok: true as const, path, file, packets, samples };
  } catch (err) {
    if (!(err instanceof MediaFormatError)) throw err;
    return { ok: false as const, path, err };
  }
}

async function readOk(bytes: Buffer) {
  const r = await read(bytes);
  if (!r.ok) throw new Error(`refused: ${r.err.message}`);
  return r;
}

/** Index of the first audio page on which a packet ends (its granule sets the stream's origin). */
const firstCompleting = (s: BuiltStream) => s.audioFrom + s.completedPerPage.findIndex((c) => c > 0);

describe('the Ogg Opus reader, for any stream', () => {
  test('reads back every packet, byte for byte, and the length the packets hold, whatever the page sizes', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, async (spec) => {
        const r = await readOk(buildStream(spec).bytes);
        expect(r.packets).toEqual(spec.packets.map((p) => p.data));
        expect(r.file.totalSamples).toBe(Math.max(0, total(spec.packets) - spec.preSkip));
        expect(r.file.truncated).toBe(false);
        expect(r.file.warnings).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  test('a start offset (every granule moved on by the same amount) changes nothing read, and is named in a warning', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.bigInt({ min: 1n, max: 2n ** 62n }), async (spec, origin) => {
        const r = await readOk(buildStream({ ...spec, origin }).bytes);
        expect(r.packets).toEqual(spec.packets.map((p) => p.data));
        expect(r.file.totalSamples).toBe(Math.max(0, total(spec.packets) - spec.preSkip));
        expect(r.file.warnings).toHaveLength(1);
        expect(r.file.warnings[0]).toMatch(/granule positions count from \d+\.\d{3} s, not 0/);
      }),
      { numRuns: 40 },
    );
  });

  test('a last granule position is believed only as end trimming within its own page; any other value is not, with a warning', async () => {
    const granuleArb = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -6000n, max: 6000n }));
    await fc.assert(
      fc.asyncProperty(streamArb, granuleArb, async (spec, offset) => {
        const s = buildStream(spec);
        const last = s.pages.length - 1;
        fc.pre(firstCompleting(s) < last); // the first granule places the stream; that case has its own test
        const sum = BigInt(total(spec.packets));
        // Near the packets' end (an offset from it) or anywhere in the int64 range.
        const granule = BigInt.asIntN(64, offset >= -6000n && offset <= 6000n ? sum + offset : offset);
        const r = await readOk(Buffer.concat([...s.pages.slice(0, last), editPage(s.pages[last]!, { granule })]));
        const onLastPage = total(spec.packets.slice(spec.packets.length - s.completedPerPage[s.completedPerPage.length - 1]!));
        const trims = granule >= 0n && sum - granule >= 0n && sum - granule <= BigInt(onLastPage) && granule >= BigInt(spec.preSkip);
        expect(r.packets).toHaveLength(spec.packets.length);
        if (trims) {
          expect(r.file.totalSamples).toBe(Number(granule) - spec.preSkip);
          expect(r.file.warnings).toEqual([]);
        } else {
          expect(r.file.totalSamples).toBe(Math.max(0, Number(sum) - spec.preSkip));
          // A negative granule is "none" (-1) or invalid: nothing to believe or to warn about.
          expect(r.file.warnings).toHaveLength(granule < 0n ? 0 : 1);
        }
        expect(r.file.totalSamples).toBeLessThanOrEqual(Math.max(0, r.samples - spec.preSkip));
      }),
      { numRuns: 80 },
    );
  });

  test('granule positions between the first and the last page change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.array(fc.bigInt({ min: -1n, max: 2n ** 63n - 1n })), async (spec, granules) => {
        const s = buildStream(spec);
        const from = firstCompleting(s) + 1;
        const pages = s.pages.map((p, i) =>
          i > from - 1 && i < s.pages.length - 1 ? editPage(p, { granule: granules[i % (granules.length || 1)] ?? -1n }) : p,
        );
        const r = await readOk(Buffer.concat(pages));
        expect(r.packets).toEqual(spec.packets.map((p) => p.data));
        expect(r.file.totalSamples).toBe(Math.max(0, total(spec.packets) - spec.preSkip));
        expect(r.file.warnings).toEqual([]);
      }),
      { numRuns: 40 },
    );
  });

  test('a file cut at any byte reads as the packets of its whole pages, or is refused when its headers are cut', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.double({ min: 0, max: 1, noNaN: true }), async (spec, where) => {
        const s = buildStream(spec);
        const cut = Math.floor(where * s.bytes.length);
        const r = await read(s.bytes.subarray(0, cut));
        const headerBytes = s.pages[0]!.length + s.pages[1]!.length;
        if (cut < headerBytes) {
          expect(r.ok).toBe(false);
          return;
        }
        if (!r.ok) throw r.err;
        const originals = spec.packets.map((p) => p.data);
        expect(r.packets).toEqual(originals.slice(0, r.packets.length));
        expect(r.file.truncated).toBe(cut < s.bytes.length);
        expect(r.file.totalSamples).toBe(Math.max(0, total(spec.packets.slice(0, r.packets.length)) - spec.preSkip));
        expect(r.file.warnings).toEqual([]);
      }),
      { numRuns: 60 },
    );
  });

  test('pages out of order are refused (PageOrderError), and the repair puts them back: the copy is the original file', async () => {
    await fc.assert(
      fc.asyncProperty(
        streamArb.filter((spec) => buildStream(spec).pages.length > 3),
        fc.array(fc.nat()),
        async (spec, keys) => {
          const s = buildStream(spec);
          const audio = s.pages.slice(s.audioFrom);
          const order = audio.map((_, i) => i).sort((a, b) => (keys[a] ?? a) - (keys[b] ?? b) || a - b);
          fc.pre(order.some((k, i) => k !== i));
          const shuffled = Buffer.concat([...s.pages.slice(0, s.audioFrom), ...order.map((i) => audio[i]!)]);
          const r = await read(shuffled);
          expect(r.ok).toBe(false);
          if (r.ok) return;
          expect(r.err).toBeInstanceOf(PageOrderError);
          const repaired = await repairTrack(r.path);
          expect(repaired.changes).toContain('pages put back in order');
          expect(readFileSync(repaired.output!).equals(s.bytes)).toBe(true);
          expect(readFileSync(r.path).equals(shuffled)).toBe(true); // the original is kept as it was
        },
      ),
      { numRuns: 30 },
    );
  });

  test('a lost page is read on with a warning; what is read is the other packets, in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        streamArb.filter((spec) => buildStream(spec).pages.length > 4),
        fc.nat(),
        async (spec, pick) => {
          const s = buildStream(spec);
          const lost = s.audioFrom + (pick % (s.pages.length - s.audioFrom - 1)); // any audio page but the last
          const r = await readOk(Buffer.concat(s.pages.filter((_, i) => i !== lost)));
          expect(r.file.warnings.some((w) => /^1 page is missing before byte \d+/.test(w))).toBe(true);
          // A subsequence of the originals: each packet read is one written, none out of order.
          let at = 0;
          for (const p of r.packets) {
            while (at < spec.packets.length && !spec.packets[at]!.data.equals(p)) at++;
            expect(at).toBeLessThan(spec.packets.length);
            at++;
          }
          expect(r.packets.length).toBeLessThan(spec.packets.length + 1);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('any bytes flipped anywhere: refused with a MediaFormatError, or read without claiming more than the packets read hold', async () => {
    const flipsArb = fc.array(
      fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), value: fc.integer({ min: 0, max: 255 }) }),
      {
        minLength: 1,
        maxLength: 4,
      },
    );
    await fc.assert(
      fc.asyncProperty(streamArb, flipsArb, fc.boolean(), async (spec, flips, reseal) => {
        const s = buildStream(spec);
        const pages = s.pages.map((p) => Buffer.from(p));
        for (const { at, value } of flips) {
          // With `reseal`, the damage is in a page header and the CRC made right: the reader must not lean on the CRC alone.
          const page = pages[Math.floor(at * pages.length)]!;
          const byte = reseal ? 4 + (Math.floor(at * 1e6) % 23) : Math.floor(at * 1e6) % page.length;
          page[byte] = value;
          if (reseal) editPage(page, {}).copy(page);
        }
        const r = await read(Buffer.concat(pages));
        if (!r.ok) return;
        expect(r.file.totalSamples).toBeLessThanOrEqual(Math.max(0, r.samples - r.file.head.preSkip));
      }),
      { numRuns: 120 },
    );
  });

  test('a second stream chained after the first is refused, whatever its serial', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, streamArb, async (a, b) => {
        const r = await read(Buffer.concat([buildStream(a).bytes, buildStream(b).bytes]));
        expect(r.ok).toBe(false);
        if (!r.ok)
          expect(r.err.message).toMatch(
            /^a second stream \(from byte \d+\) is chained after the first: roomrec reads one stream per file$/,
          );
      }),
      { numRuns: 20 },
    );
  });
});

describe('the first granule position of a one-page stream', () => {
  test('above the packets it is a start offset; below them, on the page that ends the stream, end trimming', async () => {
    const packets = [Buffer.from([0xf8, 1, 2]), Buffer.from([0xf8, 3, 4])].map((data) => ({ data, samples: 960 }));
    const spec = { serial: 1, preSkip: 312, origin: 0n, packets, pageSegments: [255] };
    const page = (granule: bigint) => {
      const s = buildStream(spec);
      return Buffer.concat([...s.pages.slice(0, 2), editPage(s.pages[2]!, { granule })]);
    };
    const offset = await readOk(page(1920n + 48_000n));
    expect(offset.file.totalSamples).toBe(1920 - 312);
    expect(offset.file.warnings).toEqual([
      'its granule positions count from 1.000 s, not 0 (a stream cut from a longer one?): its audio is read from the start of the track',
    ]);
    const trimmed = await readOk(page(1000n));
    expect(trimmed.file.totalSamples).toBe(1000 - 312);
    expect(trimmed.file.warnings).toEqual([]);
    // Below pre-skip is invalid (RFC 7845 §4.5): nothing is cut rather than everything.
    const below = await readOk(page(100n));
    expect(below.file.totalSamples).toBe(1920 - 312);
    expect(below.file.warnings).toHaveLength(1);
    expect(granuleOf(buildStream(spec).pages[2]!)).toBe(1920n);
  });
});
