// FLAC through libFLAC compiled to WebAssembly (libflacjs). The encoder streams without seeking, so the
// STREAMINFO block gets the length we pass up front; at the end its MD5 and frame sizes are patched in.
import { createRequire } from 'node:module';
import type * as LibFlac from 'libflacjs/dist/index.d.ts';
import { FileSink, MIX_RATE, channelsOf, type Encoder, type EncoderOptions } from './encoder.ts';

type Flac = typeof LibFlac;
const require = createRequire(import.meta.url);

let flacReady: Promise<Flac> | undefined;
// The wasm module is instantiated once per thread and shared by encoders; it holds no per-file state.
function loadFlac(): Promise<Flac> {
  flacReady ??= new Promise<Flac>((resolve) => {
    // libflacjs's emscripten glue (1.39) fetch()es its .wasm by bare file path whenever a global fetch
    // exists, which Node's fetch rejects; without fetch it reads the file from disk. The wasm build
    // encodes ~5x faster than the asm.js one, so hide fetch for the synchronous require only.
    const { fetch } = globalThis;
    let flac: Flac;
    try {
      Reflect.deleteProperty(globalThis, 'fetch');
      flac = (require('libflacjs') as (variant: string) => Flac)('min.wasm');
    } finally {
      globalThis.fetch = fetch;
    }
    if (flac.isReady()) resolve(flac);
    else flac.on('ready', () => resolve(flac));
  });
  return flacReady;
}

const COMPRESSION = 5; // libFLAC's default: most of the size win of 8 at a fraction of the time
const BITS = 16;

// "fLaC" (4) + metadata block header (4), then STREAMINFO (RFC 9639 §8.2):
//   0 min block (2) | 2 max block (2) | 4 min frame (3) | 7 max frame (3)
//  10 rate (20 bits) channels-1 (3) bits-1 (5) total samples (36)        | 18 MD5 (16)
const STREAMINFO_AT = 8;

export async function createFlacEncoder(options: EncoderOptions): Promise<Encoder> {
  const flac = await loadFlac();
  const channels = channelsOf(options);
  const encoder = flac.create_libflac_encoder(MIX_RATE, channels, BITS, COMPRESSION, options.totalFrames, false, 0);
  if (!encoder) throw new Error('libFLAC could not create an encoder');
  const sink = await FileSink.create(options.path);
  const chunks: Uint8Array[] = [];
  let info: LibFlac.StreamMetadata | undefined;
  const status = flac.init_encoder_stream(
    encoder,
    (data) => {
      // libFLAC calls back synchronously from process(); the bytes are queued and written after it returns.
      chunks.push(data.slice());
    },
    (metadata) => {
      info = metadata;
    },
  );
  if (status !== 0) throw new Error(`libFLAC init failed with status ${status}`);
  let int32 = new Int32Array(0);
  const drain = async () => {
    for (const c of chunks.splice(0)) await sink.append(c);
  };
  return {
    async write(pcm) {
      if (int32.length < pcm.length) int32 = new Int32Array(pcm.length);
      for (let i = 0; i < pcm.length; i++) {
        const v = Math.round(pcm[i]! * 32767);
        int32[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      }
      if (!flac.FLAC__stream_encoder_process_interleaved(encoder, int32.subarray(0, pcm.length), pcm.length / channels)) {
        throw new Error(`libFLAC encoding failed (state ${flac.FLAC__stream_encoder_get_state(encoder)})`);
      }
      await drain();
    },
    async finish() {
      const ok = flac.FLAC__stream_encoder_finish(encoder);
      flac.FLAC__stream_encoder_delete(encoder);
      if (!ok) throw new Error('libFLAC could not finish the stream');
      await drain();
      if (info) await sink.writeAt(STREAMINFO_AT, patchedStreamInfo(info, channels));
      await sink.close();
    },
    async abort() {
      flac.FLAC__stream_encoder_delete(encoder);
      await sink.discard();
    },
  };
}

function patchedStreamInfo(m: LibFlac.StreamMetadata, channels: 1 | 2): Buffer {
  const b = Buffer.alloc(34);
  b.writeUInt16BE(m.min_blocksize, 0);
  b.writeUInt16BE(m.max_blocksize, 2);
  b.writeUIntBE(m.min_framesize, 4, 3);
  b.writeUIntBE(m.max_framesize, 7, 3);
  // 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples = 64 bits.
  const packed = (BigInt(MIX_RATE) << 44n) | (BigInt(channels - 1) << 41n) | (BigInt(BITS - 1) << 36n) | BigInt(m.total_samples);
  b.writeBigUInt64BE(packed, 10);
  if (/^[0-9a-f]{32}$/i.test(m.md5sum)) b.write(m.md5sum, 18, 'hex');
  return b;
}
