// A format made for a download (a track transcoded, or the mix made again from the tracks) on a worker thread
// of its own (format-worker.ts), so that decoding, summing and encoding never run on the bot's main thread,
// where the voice socket is read. The thread runs at a lower CPU priority and ends when its job does: it is
// never terminated (stopped inside a libopus call, the addon aborts the process); abort() asks it to stop at its
// next block instead.
//
//   main thread                       format thread
//   workerData: the job  ───────────▶ transcodeTrack | mixTracks ─▶ partial file ─rename─▶ output
//   abort                ───────────▶
//                        ◀─────────── progress {done, total} · done · failed {error}
import { Worker } from 'node:worker_threads';
import type { MixFormat, MixInput, MixOptions } from './mixer.ts';
import { fromThreadError, type ThreadError } from './thread-error.ts';

export type FormatJob =
  /** A track in another format, as stored (transcode.ts). */
  | { kind: 'transcode'; input: string; output: string; format: Exclude<MixFormat, 'ogg'> }
  /**
   * The mix made again from its tracks, in `format` (mixer.ts): one codec generation from the tracks. `chapters`:
   * the notes, inside the file where the format has them (MP3); `level`: the levelled mix.
   */
  | { kind: 'mix'; inputs: MixInput[]; output: string; format: MixFormat; chapters?: MixOptions['chapters']; level?: boolean };

export type ToFormatThread = { type: 'abort' };
export type FromFormatThread = { type: 'progress'; done: number; total: number } | { type: 'done' } | ({ type: 'failed' } & ThreadError);

export type RunningFormatJob = {
  /** Settles once the thread has exited: resolved when the output is in place, rejected with why it is not. */
  finished: Promise<void>;
  abort(): void;
};

export function runFormatJob(job: FormatJob, onProgress: (done: number, total: number) => void): RunningFormatJob {
  const worker = new Worker(new URL('./format-worker.ts', import.meta.url), { workerData: job });
  let outcome: { ok: true } | { ok: false; error: Error } | undefined;
  worker.on('message', (m: FromFormatThread) => {
    if (m.type === 'progress') onProgress(m.done, m.total);
    else outcome ??= m.type === 'done' ? { ok: true } : { ok: false, error: fromThreadError(m) };
  });
  worker.on('error', (error: Error) => (outcome ??= { ok: false, error }));
  const finished = new Promise<void>((resolve, reject) =>
    worker.once('exit', (code) => {
      const result = outcome ?? { ok: false, error: new Error(`the format thread exited before it finished (code ${code})`) };
      if (result.ok) resolve();
      else reject(result.error);
    }),
  );
  return {
    finished,
    abort: () => worker.postMessage({ type: 'abort' } satisfies ToFormatThread),
  };
}
