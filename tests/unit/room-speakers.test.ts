import { describe, expect, test } from 'vitest';
import {
  consentingSpeakers,
  findSpeaker,
  missingConsentEvents,
  trackFileFor,
  withGrant,
  withWithdrawal,
} from '../../src/recording/room-speakers.ts';
import type { ConsentEvent, Recording } from '../../src/storage/schema.ts';

const base: Recording = {
  id: 'abcdefghij',
  guildId: '1',
  channelId: '2',
  textChannelId: '3',
  hostId: '10',
  hostName: 'host',
  startedAt: 1_000,
  state: 'recording',
  speakers: [],
};

describe('speaker bookkeeping', () => {
  test('a first grant adds a numbered track in the mix', () => {
    const r = withGrant(withGrant(base, { userId: '11', name: 'Ann', at: 2_000 }), { userId: '12', name: 'Bo B', at: 3_000 });
    expect(r.speakers).toEqual([
      { userId: '11', name: 'Ann', trackFile: 'tracks/1-ann-11.ogg', consentedAt: 2_000, grantedAt: 2_000, includeInMix: true },
      { userId: '12', name: 'Bo B', trackFile: 'tracks/2-bo-b-12.ogg', consentedAt: 3_000, grantedAt: 3_000, includeInMix: true },
    ]);
    expect(base.speakers).toEqual([]);
  });

  test('a withdrawal leaves the speaker out of the mix and out of those who still consent', () => {
    const r = withWithdrawal(withGrant(base, { userId: '11', name: 'Ann', at: 2_000 }), '11', 5_000);
    expect(findSpeaker(r, '11')).toMatchObject({ withdrawnAt: 5_000, includeInMix: false });
    expect(consentingSpeakers(r)).toEqual([]);
  });

  test('a re-grant keeps the same file and the first consent time, notes the new one, and clears the withdrawal', () => {
    let r = withGrant(base, { userId: '11', name: 'Ann', at: 2_000 });
    r = withWithdrawal(r, '11', 5_000);
    r = withGrant(r, { userId: '11', name: 'Ann (renamed)', at: 9_000 });
    expect(r.speakers).toEqual([
      { userId: '11', name: 'Ann (renamed)', trackFile: 'tracks/1-ann-11.ogg', consentedAt: 2_000, grantedAt: 9_000, includeInMix: true },
    ]);
    expect(trackFileFor(r, '11', 'whatever')).toBe('tracks/1-ann-11.ogg');
    expect(consentingSpeakers(r).map((s) => s.userId)).toEqual(['11']);
  });

  test('withdrawing someone who never consented changes nothing', () => {
    expect(withWithdrawal(base, '99', 1).speakers).toEqual([]);
  });
});

describe('consent events a crash kept out of the log (stored with the speaker first, logged second)', () => {
  const ann = { userId: '11', name: 'Ann' };
  const logged = (event: 'granted' | 'withdrawn', at: number): ConsentEvent => ({ recordingId: base.id, ...ann, event, at });

  test('a consistent log needs nothing', () => {
    const r = withWithdrawal(withGrant(base, { ...ann, at: 2_000 }), '11', 5_000);
    expect(missingConsentEvents(r, [logged('granted', 2_000), logged('withdrawn', 5_000)])).toEqual([]);
  });
  test('killed between the grant and its event: the grant is logged at its stored time', () => {
    const r = withGrant(base, { ...ann, at: 2_000 });
    expect(missingConsentEvents(r, [])).toEqual([logged('granted', 2_000)]);
  });
  test('killed between a withdrawal and its event: the withdrawal is logged', () => {
    const r = withWithdrawal(withGrant(base, { ...ann, at: 2_000 }), '11', 5_000);
    expect(missingConsentEvents(r, [logged('granted', 2_000)])).toEqual([logged('withdrawn', 5_000)]);
  });
  test('killed between a re-grant and its event: logged at the re-grant, after the withdrawal', () => {
    const r = withGrant(withWithdrawal(withGrant(base, { ...ann, at: 2_000 }), '11', 5_000), { ...ann, at: 9_000 });
    expect(missingConsentEvents(r, [logged('granted', 2_000), logged('withdrawn', 5_000)])).toEqual([logged('granted', 9_000)]);
  });
});
