// What a speaker's link (link-signing.ts, version 2) opens: their own page, their own track as stored and that
// track in another format, by a path of its own (`track`, `track.flac`), so it never names their place among
// the speakers. Pure; download-server.ts serves it. Everything else under the link (the host's page, the mix,
// the zip, the receipt, other tracks, the notes and projects) is not found.
import { MIX_FORMATS, type MixFormat } from '../audio/encoders/encoder.ts';
import type { Catalog, TrackAsset } from './catalog.ts';

export type SpeakerTarget = { kind: 'page' } | { kind: 'track'; format: MixFormat | undefined };

const TRACK_KEY = 'track';

export function speakerTarget(rest: string): SpeakerTarget | undefined {
  if (rest === '') return { kind: 'page' };
  if (rest === TRACK_KEY) return { kind: 'track', format: undefined };
  const format = MIX_FORMATS.find((f) => rest === speakerTrackKey(f));
  return format === undefined ? undefined : { kind: 'track', format };
}

/** The path under a speaker's link of their track in `format` (as stored when absent). */
export function speakerTrackKey(format?: MixFormat): string {
  return format === undefined ? TRACK_KEY : `${TRACK_KEY}.${format}`;
}

/** The speaker's track asset, if the recording has one of theirs. */
export function speakerTrackOf(catalog: Catalog, speakerId: string): TrackAsset | undefined {
  return catalog.tracks.find((t) => t.speaker.userId === speakerId);
}

/** Their track's file name without its number among the speakers ("02-Ålice.ogg" → "Ålice.ogg"), in `format`. */
export function speakerFileName(track: TrackAsset, format: MixFormat): string {
  return track.fileName.replace(/^\d+-/, '').replace(/\.[^.]+$/, `.${format}`);
}
