import { describe, expect, test } from 'vitest';
import { readRtpHeader } from '../../src/recording/voice-receive.ts';

describe('RTP header in the clear (RFC 3550 §5.1)', () => {
  test('reads sequence, timestamp and SSRC, including values at the top of their ranges', () => {
    const datagram = Buffer.from([0x90, 0x78, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xf0, 0x80, 0x00, 0x00, 0x01, 0xbe, 0xde, 0, 1, 9, 9]);
    expect(readRtpHeader(datagram)).toEqual({ sequence: 0xfffe, timestamp: 0xfffffff0, ssrc: 0x80000001 });
  });

  test.each([
    ['an 8-byte keep-alive', Buffer.alloc(8)],
    ['an IP discovery reply (version 0)', Buffer.concat([Buffer.from([0x00, 0x02, 0x00, 0x46]), Buffer.alloc(70)])],
    ['a short packet', Buffer.from([0x80, 0x78, 0, 1, 0, 0, 0, 2, 0, 0, 0])],
  ])('ignores %s', (_name, datagram) => {
    expect(readRtpHeader(datagram)).toBeUndefined();
  });
});
