// The pure parts of the limit on refused links: the windowed counter (with a hand-driven clock) and who the
// client is. The server's use of them is in http-hardening.test.ts.
import { describe, expect, test } from 'vitest';
import { addressKey, clientAddress } from '../../src/http/client-address.ts';
import { createWindowedCounter, type WindowTally } from '../../src/http/windowed-counter.ts';

const MIN = 60_000;

function counter(limit: number, maxKeys = 100) {
  const ended: WindowTally[] = [];
  return { ended, counter: createWindowedCounter({ limit, windowMs: 10 * MIN, maxKeys, onEnded: (tally) => ended.push(tally) }) };
}

describe('the windowed counter', () => {
  test('says which event opens a window, turns a key away past its limit until the window is over, then reports it', () => {
    const { counter: c, ended } = counter(2);
    expect(c.count('a', 'expired', 0)).toBe(true);
    expect(c.turnAway('a', MIN)).toBeUndefined();
    expect(c.count('a', 'malformed', MIN)).toBe(false);
    expect(c.turnAway('a', MIN)).toBe(9 * 60);
    expect(c.turnAway('a', 10 * MIN - 1)).toBe(1);
    expect(ended).toEqual([]);
    expect(c.turnAway('a', 10 * MIN)).toBeUndefined();
    expect(ended).toEqual([{ key: 'a', since: 0, count: 2, turnedAway: 2, reasons: { expired: 1, malformed: 1 } }]);
    expect(c.count('a', 'expired', 10 * MIN)).toBe(true);
  });

  test('a key with nothing counted is never turned away and leaves nothing behind', () => {
    const { counter: c, ended } = counter(0);
    expect(c.turnAway('quiet', 0)).toBeUndefined();
    c.sweep(Infinity);
    expect(ended).toEqual([]);
  });

  test('keys are counted apart; a sweep reports the windows that are over and keeps the others', () => {
    const { counter: c, ended } = counter(5);
    c.count('a', 'x', 0);
    c.count('b', 'x', 5 * MIN);
    c.count('b', 'x', 6 * MIN);
    c.sweep(12 * MIN);
    expect(ended.map((t) => [t.key, t.count])).toEqual([['a', 1]]);
    c.sweep(Infinity);
    expect(ended.map((t) => [t.key, t.count])).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  test('past maxKeys, windows that are over go first, then the oldest open one, each reported', () => {
    const { counter: c, ended } = counter(5, 2);
    c.count('old', 'x', 0);
    c.count('mid', 'x', 5 * MIN);
    c.count('new', 'x', 11 * MIN); // 'old' is over: swept, 'mid' stays
    expect(ended.map((t) => t.key)).toEqual(['old']);
    c.count('newer', 'x', 12 * MIN); // nothing is over: the oldest open window, 'mid', is closed early
    expect(ended.map((t) => t.key)).toEqual(['old', 'mid']);
    expect(c.count('new', 'x', 12 * MIN)).toBe(false);
  });
});

describe('who the client is', () => {
  test("the socket's peer, unless the proxy is trusted: then the last X-Forwarded-For entry, if it is an address", () => {
    expect(clientAddress('203.0.113.7', '10.0.0.2', false)).toBe('10.0.0.2');
    expect(clientAddress('203.0.113.7', '10.0.0.2', true)).toBe('203.0.113.7');
    expect(clientAddress('192.0.2.1, 203.0.113.7', '10.0.0.2', true)).toBe('203.0.113.7');
    expect(clientAddress(['192.0.2.1', '2001:db8::5'], '10.0.0.2', true)).toBe('2001:db8::5');
    expect(clientAddress('203.0.113.7, unknown', '10.0.0.2', true)).toBe('10.0.0.2');
    expect(clientAddress(undefined, '10.0.0.2', true)).toBe('10.0.0.2');
    expect(clientAddress(undefined, undefined, false)).toBe('unknown');
  });

  test.each([
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0DB8:0001:0002::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0::/64'],
    ['unknown', 'unknown'],
  ])('%s is limited as %s', (address, key) => {
    expect(addressKey(address)).toBe(key);
  });
});
