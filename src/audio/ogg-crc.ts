/**
 * CRC-32 as Ogg uses it (RFC 3533 §6, "CRC checksum"): generator polynomial 0x04C11DB7, MSB-first
 * (unreflected), initial value 0, no final XOR. This is NOT the zlib/PNG CRC-32 (which is reflected and
 * inverted), so node:zlib's crc32 cannot be reused.
 */

const TABLE: Uint32Array = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) {
      r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    }
    table[i] = r >>> 0;
  }
  return table;
})();

/** Ogg CRC of `data`, optionally continuing from a previous value `crc`. */
export function oggCrc32(data: Uint8Array, crc = 0): number {
  let c = crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = ((c << 8) ^ TABLE[((c >>> 24) ^ data[i]!) & 0xff]!) >>> 0;
  }
  return c;
}
