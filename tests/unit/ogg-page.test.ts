import { describe, expect, test } from 'vitest';
import { oggCrc32 } from '../../src/audio/ogg-crc.ts';
import { buildOggPage, pagePieces, parseOggPage, FLAG_BOS, FLAG_EOS } from '../../src/audio/ogg-page.ts';
import { buildOpusHead, buildOpusTags, parseOpusHead, parseOpusTags } from '../../src/audio/opus-head.ts';

// First page of `opusenc --serial 12345` (opus-tools 0.2, libopus 1.3.1) on a 48 kHz stereo WAV: the BOS
// page carrying OpusHead. Its CRC (bytes 22-25, 0xC7723C3D) was computed by libogg.
const OPUSENC_FIRST_PAGE = Buffer.from(
  '4f6767530002000000000000000039300000000000003d3c72c701134f707573486561640102380180bb0000000000',
  'hex',
);

describe('Ogg CRC (RFC 3533 §6: poly 0x04C11DB7, unreflected, init 0)', () => {
  test('matches the CRC libogg wrote into an opusenc page', () => {
    const zeroed = Buffer.from(OPUSENC_FIRST_PAGE);
    zeroed.writeUInt32LE(0, 22);
    expect(oggCrc32(zeroed)).toBe(0xc7723c3d);
  });

  test.each([
    ['empty', '', 0x00000000],
    // CRC-32/POSIX (same polynomial, init 0) has check value 0x765E7680 for '123456789' after its final
    // XOR with 0xFFFFFFFF; Ogg does no final XOR, hence the complement.
    ['123456789', '313233343536373839', 0x89a1897f],
  ])('known vector: %s', (_name, hex, crc) => {
    expect(oggCrc32(Buffer.from(hex, 'hex'))).toBe(crc);
  });

  test('can be computed incrementally', () => {
    const data = Buffer.from('OggS page data that spans two calls');
    expect(oggCrc32(data.subarray(10), oggCrc32(data.subarray(0, 10)))).toBe(oggCrc32(data));
  });
});

describe('buildOggPage / parseOggPage', () => {
  test('reproduces the opusenc OpusHead page byte for byte', () => {
    const page = buildOggPage({
      serial: 12345,
      sequence: 0,
      granule: 0,
      bos: true,
      packets: [buildOpusHead({ channels: 2, preSkip: 312, inputSampleRate: 48000 })],
    });
    expect(page.toString('hex')).toBe(OPUSENC_FIRST_PAGE.toString('hex'));
    const parsed = parseOggPage(page);
    expect(parsed.kind).toBe('page');
    if (parsed.kind !== 'page') return;
    expect(parsed.page.flags & FLAG_BOS).toBe(FLAG_BOS);
    expect(parseOpusHead(parsed.page.body)).toEqual({
      version: 1,
      channels: 2,
      preSkip: 312,
      inputSampleRate: 48000,
      outputGain: 0,
      mappingFamily: 0,
    });
  });

  test.each([
    [[0], [0]],
    [[1], [1]],
    [[254], [254]],
    [[255], [255, 0]],
    [[510], [255, 255, 0]],
    [
      [3, 600, 0],
      [3, 255, 255, 90, 0],
    ],
  ])('lacing of packets %j is %j, and the packets come back out', (sizes, lacing) => {
    const packets = sizes.map((n, i) => Buffer.alloc(n, i + 1));
    const page = buildOggPage({ serial: 7, sequence: 3, granule: 960n, eos: true, packets });
    const parsed = parseOggPage(page);
    if (parsed.kind !== 'page') throw new Error(parsed.kind);
    expect([...parsed.page.lacing]).toEqual(lacing);
    expect(parsed.page.granule).toBe(960n);
    expect(parsed.page.sequence).toBe(3);
    expect(parsed.page.flags & FLAG_EOS).toBe(FLAG_EOS);
    expect(pagePieces(parsed.page).map((p) => [p.data.length, p.complete])).toEqual(sizes.map((n) => [n, true]));
  });

  test('a packet continuing on the next page ends its page with lacing 255 and no terminator', () => {
    const page = buildOggPage({
      serial: 1,
      sequence: 1,
      granule: -1,
      packets: [Buffer.alloc(10), Buffer.alloc(510)],
      lastIncomplete: true,
    });
    const parsed = parseOggPage(page);
    if (parsed.kind !== 'page') throw new Error(parsed.kind);
    expect([...parsed.page.lacing]).toEqual([10, 255, 255]);
    expect(parsed.page.granule).toBe(-1n);
    expect(pagePieces(parsed.page).map((p) => p.complete)).toEqual([true, false]);
  });

  test('more than 255 segments is refused', () => {
    expect(() => buildOggPage({ serial: 1, sequence: 0, granule: 0, packets: [Buffer.alloc(255 * 255)] })).toThrow(/segments/);
  });

  test('detects a flipped bit, a cut page and a missing capture pattern', () => {
    const page = buildOggPage({ serial: 9, sequence: 2, granule: 1920, packets: [Buffer.from([0xf8, 0xff, 0xfe])] });
    const flipped = Buffer.from(page);
    flipped[page.length - 1]! ^= 0x10;
    expect(parseOggPage(flipped).kind).toBe('bad-crc');
    expect(parseOggPage(page.subarray(0, page.length - 1))).toEqual({ kind: 'incomplete', needed: page.length });
    expect(parseOggPage(page.subarray(0, 10)).kind).toBe('incomplete');
    expect(parseOggPage(Buffer.from('RIFF....WAVEfmt ....................')).kind).toBe('bad-capture');
  });
});

describe('OpusTags (RFC 7845 §5.2)', () => {
  test('round-trips vendor and UTF-8 comments', () => {
    const packet = buildOpusTags('roomrec', { ARTIST: 'Zoë 🎙', ROOMREC_USER: '1234', TITLE: 'a=b' });
    expect(parseOpusTags(packet)).toEqual({ vendor: 'roomrec', comments: { ARTIST: 'Zoë 🎙', ROOMREC_USER: '1234', TITLE: 'a=b' } });
  });

  test('refuses a field name with "="', () => {
    expect(() => buildOpusTags('x', { 'A=B': 'c' })).toThrow(/field name/);
  });

  test('a truncated comment header is malformed', () => {
    const packet = buildOpusTags('roomrec', { ARTIST: 'Alice' });
    expect(parseOpusTags(packet.subarray(0, packet.length - 2))).toBeNull();
  });
});
