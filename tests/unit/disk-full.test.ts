// A room on a full disk: one change when its first track is held up, one when its last is written again, and
// the spans the host is told about (their wording: bot-stop-delivery.test.ts); the free-space check of a start.
import { describe, expect, test } from 'vitest';
import { judgeFreeSpace } from '../../src/bot/disk-space.ts';
import { loadConfig } from '../../src/config.ts';
import { DiskFullWatch } from '../../src/recording/disk-full.ts';

describe('DiskFullWatch', () => {
  test('full from the first track held up until the last one is written again', () => {
    const watch = new DiskFullWatch();
    expect(watch.change('ann', true, 1000)).toEqual({ full: true, atMs: 1000 });
    expect(watch.change('bob', true, 1200)).toBeUndefined();
    expect(watch.change('ann', false, 5000)).toBeUndefined();
    expect(watch.full).toBe(true);
    expect(watch.change('bob', false, 6000)).toEqual({ full: false, atMs: 6000 });
    expect(watch.change('bob', false, 6100)).toBeUndefined();
    expect(watch.change('ann', true, 90_000)).toEqual({ full: true, atMs: 90_000 });
    expect(watch.spans()).toEqual([{ fromMs: 1000, toMs: 6000 }, { fromMs: 90_000 }]);
  });
});

describe('the free-space check of /record start', () => {
  const MB = 1024 * 1024;

  test('refused below MIN_FREE_DISK_MB, warned below twice it, 0 turns it off', () => {
    expect(judgeFreeSpace(499 * MB, 500)).toEqual({ verdict: 'refuse', freeMb: 499 });
    expect(judgeFreeSpace(500 * MB, 500)).toEqual({ verdict: 'warn', freeMb: 500 });
    expect(judgeFreeSpace(999 * MB, 500)).toEqual({ verdict: 'warn', freeMb: 999 });
    expect(judgeFreeSpace(1000 * MB, 500)).toEqual({ verdict: 'ok', freeMb: 1000 });
    expect(judgeFreeSpace(0, 0)).toEqual({ verdict: 'ok', freeMb: 0 });
  });

  test('MIN_FREE_DISK_MB: 500 by default, a whole number of MB, 0 allowed', () => {
    expect(loadConfig({}).disk).toEqual({ minFreeMb: 500 });
    expect(loadConfig({ MIN_FREE_DISK_MB: '0' }).disk.minFreeMb).toBe(0);
    expect(() => loadConfig({ MIN_FREE_DISK_MB: '-1' })).toThrow(/MIN_FREE_DISK_MB.*at least 0/s);
    expect(() => loadConfig({ MIN_FREE_DISK_MB: 'lots' })).toThrow(/MIN_FREE_DISK_MB.*whole number/s);
  });
});
