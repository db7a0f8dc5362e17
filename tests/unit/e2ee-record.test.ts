import { describe, expect, test } from 'vitest';
import { e2eeAtStart, e2eeSummary, observeE2ee } from '../../src/recording/e2ee-record.ts';

const CODE_A = '123456789012345678901234567890';
const CODE_B = '098765432109876543210987654321';
const dave = (privacyCode: string, version = 1) => ({ protocol: 'dave' as const, version, privacyCode });
const transition = { at: 5000, transition: true };
const check = { at: 6000, transition: false };

describe('the E2EE state a recording stores', () => {
  test('at the start: the code the bot joined with, or null for a plain room', () => {
    expect(e2eeAtStart(dave(CODE_A))).toEqual({
      protocol: 'dave',
      version: 1,
      privacyCode: CODE_A,
      privacyCodes: [CODE_A],
      transitions: 0,
    });
    expect(e2eeAtStart(null)).toBeNull();
  });

  test('each transition is counted and a new code appended; the latest is the current one', () => {
    let e2ee = observeE2ee(e2eeAtStart(dave(CODE_A)), dave(CODE_B), transition);
    expect(e2ee).toMatchObject({ privacyCode: CODE_B, privacyCodes: [CODE_A, CODE_B], transitions: 1 });
    // A transition that leaves the code as it was still counts, and adds no code.
    e2ee = observeE2ee(e2ee, dave(CODE_B), transition);
    expect(e2ee).toMatchObject({ privacyCode: CODE_B, privacyCodes: [CODE_A, CODE_B], transitions: 2 });
    // Between groups (no code yet): the last code is kept.
    expect(observeE2ee(e2ee, dave(''), check)).toMatchObject({ privacyCode: CODE_B, transitions: 2 });
    expect(e2eeSummary(e2ee)).toEqual({ protocol: 'dave', version: 1, privacyCode: CODE_B, transitions: 2 });
  });

  test('a check (resume on a new connection) adds its code without counting a transition', () => {
    expect(observeE2ee(e2eeAtStart(dave(CODE_A)), dave(CODE_B), check)).toMatchObject({ privacyCodes: [CODE_A, CODE_B], transitions: 0 });
  });

  test('the room leaving DAVE is kept as the moment it became plain; codes stay', () => {
    const plain = observeE2ee(e2eeAtStart(dave(CODE_A)), null, transition);
    expect(plain).toMatchObject({ plainFrom: 5000, privacyCodes: [CODE_A], transitions: 1 });
    // Back on DAVE later: it was still not encrypted throughout, so plainFrom stays.
    expect(observeE2ee(plain, dave(CODE_B), { at: 9000, transition: true })).toMatchObject({ plainFrom: 5000, privacyCode: CODE_B });
  });

  test('a recording that started plain stays plain; one recorded before this was noted stays unknown', () => {
    expect(observeE2ee(null, dave(CODE_A), transition)).toBeNull();
    expect(observeE2ee(undefined, dave(CODE_A), check)).toBeUndefined();
    expect(e2eeSummary(null)).toBeNull();
    expect(e2eeSummary(undefined)).toBeUndefined();
  });
});
