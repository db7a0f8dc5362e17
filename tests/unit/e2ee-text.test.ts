// What people are shown about end-to-end encryption: /record status, the consent receipt and the download page.
import { describe, expect, test } from 'vitest';
import { e2eeStatusLine } from '../../src/bot/format.ts';
import { formatPrivacyCode } from '../../src/text/format.ts';
import { downloadPage } from '../../src/http/page.ts';
import { e2eeLines } from '../../src/recording/receipt.ts';
import type { RecordingE2ee } from '../../src/storage/schema.ts';

const A = '012345678901234567890123456789';
const B = '987654321098765432109876543210';
const dave = (extra: Partial<RecordingE2ee> = {}): RecordingE2ee => ({
  protocol: 'dave',
  version: 1,
  privacyCode: A,
  privacyCodes: [A],
  transitions: 0,
  ...extra,
});

describe('end-to-end encryption, as people see it', () => {
  test('a privacy code in groups of five, as Discord shows it', () => {
    expect(formatPrivacyCode(A)).toBe('01234 56789 01234 56789 01234 56789');
    expect(formatPrivacyCode('')).toBe('');
  });

  test('/record status: the lock, the version and the code; or plainly not encrypted', () => {
    expect(e2eeStatusLine(dave())).toBe('🔒 End-to-end encrypted (DAVE v1) · voice privacy code: 01234 56789 01234 56789 01234 56789');
    expect(e2eeStatusLine(dave({ privacyCode: B, privacyCodes: [A, B] }))).toContain('voice privacy code: 98765 43210');
    expect(e2eeStatusLine(null)).toMatch(/not end-to-end encrypted/);
    expect(e2eeStatusLine(dave({ plainFrom: 1_700_000_000_000 }))).toMatch(/^🔓 Not end-to-end encrypted since <t:1700000000:R>/);
    expect(e2eeStatusLine(undefined)).toMatch(/not known/);
  });

  test('the receipt: encrypted or not, the version, and every code in order', () => {
    expect(e2eeLines(dave())).toEqual([
      'Yes, Discord DAVE v1, for the whole recording.',
      'Voice privacy code: 01234 56789 01234 56789 01234 56789',
    ]);
    const two = e2eeLines(dave({ privacyCode: B, privacyCodes: [A, B], transitions: 1 }));
    expect(two.slice(2)).toEqual(['  01234 56789 01234 56789 01234 56789', '  98765 43210 98765 43210 98765 43210']);
    expect(e2eeLines(dave({ plainFrom: Date.UTC(2025, 0, 1, 12) }))[0]).toBe(
      'Yes, Discord DAVE v1, until 2025-01-01 12:00:00 UTC; not after that.',
    );
    expect(e2eeLines(null)).toEqual(["No. Discord's end-to-end voice encryption (DAVE) was off in this room."]);
    expect(e2eeLines(undefined)[0]).toMatch(/^Not noted/);
  });

  test('the download page shows it with the consent receipt', () => {
    const page = (e2ee: RecordingE2ee | null) =>
      downloadPage({
        recording: { id: 'abc', hostName: 'Host', startedAt: 0, state: 'recording', speakers: [], e2ee },
        events: [],
        mix: undefined,
        tracks: [],
        deletionAt: undefined,
        retentionDays: 30,
        linkExpiresAt: 0,
        base: '',
        refreshSeconds: 5,
      });
    const html = page(dave({ privacyCode: B, privacyCodes: [A, B] }));
    const receipt = html.slice(html.indexOf('<h2>Consent receipt</h2>'));
    expect(receipt).toContain('<strong>End-to-end encrypted:</strong> Yes, Discord DAVE v1, for the whole recording.');
    expect(receipt).toContain('<br>01234 56789 01234 56789 01234 56789<br>98765 43210 98765 43210 98765 43210');
    expect(page(null)).toContain('<strong>End-to-end encrypted:</strong> No.');
  });
});
