/**
 * Finalise an Ogg Opus file cut off by a crash, or damaged, into a copy: the original is never changed, and a
 * copy that already exists is never overwritten. The copy holds the file's valid pages byte for byte, up to
 * its last whole page; then, only where needed:
 *   - pages that were out of order are put back in sequence (an exact repeat of a page is dropped);
 *   - the torn tail (an incomplete or CRC-failing last page, a packet left unfinished, pages after the end)
 *     is left out;
 *   - a last granule position its packets do not back up (ogg-opus-stream.ts) is set to where they end;
 *   - a small page is appended carrying EOS, a 2.5 ms silence packet and the final granule, so every player
 *     sees a proper end.
 * The copy is written under a temporary name and renamed when complete.
 */
import { constants } from 'node:fs';
import { access, chmod, copyFile, open, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { buildOggPage, resealOggPage } from './ogg-page.ts';
import { oggPages, scanOggOpus } from './ogg-opus-reader.ts';
import { PageOrderError, type OggOpusScan } from './ogg-opus-stream.ts';
import { openPrivate, PRIVATE_FILE_MODE } from '../storage/private-files.ts';
import { writeAll } from './write-all.ts';

export interface RepairResult {
  path: string;
  /** The repaired copy; null when the file was intact (nothing was written). */
  output: string | null;
  /** 'intact': already ended with EOS, nothing after it and nothing to correct. */
  status: 'intact' | 'repaired';
  /** What the copy changes, one phrase each, for the user. */
  changes: string[];
  /** Bytes of the original the copy leaves out (torn tail, pages after the end, repeated pages). */
  droppedBytes: number;
  /** Final granule position (48 kHz samples, pre-skip included). */
  finalGranule: bigint;
  /** Decoded duration after pre-skip, in 48 kHz samples. */
  samples: number;
  /** What was read differently from what the file says and a copy cannot change (lost pages, a start offset). */
  warnings: string[];
}

/** The copy cannot be written where it should go; the message is meant for the user as is. */
class RepairError extends Error {
  override name = 'RepairError';
}

const EOS_SILENCE = Buffer.from([28 << 3, 0xff, 0xfe]); // CELT 2.5 ms silence frame
const EOS_SILENCE_SAMPLES = 120;

/** Where the repaired copy of `path` goes: beside it, `name.finalised.ogg`. */
export function finalisedPath(path: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.finalised${ext || '.ogg'}`);
}

function needsRepair(scan: OggOpusScan): boolean {
  return scan.tailBytes > 0 || !scan.lastWhole.eos || scan.correctedGranule !== null;
}

export async function repairTrack(path: string, output = finalisedPath(path)): Promise<RepairResult> {
  const scan = await scanOggOpus(path).catch((err: unknown) => {
    if (err instanceof PageOrderError) return null;
    throw err;
  });
  if (scan && !needsRepair(scan)) {
    const { lastWhole, totalSamples, warnings } = scan;
    return {
      path,
      output: null,
      status: 'intact',
      changes: [],
      droppedBytes: 0,
      finalGranule: lastWhole.granule,
      samples: totalSamples,
      warnings,
    };
  }
  if (
    await access(output).then(
      () => true,
      () => false,
    )
  ) {
    throw new RepairError(`${output} already exists: nothing written (remove it to finalise again)`);
  }
  const partial = `${output}.partial-${process.pid}`;
  try {
    const changes: string[] = [];
    let droppedBytes = 0;
    let copy = scan;
    if (copy) {
      await copyFile(path, partial, constants.COPYFILE_EXCL);
      // A track holds someone's voice: the copy is private (0600), as every file roomrec writes, whatever the original's mode.
      await chmod(partial, PRIVATE_FILE_MODE);
    } else {
      const sorted = await copyInSequence(path, partial);
      if (sorted.moved) changes.push('pages put back in order');
      if (sorted.repeats > 0) changes.push(sorted.repeats === 1 ? 'dropped a repeated page' : `dropped ${sorted.repeats} repeated pages`);
      if (sorted.tornBytes > 0) changes.push(`dropped ${sorted.tornBytes} torn bytes`);
      droppedBytes += sorted.droppedBytes;
      copy = await scanOggOpus(partial);
    }
    droppedBytes += await finaliseCopy(partial, copy, changes);
    // What the copy is, read back as any reader will read it.
    const repaired = await scanOggOpus(partial);
    await rename(partial, output);
    return {
      path,
      output,
      status: 'repaired',
      changes,
      droppedBytes,
      finalGranule: repaired.lastWhole.granule,
      samples: repaired.totalSamples,
      warnings: repaired.warnings,
    };
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}

/**
 * Writes the pages of `path` to `to` sorted by stream and sequence number (a stable sort: pages of a second
 * stream stay where the scan of the copy refuses them), leaving out a torn tail and exact repeats of a page.
 * Two different pages with one number cannot be told apart, and are refused.
 */
async function copyInSequence(
  path: string,
  to: string,
): Promise<{ moved: boolean; repeats: number; tornBytes: number; droppedBytes: number }> {
  const pages: { serial: number; sequence: number; offset: number; length: number }[] = [];
  const serials: number[] = [];
  let tornBytes = 0;
  for await (const ev of oggPages(path)) {
    if (ev.kind === 'torn') {
      tornBytes = (await stat(path)).size - ev.offset;
      break;
    }
    const { serial, sequence, offset, length } = ev.page;
    if (!serials.includes(serial)) serials.push(serial);
    pages.push({ serial, sequence, offset, length });
  }
  const sorted = [...pages].sort((a, b) => serials.indexOf(a.serial) - serials.indexOf(b.serial) || a.sequence - b.sequence);
  const from = await open(path, 'r');
  const out = await openPrivate(to, 'wx');
  let repeats = 0;
  let droppedBytes = tornBytes;
  try {
    let at = 0;
    let previous: { sequence: number; serial: number; bytes: Buffer } | null = null;
    for (const p of sorted) {
      const bytes = Buffer.alloc(p.length);
      await from.read(bytes, 0, p.length, p.offset);
      if (previous && previous.serial === p.serial && previous.sequence === p.sequence) {
        if (!previous.bytes.equals(bytes)) {
          throw new PageOrderError(`two different pages are numbered ${p.sequence}: the pages cannot be put back in order`);
        }
        repeats++;
        droppedBytes += p.length;
        continue;
      }
      await writeAll(out, bytes, at);
      at += p.length;
      previous = { sequence: p.sequence, serial: p.serial, bytes };
    }
    await out.datasync();
  } finally {
    await out.close();
    await from.close();
  }
  return { moved: sorted.some((p, i) => p !== pages[i]), repeats, tornBytes, droppedBytes };
}

/** Cuts the copy after its last whole page, corrects that page's granule if it must, and ends it with EOS; returns the bytes cut. */
async function finaliseCopy(path: string, scan: OggOpusScan, changes: string[]): Promise<number> {
  const { lastWhole } = scan;
  const fh = await open(path, 'r+');
  try {
    if (scan.tailBytes > 0) {
      await fh.truncate(lastWhole.end);
      changes.push(lastWhole.eos ? `dropped ${scan.tailBytes} bytes after the end of the stream` : `dropped ${scan.tailBytes} torn bytes`);
    }
    if (scan.correctedGranule !== null) {
      const page = Buffer.alloc(lastWhole.end - lastWhole.offset);
      await fh.read(page, 0, page.length, lastWhole.offset);
      page.writeBigInt64LE(scan.correctedGranule, 6);
      await writeAll(fh, resealOggPage(page), lastWhole.offset);
      changes.push('last granule position set to where its packets end');
    }
    if (!lastWhole.eos) {
      const granule = lastWhole.granule + BigInt(EOS_SILENCE_SAMPLES);
      await writeAll(
        fh,
        buildOggPage({ serial: scan.serial, sequence: lastWhole.sequence + 1, granule, eos: true, packets: [EOS_SILENCE] }),
        lastWhole.end,
      );
      changes.push('end-of-stream page added');
    }
    await fh.datasync();
    return scan.tailBytes;
  } finally {
    await fh.close();
  }
}
