/**
 * Finalise Ogg Opus tracks cut off by a crash: `npx node scripts/finalise-track.ts FILE.ogg...`
 * Prints one line per file; exit status 1 when any file could not be read.
 */
import { repairTrack } from '../src/audio/track-repair.ts';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node scripts/finalise-track.ts FILE.ogg [FILE.ogg ...]\n');
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  try {
    const r = await repairTrack(file);
    const seconds = (r.samples / 48000).toFixed(3);
    process.stdout.write(
      r.status === 'intact'
        ? `${file}: intact, ${seconds} s\n`
        : `${file}: repaired, dropped ${r.droppedBytes} torn bytes, now ${seconds} s\n`,
    );
  } catch (err) {
    failed++;
    process.stderr.write(`${file}: ${(err as Error).message}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
