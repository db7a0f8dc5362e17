// Byte ranges (RFC 9110 §14). Pure: header text and representation size in, what to send out; and the range
// cut out of a body that is produced as a stream.
//
//   Range: bytes=0-99      first 100 bytes            -> { start: 0, end: 99 }
//   Range: bytes=-100      last 100 bytes (suffix)    -> { start: size-100, end: size-1 }
//   Range: bytes=500-      from 500 to the end        -> { start: 500, end: size-1 }
//
// Only a single range is honoured. RFC 9110 §14.2 lets a server ignore Range, so a multi-range request, another
// unit or a syntax error gets the whole file (200) rather than multipart/byteranges.

export type RangeDecision = { kind: 'full' } | { kind: 'partial'; start: number; end: number } | { kind: 'unsatisfiable' };

const SINGLE = /^bytes=[ \t]*(\d*)-(\d*)[ \t]*$/;

export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const match = SINGLE.exec(header);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    // Suffix range (§14.1.3): a zero-length suffix, or any suffix of an empty file, selects nothing.
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' }; // invalid range-spec: ignore the header
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

export function contentRange(decision: RangeDecision, size: number): string {
  return decision.kind === 'partial' ? `bytes ${decision.start}-${decision.end}/${size}` : `bytes */${size}`;
}

/**
 * Bytes `start`..`end` (inclusive) of a stream of chunks, for a body that can only be produced from its
 * beginning (the zip). It stops reading once it has them, which ends (destroys) the source.
 */
export async function* takeRange(chunks: AsyncIterable<Buffer>, start: number, end: number): AsyncGenerator<Buffer> {
  let at = 0;
  for await (const chunk of chunks) {
    const from = Math.max(0, start - at);
    const to = Math.min(chunk.length, end + 1 - at);
    if (from < to) yield chunk.subarray(from, to);
    at += chunk.length;
    if (at > end) return;
  }
}
