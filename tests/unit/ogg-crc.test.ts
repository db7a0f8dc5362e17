import { describe, expect, test } from 'vitest';
import { oggCrc32 } from '../../src/audio/ogg-crc.ts';

describe('oggCrc32', () => {
  // Poly 0x04C11DB7, MSB-first, init 0, no final XOR: CRC-32/CKSUM without its final inversion (check 0x765E7680).
  test('the catalogue check value', () => {
    expect(oggCrc32(Buffer.from('123456789'))).toBe(0x89a1897f);
  });

  test('four bytes at a time or one: the same for every length and split point', () => {
    const data = Buffer.from(Array.from({ length: 23 }, (_, i) => (i * 97 + 13) & 0xff));
    const bytewise = (bytes: Uint8Array, crc = 0) => {
      let c = crc;
      for (const b of bytes) c = oggCrc32(Uint8Array.of(b), c);
      return c;
    };
    for (let n = 0; n <= data.length; n++) {
      const whole = oggCrc32(data.subarray(0, n));
      expect(whole).toBe(bytewise(data.subarray(0, n)));
      for (let split = 0; split <= n; split++) expect(oggCrc32(data.subarray(split, n), oggCrc32(data.subarray(0, split)))).toBe(whole);
    }
  });
});
