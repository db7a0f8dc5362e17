// `npm run bench [-- --quick] [-- PART...]`: every benchmark part in turn, or only the parts named
// (`npm run bench -- soak --minutes 10`). Figures are printed, never asserted: timings belong here, not in
// unit tests (shared two-core machines).
import { parseArgs } from 'node:util';
import { opusencScale, runMixerBench, runOpusencMixBench } from './bench/mixer.ts';
import { runLevellingBench } from './bench/levelling.ts';
import { runPlacementBench } from './bench/placement.ts';
import { runRecordingBench } from './bench/recording.ts';
import { runStopToLinkBench } from './bench/stop-to-link.ts';
import { runDaveBench } from './bench/dave.ts';
import { formatsScale, runFormatsBench } from './bench/formats.ts';
import { runSoakBench } from './bench/soak.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    /** The soak's length; by default 2 minutes (1 with --quick), the full soak is 10. */
    minutes: { type: 'string' },
  },
});
const log = (line: string) => console.log(line);

const parts: { name: string; run: () => Promise<void> }[] = [
  {
    name: 'mixer',
    run: () =>
      runMixerBench({ speakers: values.quick ? 2 : 10, minutes: values.quick ? 1 : 10, keep: values.keep, judge: !values.quick, log }),
  },
  {
    name: 'mixer-opusenc',
    run: () => runOpusencMixBench({ ...opusencScale(values.quick), runs: 3, keep: values.keep, judge: !values.quick, log }),
  },
  {
    name: 'levelling',
    run: () => runLevellingBench({ speakers: values.quick ? 2 : 10, minutes: values.quick ? 1 : 10, runs: 3, keep: values.keep, log }),
  },
  { name: 'placement', run: () => runPlacementBench({ quick: values.quick, log }) },
  { name: 'recording', run: async () => void (await runRecordingBench({ quick: values.quick, log })) },
  { name: 'stop-to-link', run: () => runStopToLinkBench({ quick: values.quick, keep: values.keep, log }) },
  { name: 'dave', run: () => runDaveBench({ quick: values.quick, log }) },
  { name: 'formats', run: () => runFormatsBench({ ...formatsScale(values.quick), keep: values.keep, log }) },
  { name: 'soak', run: () => runSoakBench({ minutes: Number(values.minutes ?? (values.quick ? 1 : 2)), keep: values.keep, log }) },
];

const unknown = positionals.filter((name) => !parts.some((p) => p.name === name));
if (unknown.length > 0) throw new Error(`npm run bench: no part ${unknown.join(', ')} (parts: ${parts.map((p) => p.name).join(', ')})`);
for (const part of parts.filter((p) => positionals.length === 0 || positionals.includes(p.name))) {
  const started = performance.now();
  await part.run();
  log(`${part.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
