/**
 * Finalise Ogg Opus tracks cut off by a crash, or damaged: `npx node scripts/finalise-track.ts FILE.ogg...`
 * writes a repaired copy beside each file that needs one (FILE.finalised.ogg) and keeps the original.
 * Prints one line per file (warnings on stderr); exit status 1 when any file could not be read or repaired.
 */
import { describeInputError, MixInputError } from '../src/audio/mixer.ts';
import { repairTrack } from '../src/audio/track-repair.ts';

/** One line saying why `file` could not be finalised: the reader's and the file system's reasons are worded as the mixer words them. */
function reason(file: string, err: unknown): string {
  const described = describeInputError(file, err, file);
  return described instanceof MixInputError ? described.message : `${file}: ${described.message.split('\n')[0]}`;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node scripts/finalise-track.ts FILE.ogg [FILE.ogg ...]\n');
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  try {
    const r = await repairTrack(file);
    for (const warning of r.warnings) process.stderr.write(`${file}: warning: ${warning}\n`);
    const seconds = (r.samples / 48000).toFixed(3);
    process.stdout.write(
      r.output === null
        ? `${file}: intact, ${seconds} s\n`
        : `${file}: repaired into ${r.output} (the original is kept): ${r.changes.join(', ')}; now ${seconds} s\n`,
    );
  } catch (err) {
    failed++;
    process.stderr.write(`${reason(file, err)}\n`);
  }
}
process.exit(failed > 0 ? 1 : 0);
