/**
 * Fixtures for the mixer suites: tracks written the way the recorder writes them, outputs decoded by an
 * independent decoder (ffmpeg when installed, libopus for Ogg Opus, a tiny WAV reader otherwise).
 */
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { OggOpusWriter } from '../../src/audio/ogg-opus-writer.ts';
import { silencePackets } from '../../src/audio/opus-silence.ts';
import { decodeOggOpusFile, encodeOpusFrames, FRAME, toMono } from './audio.ts';

function hasTool(name: string): boolean {
  try {
    execFileSync(name, [name === 'opusenc' ? '--version' : '-version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export const HAVE_FFMPEG = hasTool('ffmpeg');
export const HAVE_OPUSENC = hasTool('opusenc');

/**
 * Write stereo PCM as a roomrec track: 20 ms Opus packets, except that all-zero frames become the
 * exact-silence packets the recorder fills pauses with (Discord sends nothing while nobody talks).
 */
export async function writeTrack(
  path: string,
  pcm: Int16Array,
  opts: { bitrate?: number; comments?: Record<string, string> } = {},
): Promise<void> {
  const writer = await OggOpusWriter.create({ path, comments: opts.comments ?? {} });
  const packets = encodeOpusFrames(pcm, opts.bitrate ?? 96_000);
  packets.forEach((packet, i) => {
    const frame = pcm.subarray(i * FRAME * 2, (i + 1) * FRAME * 2);
    if (frame.length === FRAME * 2 && frame.every((v) => v === 0)) {
      for (const s of silencePackets(FRAME)) writer.writePacket(s.packet, s.samples);
    } else writer.writePacket(packet, FRAME);
  });
  await writer.close();
}

/** Stereo int16 PCM of an audio file via ffmpeg (48 kHz, 2 channels). */
function ffmpegDecode(path: string): Int16Array {
  const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 's16le', '-ac', '2', '-ar', '48000', '-'], { maxBuffer: 1 << 30 });
  return new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength >> 1).slice();
}

/** The data chunk of a 16-bit PCM WAV file. */
export async function readWav(path: string): Promise<Int16Array> {
  const b = await readFile(path);
  if (b.toString('ascii', 0, 4) !== 'RIFF' || b.toString('ascii', 8, 12) !== 'WAVE') throw new Error(`${path} is not WAV`);
  for (let at = 12; at + 8 <= b.length;) {
    const id = b.toString('ascii', at, at + 4);
    const size = b.readUInt32LE(at + 4);
    if (id === 'data') return new Int16Array(b.buffer.slice(b.byteOffset + at + 8, b.byteOffset + at + 8 + size));
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path} has no data chunk`);
}

/** Decode a mix output to mono float: libopus for ogg, own reader for wav, ffmpeg for mp3/flac. */
export async function decodeMono(path: string): Promise<Float32Array> {
  if (path.endsWith('.ogg')) return toMono((await decodeOggOpusFile(path)).pcm);
  if (path.endsWith('.wav')) return toMono(await readWav(path));
  return toMono(ffmpegDecode(path));
}
