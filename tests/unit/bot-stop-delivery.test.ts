// How a stop reaches the host: one link DM when the mix is done in time; otherwise the link as soon as the
// tracks are closed (state 'mixing') and one short DM when the mix is ready or failed. The stop is a stand-in
// whose mix the test finishes by hand; the timers are manual, so nothing waits for real.
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import type { StopOutcome, StopProgress } from '../../src/recording/stop-pipeline.ts';
import { deliverLink, stopAndDeliver, type DeliveryResult } from '../../src/bot/stop-delivery.ts';
import {
  diskFullNotice,
  diskOkNotice,
  mixFinishedNote,
  preparingIntro,
  progressLine,
  readyIntro,
  stoppingStatusLine,
} from '../../src/bot/stop-notice.ts';
import type { Recording } from '../../src/storage/store.ts';
import { manualTime } from '../helpers/manual-time.ts';

const recordingIn = (state: Recording['state'], extra: Partial<Recording> = {}): Recording => ({
  id: 'abcdefghij',
  guildId: '1',
  channelId: '2',
  textChannelId: '2',
  hostId: '10',
  hostName: 'Host',
  startedAt: 1_000,
  stoppedAt: 61_000,
  state,
  speakers: [{ userId: '11', name: 'Ann', consentedAt: 1_000, includeInMix: true, trackFile: 'tracks/1-ann-11.ogg' }],
  ...extra,
});

/** A stop whose phases the test drives: closeTracks() then finish(state). */
function fakeStop() {
  let report: (p: StopProgress) => void = () => undefined;
  let resolve!: (o: StopOutcome) => void;
  let stored: Recording = recordingIn('stopping');
  const done = new Promise<StopOutcome>((r) => (resolve = r));
  return {
    run: (onProgress: (p: StopProgress) => void) => {
      report = onProgress;
      onProgress({ phase: 'closing-tracks', doing: 'closing the tracks', tracksClosed: false });
      return done;
    },
    closeTracks() {
      stored = recordingIn('mixing');
      report({ phase: 'mixing', doing: 'mixing', done: 0, total: 10, tracksClosed: true });
    },
    finish(state: 'ready' | 'failed') {
      stored = recordingIn(state, state === 'failed' ? { error: 'disk full' } : {});
      report({ phase: 'done', doing: 'done', tracksClosed: true });
      resolve({ recording: stored, timings: { closeTracksMs: 0, mixMs: 0, receiptMs: 0, metadataMs: 0, totalMs: 0 } });
    },
    current: async () => stored,
  };
}

function setUp(linkResults: DeliveryResult[] = []) {
  const time = manualTime();
  const stop = fakeStop();
  const said: string[] = [];
  const early: DeliveryResult[] = [];
  const delivered = stopAndDeliver(stop.run, {
    earlyAfterMs: 3000,
    timers: time.timers,
    current: stop.current,
    sendLink: async (recording, when) => {
      said.push(`${when} link (${recording.state})`);
      return linkResults.shift() ?? 'sent';
    },
    sendMixFinished: async (recording) => {
      said.push(`mix finished (${recording.state})`);
    },
    onEarlyLink: (result) => early.push(result),
  });
  return { time, stop, said, early, delivered };
}

describe('link delivery of a stop', () => {
  test('a mix done within 3 s: one link DM, nothing else', async () => {
    const { time, stop, said, delivered } = setUp();
    await time.advance(20);
    stop.closeTracks();
    await time.advance(60);
    stop.finish('ready');
    const result = await delivered;
    await time.advance(60_000);
    expect(said).toEqual(['final link (ready)']);
    expect(result).toMatchObject({ linkSent: true, early: false });
    expect(time.pending()).toBe(0);
  });

  test('a slow mix: the link at 3 s while mixing, then one short DM when the mix is ready', async () => {
    const { time, stop, said, early, delivered } = setUp();
    await time.advance(20);
    stop.closeTracks();
    await time.advance(2979);
    expect(said).toEqual([]);
    await time.advance(1);
    expect(said).toEqual(['early link (mixing)']);
    expect(early).toEqual(['sent']);
    await time.advance(30_000);
    stop.finish('ready');
    const result = await delivered;
    expect(said).toEqual(['early link (mixing)', 'mix finished (ready)']);
    expect(result).toMatchObject({ linkSent: true, early: true });
  });

  test('a slow mix that fails: the early link, then a DM saying the mix failed', async () => {
    const { time, stop, said, delivered } = setUp();
    stop.closeTracks();
    await time.advance(3000);
    stop.finish('failed');
    await delivered;
    expect(said).toEqual(['early link (mixing)', 'mix finished (failed)']);
  });

  test('tracks still closing at 3 s: the link goes out as soon as they are closed', async () => {
    const { time, stop, said, delivered } = setUp();
    await time.advance(5000);
    expect(said).toEqual([]);
    stop.closeTracks();
    await new Promise((resolve) => setImmediate(resolve));
    expect(said).toEqual(['early link (mixing)']);
    stop.finish('ready');
    await delivered;
  });

  test('closed DMs at the early link: pointed out once, no more DMs tried', async () => {
    const { time, stop, said, delivered } = setUp(['dm-closed']);
    stop.closeTracks();
    await time.advance(3000);
    stop.finish('ready');
    expect(await delivered).toMatchObject({ linkSent: false, early: true });
    expect(said).toEqual(['early link (mixing)']);
  });

  test('an early link that failed otherwise is tried again, as the ready link, when the mix is done', async () => {
    const { time, stop, said, delivered } = setUp(['failed', 'sent']);
    stop.closeTracks();
    await time.advance(3000);
    stop.finish('ready');
    expect(await delivered).toMatchObject({ linkSent: true, early: true });
    expect(said).toEqual(['early link (mixing)', 'final link (ready)']);
  });
});

describe('a link DM that cannot be sent', () => {
  const chatLog = () => {
    const posted: { text: string; mention: string }[] = [];
    return { posted, chat: async (text: string, mention: string) => (posted.push({ text, mention }), true) };
  };

  test('a DM error other than closed DMs: the host is told in the room chat, without the link, and the stop goes on', async () => {
    const { posted, chat } = chatLog();
    const library = {
      sendLink: async () => {
        throw Object.assign(new Error('Internal Server Error'), { status: 500 });
      },
    };
    const result = await deliverLink({ library, chat, log: silentLogger() }, recordingIn('ready'), 'intro');
    expect(result).toBe('failed');
    expect(posted).toHaveLength(1);
    expect(posted[0]?.mention).toBe('10');
    expect(posted[0]?.text).toContain('<@10>');
    expect(posted[0]?.text).toContain('download abcdefghij');
    expect(posted[0]?.text).not.toMatch(/https?:/);
  });

  test('closed DMs: the closed-DM notice', async () => {
    const { posted, chat } = chatLog();
    const library = { sendLink: async () => ({ status: 'dm-closed' as const }) };
    expect(await deliverLink({ library, chat, log: silentLogger() }, recordingIn('ready'), 'intro')).toBe('dm-closed');
    expect(posted[0]?.text).toMatch(/can't send you direct messages/);
  });

  test('a room chat that fails too does not fail the stop', async () => {
    const library = { sendLink: async () => ({ status: 'dm-closed' as const }) };
    const chat = async () => {
      throw new Error('Missing Access');
    };
    expect(await deliverLink({ library, chat, log: silentLogger() }, recordingIn('ready'), 'intro')).toBe('dm-closed');
  });
});

describe('what the host reads', () => {
  const limits = { emptyRoomMinutes: 2, maxHours: 6 };

  test('the early link says the mix is still being prepared and the page updates itself', () => {
    const text = preparingIntro(recordingIn('mixing'), 'command', '10', limits);
    expect(text).toContain('has stopped (stopped by <@10>)');
    expect(text).toContain('Recorded: Ann.');
    expect(text).toMatch(/mix is still being prepared/);
    expect(text).toMatch(/page shows the mix by itself/);
    expect(readyIntro(recordingIn('ready'), 'command', '10', limits)).not.toMatch(/still being prepared/);
  });

  test('the follow-up says ready, or failed with the tracks kept', () => {
    expect(mixFinishedNote(recordingIn('ready'))).toMatch(/is ready/);
    const failed = mixFinishedNote(recordingIn('failed', { error: 'disk full' }));
    expect(failed).toMatch(/could not be made \(disk full\)/);
    expect(failed).toMatch(/tracks are complete/);
  });

  test('progress and status lines say the link already went out', () => {
    expect(progressLine({ phase: 'mixing', doing: 'mixing', done: 4, total: 10, tracksClosed: true }, true)).toBe(
      '⏳ Preparing the recording: mixing 40%… The link already went out by DM; the mix follows on the same page.',
    );
    expect(
      stoppingStatusLine({
        channelId: '2',
        hostId: '10',
        progress: { phase: 'mixing', doing: 'mixing', done: 1, total: 4, tracksClosed: true },
        linkSent: false,
      }),
    ).toBe("⏹️ Stopped recording <#2>; preparing it: mixing 25%…\n<@10> gets the link by DM when it's ready.");
  });
});

describe('why a recording stopped, in the DM', () => {
  test('a room shut out of its end-to-end encryption group says so', async () => {
    const { whyItStopped } = await import('../../src/bot/stop-notice.ts');
    expect(whyItStopped('e2ee-lost', undefined, { maxHours: 6, emptyRoomMinutes: 2 })).toMatch(/end-to-end encryption \(DAVE\)/);
  });
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
    const ready = readyIntro(recordingIn('ready'), 'command', '10', limits, spans);
    expect(ready).toContain('is ready (stopped by <@10>)');
    expect(ready).toContain('⚠️ Part of the recording was lost to a full disk: 1:02–2:15, 3:10–the end (from its start) is silence');
    expect(preparingIntro(recordingIn('mixing'), 'command', '10', limits, spans)).toContain('lost to a full disk: 1:02–2:15');
    const failed = readyIntro(
      recordingIn('failed', { error: 'no space left on the disk; nothing was written' }),
      'command',
      '10',
      limits,
      spans,
    );
    expect(failed).toContain('has stopped (stopped by <@10>)');
    expect(failed).not.toContain('is ready');
    expect(failed).toContain('The mix could not be made (no space left on the disk');
    expect(readyIntro(recordingIn('ready'), 'command', '10', limits)).not.toMatch(/disk/);
  });
});
