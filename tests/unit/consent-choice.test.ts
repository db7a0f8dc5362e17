// The choice of reuse: the wording each choice agrees to and its hash, what each reaction does, and how the
// choice reads in the tags, the receipt and the consent message.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { renderConsentMessage } from '../../src/bot/consent.ts';
import { reactionAction } from '../../src/bot/reuse-reactions.ts';
import { agreementOf, CONSENT_TEXTS, mayReuse, reuseComments, sha256Hex, withAgreement } from '../../src/recording/consent-choice.ts';
import { buildReceipt } from '../../src/recording/receipt.ts';
import { withGrant, withWithdrawal } from '../../src/recording/room-speakers.ts';
import type { Recording } from '../../src/storage/schema.ts';
import { newRoom } from '../helpers/new-recording.ts';

const base: Recording = { ...newRoom(1_000), id: 'abcdefghij', state: 'recording', speakers: [] };

describe('the wording agreed to and its hash', () => {
  test('SHA-256 in hex of the UTF-8 bytes (the FIPS 180-2 test vector, and a non-ASCII text)', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('Zoë')).toBe(createHash('sha256').update(Buffer.from('Zoë', 'utf8')).digest('hex'));
  });

  test('each choice stores its own wording, word for word, with that wording’s hash', () => {
    expect(agreementOf(false, 5)).toEqual({ reuse: false, text: CONSENT_TEXTS.hostOnly, sha256: sha256Hex(CONSENT_TEXTS.hostOnly), at: 5 });
    expect(agreementOf(true, 6)).toEqual({ reuse: true, text: CONSENT_TEXTS.reuse, sha256: sha256Hex(CONSENT_TEXTS.reuse), at: 6 });
    expect(sha256Hex(CONSENT_TEXTS.reuse)).not.toBe(sha256Hex(CONSENT_TEXTS.hostOnly));
  });

  test('the consent message shows each wording exactly as it is hashed', () => {
    const text = renderConsentMessage({ hostId: '1', retentionDays: 30, recording: ['Ann', 'Bo'], reusing: ['Bo'] });
    expect(text).toContain(`✅ ${CONSENT_TEXTS.hostOnly}\n`);
    expect(text).toContain(`📣 ${CONSENT_TEXTS.reuse}\n`);
    expect(text).toContain('**Being recorded:** Ann, Bo\n');
    expect(text).toContain('**OK to publish or reuse (📣):** Bo\n');
  });
});

describe('what a reaction does', () => {
  const none = { recorded: false, reuse: false };
  const hostOnly = { recorded: true, reuse: false };
  const reusing = { recorded: true, reuse: true };
  test.each([
    ['✅ added, not recorded', { emoji: 'consent', added: true }, none, { kind: 'grant', reuse: false }],
    ['✅ added, recorded', { emoji: 'consent', added: true }, reusing, { kind: 'none' }],
    ['✅ removed: withdrawn, reuse with it', { emoji: 'consent', added: false }, reusing, { kind: 'withdraw' }],
    ['📣 alone records them', { emoji: 'reuse', added: true }, none, { kind: 'grant', reuse: true }],
    ['📣 added, recorded for the host only', { emoji: 'reuse', added: true }, hostOnly, { kind: 'reuse', reuse: true }],
    ['📣 added again', { emoji: 'reuse', added: true }, reusing, { kind: 'none' }],
    ['📣 removed keeps ✅', { emoji: 'reuse', added: false }, reusing, { kind: 'reuse', reuse: false }],
    ['📣 removed by someone not recorded', { emoji: 'reuse', added: false }, none, { kind: 'none' }],
  ] as const)('%s', (_name, reaction, now, action) => {
    expect(reactionAction(reaction, now)).toEqual(action);
  });
});

describe('the choice as it stands', () => {
  const granted = withAgreement(withGrant(base, { userId: '11', name: 'Ann', at: 2_000 }), '11', agreementOf(true, 2_000));

  test('reusable while their consent stands; a withdrawal takes reuse with it', () => {
    expect(mayReuse(granted.speakers[0]!)).toBe(true);
    const withdrawn = withWithdrawal(granted, '11', 3_000).speakers[0]!;
    expect(mayReuse(withdrawn)).toBe(false);
    expect(reuseComments(withdrawn)).toEqual({ ROOMREC_REUSE: 'no', ROOMREC_CONSENT_SHA256: sha256Hex(CONSENT_TEXTS.reuse) });
  });

  test('the track says yes with the hash; a speaker from before the choice says no, with no hash', () => {
    expect(reuseComments(granted.speakers[0]!)).toEqual({ ROOMREC_REUSE: 'yes', ROOMREC_CONSENT_SHA256: sha256Hex(CONSENT_TEXTS.reuse) });
    expect(reuseComments(withGrant(base, { userId: '12', name: 'Bo', at: 2_000 }).speakers[0]!)).toEqual({ ROOMREC_REUSE: 'no' });
  });

  test('the receipt lists each change with its time and hash, each speaker’s choice and the wording agreed to', () => {
    const changed = withAgreement(granted, '11', agreementOf(false, 4_000));
    const receipt = buildReceipt({
      recording: changed,
      events: [
        { userId: '11', name: 'Ann', event: 'granted', at: 2_000, sha256: sha256Hex(CONSENT_TEXTS.reuse) },
        { userId: '11', name: 'Ann', event: 'reuse-withdrawn', at: 4_000, sha256: sha256Hex(CONSENT_TEXTS.hostOnly) },
      ],
      deletionAt: undefined,
      retentionDays: 30,
    });
    expect(receipt).toContain(
      `1970-01-01 00:00:04 UTC  reuse withdrawn  Ann (11)  consent text sha256 ${sha256Hex(CONSENT_TEXTS.hostOnly)}`,
    );
    expect(receipt).toContain(
      'Ann (11): consented 1970-01-01 00:00:02 UTC; in the mix; for the host only (chosen 1970-01-01 00:00:04 UTC)',
    );
    expect(receipt).toContain(`  "${CONSENT_TEXTS.hostOnly}"\n    sha256 ${sha256Hex(CONSENT_TEXTS.hostOnly)}`);
  });
});
