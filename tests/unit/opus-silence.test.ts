import { createRequire } from 'node:module';
import { describe, expect, test } from 'vitest';
import { opusPacketSamples } from '../../src/audio/opus-packet.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { encodeOpusFrames, noise } from '../helpers/audio.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

function decodeAll(decoder: InstanceType<typeof OpusEncoder>, packets: Buffer[]): Int16Array {
  const pcm = Buffer.concat(packets.map((p) => decoder.decode(p)));
  return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
}

describe('Opus silence packets', () => {
  test.each([0, 120, 240, 360, 480, 840, 960, 1080, 4800, 5760, 5880, 6720, 48000, 48000 * 95 + 840])(
    '%i samples: exact length, valid packets, decode to digital zero in libopus',
    (samples) => {
      const packets = silencePackets(samples);
      expect(packets.reduce((n, p) => n + p.samples, 0)).toBe(samples);
      for (const p of packets) expect(opusPacketSamples(p.packet)).toBe(p.samples);
      const pcm = decodeAll(
        new OpusEncoder(48000, 2),
        packets.map((p) => p.packet),
      );
      expect(pcm.length).toBe(samples * 2);
      expect(pcm.every((v) => v === 0)).toBe(true);
    },
  );

  test('the building blocks are the documented bytes', () => {
    expect(silencePackets(5760)[0]!.packet).toEqual(
      Buffer.from([0xfb, 0x06, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe, 0xff, 0xfe]),
    );
    expect(silencePackets(960)[0]!.packet).toEqual(Buffer.from([0xf8, 0xff, 0xfe]));
    expect(silencePackets(840).map((p) => p.packet[0]! >> 3)).toEqual([30, 29, 28]);
  });

  test('after speech, silence decays to exact zero within one frame', () => {
    const decoder = new OpusEncoder(48000, 2);
    decodeAll(decoder, encodeOpusFrames(noise(100, 0.5)));
    const after = decodeAll(
      decoder,
      silencePackets(960 + 480 + 240 + 120).map((p) => p.packet),
    );
    // The first silence frame carries the previous frame's MDCT overlap; everything after it is zero.
    expect(after.subarray(960 * 2).every((v) => v === 0)).toBe(true);
  });

  test.each([-120, 100, 1.5])('refuses %p samples', (samples) => {
    expect(() => silencePackets(samples)).toThrow(RangeError);
  });
});
