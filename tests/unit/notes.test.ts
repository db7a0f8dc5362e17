import { describe, expect, test } from 'vitest';
import { notesLine } from '../../src/bot/format.ts';
import { mayAddNote, NOTE_MAX_LENGTH, noteText } from '../../src/recording/notes.ts';

const note = (at: number, text: string, byName = 'Hana') => ({ at, by: '1', byName, text });

describe('a note as kept', () => {
  test('is one line of text: whitespace, newlines and control characters fold to single spaces', () => {
    expect(noteText('  Intro\n\tdone \u0007 now  ')).toBe('Intro done now');
  });
  test('nothing but whitespace is no note', () => {
    expect(noteText(' \n ')).toBeNull();
  });
  test(`is cut at ${NOTE_MAX_LENGTH} characters, with no space left dangling`, () => {
    expect(noteText('x'.repeat(NOTE_MAX_LENGTH + 50))).toHaveLength(NOTE_MAX_LENGTH);
    expect(noteText(`${'x'.repeat(NOTE_MAX_LENGTH - 1)} y`)).toBe('x'.repeat(NOTE_MAX_LENGTH - 1));
  });
});

test('the host and whoever is being recorded may add a note; nobody else', () => {
  const room = { hostId: 'h', recording: [{ userId: 'i' }] };
  expect([mayAddNote('h', room), mayAddNote('i', room), mayAddNote('z', room)]).toEqual([true, true, false]);
});

describe('the notes line of the consent message and /record status', () => {
  test('none: no line', () => {
    expect(notesLine([], 3)).toBeUndefined();
  });
  test('the latest few, with their time, who added them, markdown escaped, and how many came earlier', () => {
    const line = notesLine([note(1_000, 'a'), note(65_000, '*b*'), note(3_723_000, 'c', 'I_van')], 2);
    expect(line).toBe('🗒️ **Notes** (1 earlier): `1:05` \\*b\\* (Hana) · `1:02:03` c (I\\_van)');
  });
  test('long notes are cut, so many of them stay within a Discord message', () => {
    const line =
      notesLine(
        Array.from({ length: 10 }, (_, i) => note(i * 1000, 'y'.repeat(NOTE_MAX_LENGTH))),
        5,
      ) ?? '';
    expect(line.length).toBeLessThan(600);
    expect(line).toContain(`${'y'.repeat(79)}…`);
  });
});
