// One track in another format, as stored: its Ogg Opus decoded with the mixer's decoder (track-decoder.ts: the
// same pre-skip, end trimming and exact-silence handling, so the transcode has the track's length and every
// sample where the mix has it) and encoded as is. No limiter and no gain but the file's own OpusHead output
// gain (RFC 7845 §5.1, part of decoding it): the decoded int16 samples reach a WAV or FLAC bit for bit. A mono
// track stays mono. Written to a partial file (0600, FileSink) and renamed once complete; on any failure the
// partial file is removed.
import { rename, rm } from 'node:fs/promises';
import { createEncoder, type Encoder, type MixFormat } from './encoders/index.ts';
import { describeInputError, describeOutputError, MIX_BLOCK_FRAMES } from './mixer.ts';
import { openTrack, type DecodedTrack } from './track-decoder.ts';

export type TranscodeOptions = {
  input: string;
  output: string;
  format: Exclude<MixFormat, 'ogg'>;
  /** Called after each block with the track position reached and the track's length, in 48 kHz frames. */
  onProgress?: (doneFrames: number, totalFrames: number) => void;
  signal?: AbortSignal;
};

export type TranscodeResult = { output: string; format: MixFormat; channels: 1 | 2; durationSamples: number };

/** Where a transcode (or a format made by the mixer) is written until it is complete. */
function partialPath(output: string): string {
  return `${output}.partial-${process.pid}`;
}

export async function transcodeTrack(opts: TranscodeOptions): Promise<TranscodeResult> {
  let track: DecodedTrack;
  try {
    track = await openTrack(opts.input);
  } catch (err) {
    throw describeInputError(opts.input, err);
  }
  const partial = partialPath(opts.output);
  await rm(partial, { force: true });
  let encoder: Encoder;
  try {
    encoder = await createEncoder(opts.format, {
      path: partial,
      totalFrames: track.totalSamples,
      channels: track.channels,
      tags: track.comments,
    });
  } catch (err) {
    // The encoder may have created the file before failing on its headers (a full disk).
    await rm(partial, { force: true });
    throw describeOutputError(opts.output, err);
  }
  try {
    await encodeTrack(track, encoder, opts);
    await encoder.finish();
  } catch (err) {
    await encoder.abort();
    throw describeOutputError(opts.output, describeInputError(opts.input, err));
  }
  try {
    await rename(partial, opts.output);
  } catch (err) {
    await rm(partial, { force: true });
    throw describeOutputError(opts.output, err);
  }
  return { output: opts.output, format: opts.format, channels: track.channels, durationSamples: track.totalSamples };
}

async function encodeTrack(track: DecodedTrack, encoder: Encoder, opts: TranscodeOptions): Promise<void> {
  const ch = track.channels;
  // 1/32767, not 1/32768: the encoders scale by 32767 and round, so each int16 sample comes back as itself.
  const scale = track.headGain / 32767;
  const zeros = new Float32Array(MIX_BLOCK_FRAMES * ch);
  for await (const block of track.blocks()) {
    opts.signal?.throwIfAborted();
    if (block.pcm) {
      const pcm = new Float32Array(block.frames * ch);
      for (let i = 0; i < pcm.length; i++) pcm[i] = block.pcm[i]! * scale;
      await encoder.write(pcm);
    } else {
      // A long pause is one block: written a block of zeros at a time, so memory stays bounded.
      for (let done = 0; done < block.frames; done += MIX_BLOCK_FRAMES) {
        await encoder.write(zeros.subarray(0, Math.min(MIX_BLOCK_FRAMES, block.frames - done) * ch));
      }
    }
    opts.onProgress?.(block.start + block.frames, track.totalSamples);
  }
}
