import type { RawData } from 'ws';

/** A text frame from `ws` as a string, whichever of its three buffer shapes it arrived in. */
export function wsText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}
