// A room on a full disk: one change when its first track is held up, one when its last is written again, and
// the spans the host is told about, in the room's chat and in the link DM.
import { describe, expect, test } from 'vitest';
import { judgeFreeSpace } from '../../src/bot/disk-space.ts';
import { loadConfig } from '../../src/config.ts';
import { diskFullNotice, diskOkNotice, preparingIntro, readyIntro } from '../../src/bot/stop-notice.ts';
import { DiskFullWatch } from '../../src/recording/disk-full.ts';
import type { Recording } from '../../src/storage/store.ts';

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

const recording = (state: Recording['state']): Recording => ({
  id: 'abcdefghij',
  guildId: '1',
  channelId: '2',
  textChannelId: '2',
  hostId: '10',
  hostName: 'Host',
  startedAt: 1_000,
  stoppedAt: 200_000,
  state,
  speakers: [{ userId: '11', name: 'Ann', consentedAt: 1_000, includeInMix: true, trackFile: 'tracks/1-ann-11.ogg' }],
  ...(state === 'failed' ? { error: 'no space left on the disk; nothing was written' } : {}),
});

describe('what the host reads about a full disk', () => {
  const limits = { emptyRoomMinutes: 2, maxHours: 6 };

  test('in the room: paused, resumes by itself; then when it resumed and what is silence', () => {
    expect(diskFullNotice('10')).toMatch(/^⚠️ <@10>, the disk is full: recording is paused\. .*resumes by itself when space is freed/);
    expect(diskOkNotice({ fromMs: 62_000, toMs: 135_400 })).toBe(
      '✅ There is room on the disk again: recording resumed at 2:15. From 1:02 to 2:15 it holds silence.',
    );
  });

  test('the link DM says plainly which part was lost, and a failed mix is not called ready', () => {
    const spans = [{ fromMs: 62_000, toMs: 135_400 }, { fromMs: 190_000 }];
    const ready = readyIntro(recording('ready'), 'command', '10', limits, spans);
    expect(ready).toContain('is ready (stopped by <@10>)');
    expect(ready).toContain('⚠️ Part of the recording was lost to a full disk: 1:02–2:15, 3:10–the end (from its start) is silence');
    expect(preparingIntro(recording('mixing'), 'command', '10', limits, spans)).toContain('lost to a full disk: 1:02–2:15');
    const failed = readyIntro(recording('failed'), 'command', '10', limits, spans);
    expect(failed).toContain('has stopped (stopped by <@10>)');
    expect(failed).not.toContain('is ready');
    expect(failed).toContain('The mix could not be made (no space left on the disk');
    expect(readyIntro(recording('ready'), 'command', '10', limits)).not.toMatch(/disk/);
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
