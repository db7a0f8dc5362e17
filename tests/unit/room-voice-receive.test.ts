import { createSocket, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, test } from 'vitest';
import { isDaveEncrypted, raiseReceiveBuffer, readRtpHeader } from '../../src/recording/voice-receive.ts';
import { capturingLogger } from '../helpers/log-lines.ts';

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

describe("DAVE's frame trailer (…tag ‖ nonce ‖ ranges ‖ u8 size ‖ 0xFAFA)", () => {
  const opus = Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(30, 0x11)]);
  // 8-byte tag, 1-byte ULEB128 nonce, no ranges, the size byte, the marker: 12 bytes of supplemental data.
  const trailer = Buffer.concat([Buffer.alloc(8, 0x22), Buffer.from([0x05, 12, 0xfa, 0xfa])]);

  test('is recognised at the end of an encrypted frame', () => {
    expect(isDaveEncrypted(Buffer.concat([opus, trailer]))).toBe(true);
  });

  test.each([
    ['a plain Opus frame', opus],
    ['a marker with a supplemental size too small to hold a tag', Buffer.concat([opus, Buffer.from([3, 0xfa, 0xfa])])],
    ['a marker with a supplemental size larger than the frame', Buffer.concat([Buffer.from([0xfc, 200]), Buffer.from([0xfa, 0xfa])])],
    ['the Opus silence frame', Buffer.from([0xf8, 0xff, 0xfe])],
  ])('is not seen in %s', (_name, frame) => {
    expect(isDaveEncrypted(frame)).toBe(false);
  });
});

describe('the voice socket asks for a larger receive buffer', () => {
  const WARN = 40;
  const capture = capturingLogger;

  /** What the library hands over: an emitter holding its dgram socket as `socket`. */
  function voiceUdp(socket: unknown): EventEmitter {
    return Object.assign(new EventEmitter(), { socket });
  }

  const sockets: Socket[] = [];
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  const udp4 = () => {
    const s = createSocket('udp4');
    sockets.push(s);
    return s;
  };

  test('a bound socket gets it at once, and the size in effect is logged', async () => {
    const socket = udp4();
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    const before = socket.getRecvBufferSize();
    const { lines, log } = capture();
    raiseReceiveBuffer(voiceUdp(socket), 4 << 20, log);
    expect(socket.getRecvBufferSize()).toBeGreaterThan(before);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'voice UDP receive buffer set', requested: 4 << 20, before, effective: socket.getRecvBufferSize() }),
    ]);
  });

  test('a socket not bound yet (the library binds on its first send) gets it once bound', async () => {
    const socket = udp4();
    const { lines, log } = capture();
    raiseReceiveBuffer(voiceUdp(socket), 4 << 20, log);
    expect(lines).toEqual([]);
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    expect(lines).toEqual([expect.objectContaining({ msg: 'voice UDP receive buffer set', effective: socket.getRecvBufferSize() })]);
    expect(lines[0]!.effective).toBeGreaterThan(lines[0]!.before as number);
  });

  test.each([
    ['no socket where the library keeps it', () => voiceUdp(undefined)],
    [
      'a socket that closed before it could be sized',
      () => {
        const socket = udp4();
        const udp = voiceUdp(socket);
        socket.once('listening', () => socket.close());
        return udp;
      },
    ],
  ])('%s: a warning at most, never a failure', async (_name, make) => {
    const { lines, log } = capture();
    const udp = make();
    expect(() => raiseReceiveBuffer(udp, 4 << 20, log)).not.toThrow();
    const socket = Reflect.get(udp, 'socket') as Socket | undefined;
    if (socket) {
      sockets.splice(sockets.indexOf(socket), 1);
      // Bound, then closed by its own first 'listening' listener before ours runs.
      await new Promise<void>((resolve) => {
        socket.once('close', resolve);
        socket.bind(0, '127.0.0.1');
      });
    }
    expect(lines.map((l) => l.level)).toEqual([WARN]);
  });
});
