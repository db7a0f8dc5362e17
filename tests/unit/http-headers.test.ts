import { describe, expect, test } from 'vitest';
import { contentDisposition, safeFileName } from '../../src/http/content-disposition.ts';
import { contentRange, decideRange } from '../../src/http/range.ts';

describe('decideRange (RFC 9110 §14)', () => {
  test.each([
    [undefined, 1000, { kind: 'full' }],
    ['bytes=0-99', 1000, { kind: 'partial', start: 0, end: 99 }],
    ['bytes=-100', 1000, { kind: 'partial', start: 900, end: 999 }],
    ['bytes=-5000', 1000, { kind: 'partial', start: 0, end: 999 }],
    ['bytes=500-', 1000, { kind: 'partial', start: 500, end: 999 }],
    ['bytes=990-5000', 1000, { kind: 'partial', start: 990, end: 999 }],
    ['bytes=1000-', 1000, { kind: 'unsatisfiable' }],
    ['bytes=-0', 1000, { kind: 'unsatisfiable' }],
    ['bytes=-10', 0, { kind: 'unsatisfiable' }],
    ['bytes=0-', 0, { kind: 'unsatisfiable' }],
    ['bytes=5-3', 1000, { kind: 'full' }],
    ['bytes=0-1,5-6', 1000, { kind: 'full' }],
    ['items=0-1', 1000, { kind: 'full' }],
    ['bytes=-', 1000, { kind: 'full' }],
  ] as const)('%s of %i bytes', (header, size, expected) => {
    expect(decideRange(header, size)).toEqual(expected);
  });

  test('Content-Range for a part and for a refusal', () => {
    expect(contentRange({ kind: 'partial', start: 0, end: 99 }, 1000)).toBe('bytes 0-99/1000');
    expect(contentRange({ kind: 'unsatisfiable' }, 1000)).toBe('bytes */1000');
  });
});

describe('contentDisposition (RFC 6266)', () => {
  test('plain ASCII names stay as they are', () => {
    expect(contentDisposition('attachment', '01-alice.ogg')).toBe('attachment; filename="01-alice.ogg"');
  });

  test('non-ASCII names get an ASCII fallback and a UTF-8 filename*', () => {
    expect(contentDisposition('attachment', '02-Zoë 東京.ogg')).toBe(
      `attachment; filename="02-Zo_ __.ogg"; filename*=UTF-8''02-Zo%C3%AB%20%E6%9D%B1%E4%BA%AC.ogg`,
    );
  });

  test('quotes, separators and control characters cannot break out of the header or the folder', () => {
    const header = contentDisposition('attachment', '../"evil"\r\nSet-Cookie: x=1;/\\.ogg');
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toBe(`attachment; filename="__evil___Set-Cookie_ x=1___.ogg"; filename*=UTF-8''__evil___Set-Cookie_%20x%3D1%3B__.ogg`);
  });

  test('an empty or dots-only name falls back', () => {
    expect(safeFileName('..')).toBe('file');
    expect(safeFileName('   ', 'speaker')).toBe('speaker');
  });
});
