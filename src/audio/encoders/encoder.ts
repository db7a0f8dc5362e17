// The one shape every output format takes, so the mixer (and a worker thread) can drive any of them.
import { rm, type FileHandle } from 'node:fs/promises';
import { openPrivate } from '../../storage/private-files.ts';
import { writeAll } from '../write-all.ts';
import type { Id3Chapter } from '../id3-chapters.ts';

/** Every format a mix can be written in: the one list the encoders, the config and the stored schema share. */
export const MIX_FORMATS = ['ogg', 'mp3', 'flac', 'wav'] as const;
export type MixFormat = (typeof MIX_FORMATS)[number];

export const MIX_RATE = 48_000;
export const MIX_CHANNELS = 2;

export interface EncoderOptions {
  path: string;
  /**
   * Channels of the PCM written, default MIX_CHANNELS: 1 keeps a mono track mono when it is converted. WAV, FLAC
   * and MP3 take either; Ogg Opus is only ever the stereo mix.
   */
  channels?: 1 | 2;
  /** Frames the mix will have; formats with a length in their header write it up front. */
  totalFrames: number;
  /** Free-form tags (title, artist, …) for formats that carry them. */
  tags?: Record<string, string>;
  /** The recording's notes as chapters, for formats that carry them in the file (MP3: ID3v2 CHAP/CTOC). */
  chapters?: readonly Id3Chapter[];
}

export interface Encoder {
  /** Interleaved 48 kHz float PCM in [-1, 1], `channels` of them (stereo by default); any number of frames per call. */
  write(pcm: Float32Array): Promise<void>;
  /** Encodes what is buffered, completes headers and closes the file. */
  finish(): Promise<void>;
  /** Closes and removes the partial file. */
  abort(): Promise<void>;
}

export function channelsOf(options: EncoderOptions): 1 | 2 {
  return options.channels ?? MIX_CHANNELS;
}

/** Float [-1, 1] to int16 with rounding and saturation (never wrap-around). */
export function floatToInt16(src: Float32Array, dst: Int16Array = new Int16Array(src.length)): Int16Array {
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i]! * 32767);
    dst[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return dst;
}

const SINK_CHUNK = 1 << 20;

/** Append-mostly output file: batches small writes, and can patch a header in place at the end. */
export class FileSink {
  readonly path: string;
  #fh: FileHandle;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #written = 0;

  private constructor(path: string, fh: FileHandle) {
    this.path = path;
    this.#fh = fh;
  }

  /** Private (0600): a mix holds people's voices. */
  static async create(path: string): Promise<FileSink> {
    return new FileSink(path, await openPrivate(path, 'w'));
  }

  /** Bytes handed to the sink so far (written or pending). */
  get size(): number {
    return this.#written + this.#pendingBytes;
  }

  async append(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return;
    // Encoders reuse their output buffers: copy before holding on to it.
    this.#pending.push(Buffer.from(bytes));
    this.#pendingBytes += bytes.length;
    if (this.#pendingBytes >= SINK_CHUNK) await this.#drain();
  }

  async writeAt(position: number, bytes: Uint8Array): Promise<void> {
    await this.#drain();
    await writeAll(this.#fh, bytes, position);
  }

  async close(): Promise<void> {
    await this.#drain();
    await this.#fh.close();
  }

  async discard(): Promise<void> {
    this.#pending = [];
    this.#pendingBytes = 0;
    await this.#fh.close();
    await rm(this.path, { force: true });
  }

  async #drain(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    const data = Buffer.concat(this.#pending, this.#pendingBytes);
    this.#pending = [];
    this.#pendingBytes = 0;
    await writeAll(this.#fh, data, this.#written);
    this.#written += data.length;
  }
}
