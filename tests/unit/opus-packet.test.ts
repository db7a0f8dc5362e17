import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { frameSamples, opusPacketSamples } from '../../src/audio/opus-packet.ts';
import { encodeOpusFrames, noise, tone } from '../helpers/audio.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

const b = (...bytes: number[]): Buffer => Buffer.from(bytes);
const fill = (n: number): number[] => new Array<number>(n).fill(0);

describe('frame durations from the TOC config (RFC 6716 Table 2)', () => {
  test.each([
    [0, 480],
    [1, 960],
    [2, 1920],
    [3, 2880], // SILK NB
    [11, 2880],
    [12, 480],
    [13, 960],
    [15, 960], // SILK WB, hybrid
    [16, 120],
    [17, 240],
    [18, 480],
    [19, 960],
    [28, 120],
    [31, 960], // CELT
  ])('config %i -> %i samples', (config, samples) => {
    expect(frameSamples(config)).toBe(samples);
  });
});

// Config 31 (CELT FB 20 ms) unless stated: TOC 0xF8 code 0, 0xF9 code 1, 0xFA code 2, 0xFB code 3.
const VALID: [string, Buffer, number][] = [
  ['code 0, one 20 ms frame', b(0xf8, 0xff, 0xfe), 960],
  ['code 0, TOC only (DTX frame)', b(0xf8), 960],
  ['code 0, 1275-byte frame (max)', b(0xf8, ...fill(1275)), 960],
  ['code 1, two equal frames', b(0xf9, 1, 2, 3, 4), 1920],
  ['code 2, explicit first length 1', b(0xfa, 1, 9, 8, 7), 1920],
  ['code 2, two-byte length 252+4*1=256', b(0xfa, 252, 1, ...fill(256), 5), 1920],
  ['code 3 CBR, 6 x 20 ms = 120 ms', b(0xfb, 0x06, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe), 5760],
  ['code 3 CBR with 2 bytes padding', b(0xfb, 0x42, 2, 0xaa, 0xbb, 0, 0), 1920],
  ['code 3 CBR padding 255 -> 254 + next', b(0xfb, 0x41, 255, 1, ...fill(2), ...fill(255)), 960],
  ['code 3 VBR, lengths 1 and rest', b(0xfb, 0x82, 1, 0xaa, 0xbb, 0xcc), 1920],
  ['code 3, 48 x 2.5 ms = 120 ms', b(0xe3, 48), 5760],
  ['SILK 60 ms code 1 = 120 ms', b((3 << 3) | 1, 1, 2), 5760],
];

const INVALID: [string, Buffer][] = [
  ['R1: empty', b()],
  ['R2: code 0 frame of 1276 bytes', b(0xf8, ...fill(1276))],
  ['R3: code 1 with an even length', b(0xf9, 1, 2, 3)],
  ['R2: code 1 frames of 1276 bytes', b(0xf9, ...fill(2552))],
  ['R4: code 2 without a length byte', b(0xfa)],
  ['R4: code 2 two-byte length cut short', b(0xfa, 252)],
  ['R4: code 2 first length beyond the packet', b(0xfa, 5, 1, 2)],
  ['R5: code 3 without the count byte', b(0xfb)],
  ['R5: code 3 with zero frames', b(0xfb, 0x00)],
  ['R5: code 3 of 7 x 20 ms = 140 ms', b(0xfb, 0x07, ...fill(7))],
  ['R5: SILK 60 ms x 3 = 180 ms', b((3 << 3) | 3, 3)],
  ['R6: CBR bytes not a multiple of M', b(0xfb, 0x02, 1, 2, 3)],
  ['R6: padding longer than the packet', b(0xfb, 0x41, 10, 1)],
  ['R6: padding length bytes missing', b(0xfb, 0x41)],
  ['R7: VBR length byte missing', b(0xfb, 0x83, 1)],
  ['R7: VBR lengths exceed the packet', b(0xfb, 0x82, 9, 1, 2)],
];

describe('RFC 6716 §3.4 validation', () => {
  test.each(VALID)('valid: %s', (_name, packet, samples) => {
    expect(opusPacketSamples(packet)).toBe(samples);
  });

  test.each(INVALID)('invalid: %s', (_name, packet) => {
    expect(opusPacketSamples(packet)).toBeNull();
  });

  test.each(INVALID.filter(([, p]) => p.length > 0))('libopus also rejects: %s', (_name, packet) => {
    const decoder = new OpusEncoder(48000, 2);
    expect(() => decoder.decode(packet)).toThrow();
  });

  test('durations of real libopus packets match what libopus decodes', () => {
    const decoder = new OpusEncoder(48000, 2);
    for (const packet of encodeOpusFrames(tone(440, 200), 96000).concat(encodeOpusFrames(noise(200), 16000))) {
      const samples = opusPacketSamples(packet);
      expect(samples).toBe(decoder.decode(packet).length / 4);
    }
  });
});
