import { describe, expect, test } from 'vitest';
import { REC_PREFIX, restoredNickname, stripRecPrefix, withRecPrefix } from '../../src/bot/indicator.ts';

describe('recording indicator nickname', () => {
  test('prefixes once, even when applied twice (e.g. after a restart)', () => {
    expect(withRecPrefix('roomrec')).toBe(`${REC_PREFIX}roomrec`);
    expect(withRecPrefix(withRecPrefix('roomrec'))).toBe(`${REC_PREFIX}roomrec`);
  });

  test("stays within Discord's 32-character limit without splitting a character", () => {
    const long = 'a'.repeat(40);
    const nick = withRecPrefix(long);
    expect([...nick].length).toBe(32);
    expect(nick.startsWith(REC_PREFIX)).toBe(true);
  });

  test('restores a custom nickname, or none when it was just the username', () => {
    expect(restoredNickname(`${REC_PREFIX}Recorder`, 'roomrec')).toBe('Recorder');
    expect(restoredNickname(`${REC_PREFIX}roomrec`, 'roomrec')).toBeNull();
    expect(restoredNickname(null, 'roomrec')).toBeNull();
    expect(stripRecPrefix('plain')).toBe('plain');
  });
});
