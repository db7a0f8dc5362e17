// Format name -> encoder. The mixer (and the encoder worker) only know this function.
import { createFlacEncoder } from './flac.ts';
import { createMp3Encoder } from './mp3.ts';
import { createOggOpusEncoder } from './ogg-opus.ts';
import { createWavEncoder } from './wav.ts';
import type { Encoder, EncoderOptions, MixFormat } from './encoder.ts';

export type { Encoder, EncoderOptions, MixFormat } from './encoder.ts';
export { MIX_FORMATS } from './encoder.ts';

export function createEncoder(format: MixFormat, options: EncoderOptions): Promise<Encoder> {
  switch (format) {
    case 'ogg':
      return createOggOpusEncoder(options);
    case 'mp3':
      return createMp3Encoder(options);
    case 'flac':
      return createFlacEncoder(options);
    case 'wav':
      return createWavEncoder(options);
  }
}
