// FileHandle.write() is one write(2) call: on a nearly full disk it writes part of the buffer and reports
// success with a short count. Ignoring the count leaves a silently truncated file that looks complete, so
// every writer of track and mix bytes goes through writeAll, which keeps going until the kernel either
// takes everything or says why not (ENOSPC, EDQUOT, EFBIG…).
import type { FileHandle } from 'node:fs/promises';

export async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    // Not seen on regular files (the kernel returns an error instead), but a zero count must not spin forever.
    if (bytesWritten === 0) throw Object.assign(new Error(`write made no progress at byte ${position + done}`), { code: 'EIO' });
    done += bytesWritten;
  }
}
