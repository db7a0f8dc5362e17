/**
 * Finalise an Ogg Opus file cut off by a crash. Nothing that was valid is rewritten: the torn tail (an
 * incomplete or CRC-failing last page, or a packet left unfinished) is cut off, then one small page is
 * appended carrying EOS, a 2.5 ms silence packet and the final granule, so every player sees a proper end.
 */
import { open } from 'node:fs/promises';
import { buildOggPage } from './ogg-page.ts';
import { scanOggOpus } from './ogg-opus-reader.ts';
import { writeAll } from './write-all.ts';

export interface RepairResult {
  path: string;
  /** 'intact': already ended with EOS and nothing after it; nothing was changed. */
  status: 'intact' | 'repaired';
  /** Bytes of torn tail removed. */
  droppedBytes: number;
  /** Final granule position (48 kHz samples, pre-skip included). */
  finalGranule: number;
  /** Decoded duration after pre-skip, in 48 kHz samples. */
  samples: number;
}

const EOS_SILENCE = Buffer.from([28 << 3, 0xff, 0xfe]); // CELT 2.5 ms silence frame
const EOS_SILENCE_SAMPLES = 120;

export async function repairTrack(path: string): Promise<RepairResult> {
  const scan = await scanOggOpus(path);
  const granule = Math.max(0, Number(scan.lastWhole.granule));
  if (!scan.truncated && scan.tailBytes === 0) {
    return { path, status: 'intact', droppedBytes: 0, finalGranule: granule, samples: Math.max(0, granule - scan.head.preSkip) };
  }
  const fh = await open(path, 'r+');
  try {
    await fh.truncate(scan.lastWhole.end);
    let finalGranule = granule;
    if (!scan.lastWhole.eos) {
      finalGranule = granule + EOS_SILENCE_SAMPLES;
      const page = buildOggPage({
        serial: scan.serial,
        sequence: scan.lastWhole.sequence + 1,
        granule: finalGranule,
        eos: true,
        packets: [EOS_SILENCE],
      });
      await writeAll(fh, page, scan.lastWhole.end);
    }
    await fh.datasync();
    return { path, status: 'repaired', droppedBytes: scan.tailBytes, finalGranule, samples: Math.max(0, finalGranule - scan.head.preSkip) };
  } finally {
    await fh.close();
  }
}
