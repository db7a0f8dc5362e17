/**
 * CRC-32 as Ogg uses it (RFC 3533 §6, "CRC checksum"): generator polynomial 0x04C11DB7, MSB-first
 * (unreflected), initial value 0, no final XOR. This is NOT the zlib/PNG CRC-32 (which is reflected and
 * inverted), so node:zlib's crc32 cannot be reused.
 *
 * Four bytes per step ("slicing by 4"): TABLES[k][i] is the CRC of byte i followed by k zero bytes, so one
 * step looks up each byte of the register with the new bytes XORed in, at its distance from the end. Every
 * page is checked when a track is scanned and again when it is decoded, so this is on the mix's path.
 */

const TABLES: Uint32Array[] = (() => {
  const t0 = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let bit = 0; bit < 8; bit++) {
      r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    }
    t0[i] = r >>> 0;
  }
  const tables = [t0];
  for (let k = 1; k < 4; k++) {
    const prev = tables[k - 1]!;
    const t = new Uint32Array(256);
    for (let i = 0; i < 256; i++) t[i] = ((prev[i]! << 8) ^ t0[prev[i]! >>> 24]!) >>> 0;
    tables.push(t);
  }
  return tables;
})();
const [T0, T1, T2, T3] = TABLES as [Uint32Array, Uint32Array, Uint32Array, Uint32Array];

/** Ogg CRC of `data`, optionally continuing from a previous value `crc`. */
export function oggCrc32(data: Uint8Array, crc = 0): number {
  let c = crc >>> 0;
  let i = 0;
  for (const end = data.length - 3; i < end; i += 4) {
    c ^= (data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
    c = T3[c >>> 24]! ^ T2[(c >>> 16) & 0xff]! ^ T1[(c >>> 8) & 0xff]! ^ T0[c & 0xff]!;
  }
  for (; i < data.length; i++) c = (c << 8) ^ T0[((c >>> 24) ^ data[i]!) & 0xff]!;
  return c >>> 0;
}
