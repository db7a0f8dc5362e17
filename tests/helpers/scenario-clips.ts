import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseWav, toStereo48k, type Pcm } from '../../discord-sim/audio-source.ts';
import { toMono } from './audio.ts';

const DEMO_AUDIO = path.join(import.meta.dirname, '..', '..', 'scripts', 'demo');

/**
 * Writes the first `seconds` of a demo voice (scripts/demo/NAME.wav) into `dir` as a 16-bit WAV, for a
 * scenario's `audio`, and returns its 48 kHz mono reference, to find each word of it in what was recorded.
 */
export async function writeDemoClip(dir: string, name: string, seconds: number): Promise<Float32Array> {
  const pcm = parseWav(await readFile(path.join(DEMO_AUDIO, `${name}.wav`)));
  const samples = (pcm.channels[0] ?? new Float32Array(0)).subarray(0, seconds * pcm.sampleRate);
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((v, i) => data.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), i * 2));
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(pcm.sampleRate, 24);
  header.writeUInt32LE(pcm.sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  await writeFile(path.join(dir, `${name}.wav`), Buffer.concat([header, data]));
  return toMono(toStereo48k({ sampleRate: pcm.sampleRate, channels: [samples] }));
}

/** Seconds [from, to) of a demo voice: what a simulated speaker sends, and its 48 kHz mono reference for correlation. */
export async function demoClip(name: string, from: number, to: number): Promise<{ pcm: Pcm; reference: Float32Array }> {
  const wav = parseWav(await readFile(path.join(DEMO_AUDIO, `${name}.wav`)));
  const samples = (wav.channels[0] ?? new Float32Array(0)).slice(Math.round(from * wav.sampleRate), Math.round(to * wav.sampleRate));
  const pcm = { sampleRate: wav.sampleRate, channels: [samples] };
  return { pcm, reference: toMono(toStereo48k(pcm)) };
}
