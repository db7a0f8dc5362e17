import { mkdtemp, rm } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { createDecipheriv, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadSpeech, OPUS_SILENCE_FRAME, speechFromPcm, startDiscordSim, type Pcm, type Speech } from '../../discord-sim/index.ts';
import { buildEncryptedRtp } from '../../discord-sim/rtp.ts';
import { openOggOpus } from '../../src/audio/ogg-opus-reader.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-audio-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** ffmpeg as an independent producer of fixtures: a 500 Hz sine in the given container and sample format. */
function sine(name: string, args: string[]): string {
  const path = join(dir, name);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=500:duration=0.5', ...args, path]);
  return path;
}

/** Decodes the voiced frames and estimates the tone frequency from zero crossings of the left channel. */
function decodedFrequency(speech: Speech): number {
  const decoder = new OpusEncoder(48_000, 2);
  const pcm = speech.frames.filter((f) => !f.trailingSilence).map((f) => decoder.decode(f.opus));
  const all = Buffer.concat(pcm);
  const samples = new Int16Array(all.buffer, all.byteOffset, all.byteLength >> 1);
  let crossings = 0;
  const skip = 960 * 2; // decoder warm-up
  for (let i = skip + 2; i < samples.length; i += 2) if ((samples[i - 2] ?? 0) < 0 !== (samples[i] ?? 0) < 0) crossings++;
  return crossings / 2 / ((samples.length - skip) / 2 / 48_000);
}

describe('simulated speakers: audio input', () => {
  test.each([
    ['u8 mono 8 kHz', ['-ar', '8000', '-ac', '1', '-c:a', 'pcm_u8']],
    ['s16 stereo 44.1 kHz', ['-ar', '44100', '-ac', '2', '-c:a', 'pcm_s16le']],
    ['s24 mono 22.05 kHz', ['-ar', '22050', '-ac', '1', '-c:a', 'pcm_s24le']],
    ['s32 5.1 48 kHz', ['-ar', '48000', '-ac', '6', '-c:a', 'pcm_s32le']],
    ['f32 mono 16 kHz', ['-ar', '16000', '-ac', '1', '-c:a', 'pcm_f32le']],
    ['f64 stereo 96 kHz', ['-ar', '96000', '-ac', '2', '-c:a', 'pcm_f64le']],
  ])('WAV %s is resampled to 48 kHz and encoded: the tone keeps its pitch and length', async (name, args) => {
    const speech = await loadSpeech(sine(`${name.replace(/\W+/g, '-')}.wav`, args));
    const voiced = speech.frames.filter((f) => !f.trailingSilence);
    expect(voiced.length).toBeGreaterThanOrEqual(24);
    expect(voiced.length).toBeLessThanOrEqual(26);
    expect(speech.frames.filter((f) => f.trailingSilence).map((f) => f.opus)).toEqual(Array(5).fill(OPUS_SILENCE_FRAME));
    expect(decodedFrequency(speech)).toBeGreaterThan(485);
    expect(decodedFrequency(speech)).toBeLessThan(515);
  });

  test('Ogg Opus packets are sent as they are in the file', async () => {
    const path = sine('tone.ogg', ['-c:a', 'libopus', '-b:a', '64k']);
    const speech = await loadSpeech(path);
    const packets: Buffer[] = [];
    for await (const p of (await openOggOpus(path)).packets()) packets.push(p.data);
    const voiced = speech.frames.filter((f) => !f.trailingSilence);
    expect(voiced.length).toBeGreaterThan(20);
    for (const frame of voiced) expect(packets[frame.offset / 960]?.equals(frame.opus)).toBe(true);
    expect(decodedFrequency(speech)).toBeGreaterThan(485);
  });

  test('only sound is sent: silence is gated after 5 trailing frames, the next talk spurt is marked', async () => {
    const rate = 48_000;
    const ch = new Float32Array(rate * 1.6);
    for (let i = 0; i < ch.length; i++) {
      const t = i / rate;
      ch[i] = t < 0.3 || (t >= 1.3 && t < 1.6) ? 0.3 * Math.sin(2 * Math.PI * 300 * t) : 0;
    }
    const pcm: Pcm = { sampleRate: rate, channels: [ch] };
    const speech = speechFromPcm(pcm);
    expect(speech.frames.map((f) => f.offset / 960)).toEqual([
      ...Array.from({ length: 15 }, (_, i) => i),
      ...[15, 16, 17, 18, 19],
      ...Array.from({ length: 15 }, (_, i) => 65 + i),
      ...[80, 81, 82, 83, 84], // the file ends: the tail still follows
    ]);
    const s = await startDiscordSim({ users: [{ username: 'alice' }] });
    try {
      const alice = s.userByName('alice');
      s.joinVoice(alice.id);
      const t0 = s.clock() + 10;
      const first = s.speak(alice.id, speech, { at: t0 });
      const second = s.speak(alice.id, speech, { at: t0 + 2000 });
      await Promise.all([first.done, second.done]);
      const frames = [...first.frames, ...second.frames];
      frames.forEach((f, i) => {
        if (i > 0) expect(f.sequence).toBe(((frames[i - 1]?.sequence ?? 0) + 1) & 0xffff);
      });
      expect(first.frames.map((f) => (f.timestamp - (first.frames[0]?.timestamp ?? 0)) >>> 0)).toEqual(speech.frames.map((f) => f.offset));
      // 2 s between utterance starts = 96 000 samples of RTP clock, although nothing was sent in between
      expect(((second.frames[0]?.timestamp ?? 0) - (first.frames[0]?.timestamp ?? 0)) >>> 0).toBe(96_000);
      expect(first.frames.filter((f) => f.marker).map((f) => f.index)).toEqual([0, 20]);
    } finally {
      await s.close();
    }
  });

  test('RTP packets follow the rtpsize AEAD layout: 16-byte header as AAD, encrypted extension + Opus, tag, 4-byte nonce', () => {
    const key = randomBytes(32);
    const opus = randomBytes(40);
    const packet = buildEncryptedRtp({ sequence: 65535, timestamp: 4_294_967_000, ssrc: 0xdeadbeef, marker: true, opus }, key, 7);
    expect(packet[0]).toBe(0x90);
    expect(packet[1]).toBe(0x80 | 0x78);
    expect(packet.readUInt16BE(2)).toBe(65535);
    expect(packet.readUInt32BE(4)).toBe(4_294_967_000);
    expect(packet.readUInt32BE(8)).toBe(0xdeadbeef);
    expect(packet.readUInt16BE(12)).toBe(0xbede);
    expect(packet.readUInt32BE(packet.length - 4)).toBe(7);
    const nonce = Buffer.alloc(12);
    packet.copy(nonce, 0, packet.length - 4);
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAAD(packet.subarray(0, 16));
    decipher.setAuthTag(packet.subarray(packet.length - 20, packet.length - 4));
    const plain = Buffer.concat([decipher.update(packet.subarray(16, packet.length - 20)), decipher.final()]);
    expect(plain.subarray(4).equals(opus)).toBe(true);
  });
});
