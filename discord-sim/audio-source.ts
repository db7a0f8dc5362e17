import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname } from 'node:path';
import { OPUS_SILENCE_FRAME, SAMPLES_PER_FRAME } from './rtp.ts';

const require = createRequire(import.meta.url);
const { OpusEncoder } = require('@discordjs/opus') as typeof import('@discordjs/opus');

/** One Opus packet a simulated client would send, `offset` samples (48 kHz) after the utterance starts. */
export interface SpeechFrame {
  offset: number;
  opus: Buffer;
  /** the 5 silence frames a Discord client sends after a talk spurt */
  trailingSilence: boolean;
}

export interface Speech {
  frames: SpeechFrame[];
  /** length of the source audio in 48 kHz samples (silences not sent included, trailing frames excluded) */
  durationSamples: number;
}

export interface GateOptions {
  /** RMS level (dBFS) under which a 20 ms frame counts as silence. Default -50. */
  thresholdDb?: number;
  /** Silence frames sent after speech stops (Discord clients send 5). */
  trailingFrames?: number;
  /** Send every frame, silent or not. */
  sendEverything?: boolean;
}

/** Loads WAV (PCM/float, any rate and channel count) or Ogg Opus into the packets a client would send. */
export async function loadSpeech(path: string, gate: GateOptions = {}): Promise<Speech> {
  const ext = extname(path).toLowerCase();
  if (ext === '.wav' || ext === '.wave') return speechFromPcm(parseWav(await readFile(path), path), gate);
  if (ext === '.ogg' || ext === '.opus' || ext === '.oga') return speechFromOggOpus(path, gate);
  throw new Error(`discord-sim: ${path}: unsupported audio (use .wav or .ogg/.opus)`);
}

export interface Pcm {
  sampleRate: number;
  /** one Float32Array per channel, samples in [-1, 1] */
  channels: Float32Array[];
}

/**
 * RIFF/WAVE (Microsoft "Multimedia Programming Interface and Data Specifications 1.0"):
 *  "RIFF" size "WAVE" { chunk id (4) | size (u32 LE) | data (size, padded to even) }*
 *  fmt : format (1 PCM, 3 IEEE float, 0xFFFE extensible → sub-format GUID's first u16), channels, rate, ..., bits
 */
export function parseWav(buf: Buffer, name = 'WAV'): Pcm {
  if (buf.length < 12 || buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE') {
    throw new Error(`discord-sim: ${name} is not a RIFF/WAVE file`);
  }
  let format = 0;
  let channelCount = 0;
  let sampleRate = 0;
  let bits = 0;
  let data: Buffer | null = null;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    const body = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
    if (id === 'fmt ') {
      format = body.readUInt16LE(0);
      channelCount = body.readUInt16LE(2);
      sampleRate = body.readUInt32LE(4);
      bits = body.readUInt16LE(14);
      if (format === 0xfffe && body.length >= 26) format = body.readUInt16LE(24);
    } else if (id === 'data') data = body;
    at += 8 + size + (size & 1);
  }
  if (!data || channelCount === 0 || sampleRate === 0) throw new Error(`discord-sim: ${name}: missing fmt or data chunk`);
  const bytes = bits / 8;
  if (!((format === 1 && [8, 16, 24, 32].includes(bits)) || (format === 3 && (bits === 32 || bits === 64)))) {
    throw new Error(`discord-sim: ${name}: unsupported WAV encoding (format ${format}, ${bits} bits)`);
  }
  const frames = Math.floor(data.length / (bytes * channelCount));
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channelCount; c++) {
      const at = (i * channelCount + c) * bytes;
      let v: number;
      if (format === 3) v = bits === 32 ? data.readFloatLE(at) : data.readDoubleLE(at);
      else if (bits === 8) v = (data.readUInt8(at) - 128) / 128;
      else if (bits === 16) v = data.readInt16LE(at) / 32768;
      else if (bits === 24) v = data.readIntLE(at, 3) / 8_388_608;
      else v = data.readInt32LE(at) / 2_147_483_648;
      (channels[c] as Float32Array)[i] = v;
    }
  }
  return { sampleRate, channels };
}

/** Linear-interpolation resampling to 48 kHz stereo int16 — adequate for a test client's microphone. */
export function toStereo48k(pcm: Pcm): Int16Array {
  const ratio = pcm.sampleRate / 48_000;
  const outFrames = Math.floor(((pcm.channels[0]?.length ?? 0) * 48_000) / pcm.sampleRate);
  const left = pcm.channels[0] ?? new Float32Array(0);
  const right = pcm.channels[1] ?? left;
  const out = new Int16Array(outFrames * 2);
  const sample = (ch: Float32Array, pos: number): number => {
    const i = Math.floor(pos);
    const frac = pos - i;
    const a = ch[i] ?? 0;
    const b = ch[i + 1] ?? a;
    return a + (b - a) * frac;
  };
  const clamp = (v: number) => Math.max(-32768, Math.min(32767, Math.round(v * 32767)));
  for (let i = 0; i < outFrames; i++) {
    const pos = i * ratio;
    if (pcm.channels.length > 2) {
      // Fold extra channels into both sides so nothing the file contains is silently dropped.
      let sum = 0;
      for (const ch of pcm.channels) sum += sample(ch, pos);
      const mono = sum / pcm.channels.length;
      out[i * 2] = clamp(mono);
      out[i * 2 + 1] = clamp(mono);
    } else {
      out[i * 2] = clamp(sample(left, pos));
      out[i * 2 + 1] = clamp(sample(right, pos));
    }
  }
  return out;
}

function rmsDb(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  const rms = Math.sqrt(sum / Math.max(1, pcm.length)) / 32768;
  return rms === 0 ? -Infinity : 20 * Math.log10(rms);
}

/** Energy gate: which frames a client with voice activity detection transmits. */
function gateFrames(levels: number[], gate: GateOptions): ('voice' | 'tail' | 'skip')[] {
  const threshold = gate.thresholdDb ?? -50;
  const trailing = gate.trailingFrames ?? 5;
  let tail = 0;
  return levels.map((db) => {
    if (gate.sendEverything || db > threshold) {
      tail = trailing;
      return 'voice';
    }
    if (tail > 0) {
      tail -= 1;
      return 'tail';
    }
    return 'skip';
  });
}

export function speechFromPcm(pcm: Pcm, gate: GateOptions = {}): Speech {
  const stereo = toStereo48k(pcm);
  const encoder = new OpusEncoder(48_000, 2);
  const frameCount = Math.ceil(stereo.length / 2 / SAMPLES_PER_FRAME);
  const chunks: Int16Array[] = [];
  for (let f = 0; f < frameCount; f++) {
    const chunk = new Int16Array(SAMPLES_PER_FRAME * 2);
    chunk.set(stereo.subarray(f * SAMPLES_PER_FRAME * 2, (f + 1) * SAMPLES_PER_FRAME * 2));
    chunks.push(chunk);
  }
  // The microphone goes quiet when the file ends: a client then still sends its trailing silence frames.
  for (let k = 0; k < (gate.trailingFrames ?? 5); k++) chunks.push(new Int16Array(SAMPLES_PER_FRAME * 2));
  const decisions = gateFrames(chunks.map(rmsDb), gate);
  const frames: SpeechFrame[] = [];
  chunks.forEach((chunk, f) => {
    const decision = decisions[f];
    // The encoder sees every frame (as a client's does), so a talk spurt starts from the real signal history.
    const opus = encoder.encode(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (decision === 'voice') frames.push({ offset: f * SAMPLES_PER_FRAME, opus, trailingSilence: false });
    else if (decision === 'tail')
      frames.push({ offset: f * SAMPLES_PER_FRAME, opus: Buffer.from(OPUS_SILENCE_FRAME), trailingSilence: true });
  });
  return { frames, durationSamples: stereo.length / 2 };
}

/** Ogg Opus through the project's reader; packets keep their bytes, the gate decides from decoded energy. */
async function speechFromOggOpus(path: string, gate: GateOptions): Promise<Speech> {
  const { openOggOpus } = await import('../src/audio/ogg-opus-reader.ts');
  const file = await openOggOpus(path);
  const decoder = new OpusEncoder(48_000, 2);
  const packets: { data: Buffer; samples: number; offset: number }[] = [];
  let offset = 0;
  for await (const packet of file.packets()) {
    packets.push({ ...packet, offset });
    offset += packet.samples;
  }
  const levels = packets.map((p) => {
    const pcm = decoder.decode(p.data);
    return rmsDb(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.byteLength >> 1));
  });
  // As for WAV: after the last packet the client hears silence and sends its trailing frames.
  for (let k = 0; k < (gate.trailingFrames ?? 5); k++) {
    packets.push({ data: OPUS_SILENCE_FRAME, samples: SAMPLES_PER_FRAME, offset });
    levels.push(-Infinity);
    offset += SAMPLES_PER_FRAME;
  }
  const decisions = gateFrames(levels, gate);
  const frames: SpeechFrame[] = [];
  packets.forEach((p, i) => {
    const decision = decisions[i];
    if (decision === 'voice') frames.push({ offset: p.offset, opus: p.data, trailingSilence: false });
    else if (decision === 'tail') frames.push({ offset: p.offset, opus: Buffer.from(OPUS_SILENCE_FRAME), trailingSilence: true });
  });
  offset -= (gate.trailingFrames ?? 5) * SAMPLES_PER_FRAME;
  return { frames, durationSamples: offset };
}

/** A test tone as PCM (for tests and demos that need no file). */
export function tonePcm(input: {
  seconds: number;
  frequency: number;
  sampleRate?: number;
  amplitude?: number;
  silenceAfter?: number;
}): Pcm {
  const rate = input.sampleRate ?? 48_000;
  const total = Math.round((input.seconds + (input.silenceAfter ?? 0)) * rate);
  const tone = Math.round(input.seconds * rate);
  const ch = new Float32Array(total);
  for (let i = 0; i < tone; i++) ch[i] = (input.amplitude ?? 0.3) * Math.sin((2 * Math.PI * input.frequency * i) / rate);
  return { sampleRate: rate, channels: [ch] };
}

/** 16-bit PCM WAV bytes (for fixtures written by tests and demos). */
export function encodeWav(pcm: Pcm): Buffer {
  const channels = pcm.channels.length;
  const frames = pcm.channels[0]?.length ?? 0;
  const data = Buffer.alloc(frames * channels * 2);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const v = Math.max(-1, Math.min(1, pcm.channels[c]?.[i] ?? 0));
      data.writeInt16LE(Math.round(v * 32767), (i * channels + c) * 2);
    }
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(pcm.sampleRate, 24);
  header.writeUInt32LE(pcm.sampleRate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
