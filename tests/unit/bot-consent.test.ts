import { describe, expect, test } from 'vitest';
import { CONSENT_EMOJI, isConsentEmoji, judgeReaction, renderConsentMessage } from '../../src/bot/consent.ts';

describe('consent message', () => {
  const view = { hostId: '111', retentionDays: 30, recording: [] as string[] };

  test('says who hosts, that only reactors are recorded, where it goes and when it is deleted', () => {
    const text = renderConsentMessage(view);
    expect(text).toContain('<@111> is recording');
    expect(text).toContain(`Only people who react with ${CONSENT_EMOJI}`);
    expect(text).toContain('goes to <@111> by a private download link');
    expect(text).toContain('deleted after 30 days');
    expect(text).toContain('**Being recorded:** nobody yet');
  });

  test('lists who is being recorded, escaping markdown in names', () => {
    const text = renderConsentMessage({ ...view, retentionDays: 1, recording: ['Alice', 'c_a_r*o*l'] });
    expect(text).toContain('**Being recorded:** Alice, c\\_a\\_r\\*o\\*l');
    expect(text).toContain('deleted after 1 day.');
  });

  test('a room too big to name everyone within 2,000 characters names those who came first and counts the rest', () => {
    const names = Array.from({ length: 40 }, (_, i) => `Speaker ${String(i).padStart(2, '0')} ${'x'.repeat(21)}`);
    const text = renderConsentMessage({ ...view, recording: names, reusing: names });
    expect(text.length).toBeLessThanOrEqual(2000);
    const listed = /\*\*Being recorded:\*\* (.*) and (\d+) more$/m.exec(text);
    const shown = listed?.[1]?.split(', ') ?? [];
    expect(shown).toEqual(names.slice(0, shown.length));
    expect(shown.length + Number(listed?.[2])).toBe(40);
    expect(text).toMatch(/OK to publish or reuse \(📣\):\*\* Speaker 00 .* and \d+ more$/m);
    // A room that fits is not cut.
    expect(renderConsentMessage({ ...view, recording: names.slice(0, 10), reusing: names.slice(0, 10) })).not.toMatch(/more$/m);
  });

  test('an ended recording says nobody is recorded any more and when it is deleted', () => {
    const text = renderConsentMessage({ ...view, ended: { at: 1_700_000_000_000, deletesAt: 1_702_592_000_000 } });
    expect(text).toContain('Recording ended');
    expect(text).toContain('Nobody is being recorded any more');
    expect(text).toContain('<t:1702592000:D>');
    expect(text).not.toContain('Being recorded:');
  });
});

describe('which reactions count as consent', () => {
  test.each([
    [{ emoji: CONSENT_EMOJI, isBot: false, inRoom: true }, { counts: true }],
    [{ emoji: `${CONSENT_EMOJI}\uFE0F`, isBot: false, inRoom: true }, { counts: true }],
    [
      { emoji: '👍', isBot: false, inRoom: true },
      { counts: false, why: 'other-emoji' },
    ],
    [
      { emoji: null, isBot: false, inRoom: true },
      { counts: false, why: 'other-emoji' },
    ],
    [
      { emoji: CONSENT_EMOJI, isBot: true, inRoom: true },
      { counts: false, why: 'bot' },
    ],
    [
      { emoji: CONSENT_EMOJI, isBot: false, inRoom: false },
      { counts: false, why: 'not-in-room' },
    ],
  ])('%o → %o', (facts, decision) => {
    expect(judgeReaction(facts)).toEqual(decision);
  });

  test('the variation selector is ignored, other emoji are not the consent emoji', () => {
    expect(isConsentEmoji('✅\uFE0F')).toBe(true);
    expect(isConsentEmoji('✔️')).toBe(false);
  });
});
