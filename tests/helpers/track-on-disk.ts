// How far a track that is still being written reaches on disk: what a crash now would leave of it. The track
// writer puts a page on disk at least once a second (flushIntervalMs), so a test that needs audio to have reached
// the disk waits for it here rather than sleeping for a second or two.
import { readdir, readFile } from 'node:fs/promises';
import { scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { createLayout } from '../../src/storage/layout.ts';
import type { Recording } from '../../src/storage/store.ts';
import { RATE } from './audio.ts';
import { until } from './until.ts';

/** Track seconds (recording time) the whole pages on disk reach; 0 while the file or its headers are not there yet. */
export async function secondsOnDisk(file: string): Promise<number> {
  try {
    const scan = await scanOggOpus(file);
    return Math.max(0, Number(scan.lastWhole.granule - BigInt(scan.head.preSkip)) / RATE);
  } catch {
    return 0;
  }
}

/** Resolves once the track's pages on disk reach `seconds` of recording time. */
export async function untilOnDisk(file: string, seconds: number, what: string, timeoutMs = 30_000): Promise<void> {
  await until(
    async () => ((await secondsOnDisk(file)) >= seconds ? true : undefined),
    `${what} on disk (${seconds.toFixed(2)} s of track)`,
    timeoutMs,
  );
}

/**
 * A recording as a bot in another process keeps it under its DATA_DIR, read without opening its store: the
 * folder of the only recording there and its meta.json (the store's mirror of the metadata, replaced whole).
 */
export async function recordingOnDisk(dataDir: string): Promise<{
  id: string;
  startedAt: number;
  /** The metadata as meta.json has it now. */
  meta(): Promise<Recording | undefined>;
  /** The track file of a speaker, once their consent is in meta.json. */
  trackOf(userId: string): Promise<string>;
}> {
  const layout = createLayout(dataDir);
  const id = await until(async () => {
    const ids = await readdir(layout.recordingsDir).catch(() => [] as string[]);
    return ids.length === 1 ? ids[0] : undefined;
  }, `the recording's folder in ${dataDir}`);
  const meta = () =>
    readFile(layout.metaFile(id), 'utf8')
      .then((text) => (JSON.parse(text) as { recording: Recording }).recording)
      .catch(() => undefined);
  const { startedAt } = await until(meta, `meta.json of recording ${id}`);
  return {
    id,
    startedAt,
    meta,
    trackOf: async (userId) => {
      const speaker = await until(
        async () => (await meta())?.speakers.find((s) => s.userId === userId),
        `the consent of ${userId} in meta.json`,
      );
      return layout.file(id, speaker.trackFile);
    },
  };
}
