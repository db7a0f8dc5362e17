// Format thread entry: runs one FormatJob (format-thread.ts has the protocol) at a lower CPU priority, reports
// its progress at most once per percent, and exits when it is done.
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadsPriority } from './background-priority.ts';
import type { FormatJob, FromFormatThread, ToFormatThread } from './format-thread.ts';
import { mixTracks } from './mixer.ts';
import { toThreadError } from './thread-error.ts';
import { transcodeTrack } from './transcode.ts';

lowerThisThreadsPriority();

const port = parentPort;
if (!port) throw new Error('format-worker.ts must run in a worker thread');
const post = (message: FromFormatThread) => port.postMessage(message);
const job = workerData as FormatJob;
const aborted = new AbortController();
port.on('message', (m: ToFormatThread) => {
  if (m.type === 'abort') aborted.abort(new Error('the format was not finished: the server is shutting down'));
});

let percent = -1;
const onProgress = (done: number, total: number) => {
  const now = total > 0 ? Math.floor((100 * done) / total) : 0;
  if (now === percent) return;
  percent = now;
  post({ type: 'progress', done, total });
};

try {
  const { signal } = aborted;
  if (job.kind === 'transcode') await transcodeTrack({ ...job, onProgress, signal });
  else await mixTracks({ ...job, onProgress, signal });
  post({ type: 'done' });
} catch (err) {
  post({ type: 'failed', ...toThreadError(err) });
} finally {
  // The port's listener would keep the thread alive: it ends with its job, once the message above is sent.
  port.unref();
}
