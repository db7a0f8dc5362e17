// `npm run bench [-- --quick]`: every benchmark part in turn. Figures are printed, never asserted:
// timings belong here, not in unit tests (shared two-core machines).
import { parseArgs } from 'node:util';
import { opusencScale, runMixerBench, runOpusencMixBench } from './bench/mixer.ts';
import { runPlacementBench } from './bench/placement.ts';
import { runRecordingBench } from './bench/recording.ts';
import { runStopToLinkBench } from './bench/stop-to-link.ts';
import { runDaveBench } from './bench/dave.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } } });
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
  { name: 'placement', run: () => runPlacementBench({ quick: values.quick, log }) },
  { name: 'recording', run: async () => void (await runRecordingBench({ quick: values.quick, log })) },
  { name: 'stop-to-link', run: () => runStopToLinkBench({ quick: values.quick, keep: values.keep, log }) },
  { name: 'dave', run: () => runDaveBench({ quick: values.quick, log }) },
];

for (const part of parts) {
  const started = performance.now();
  await part.run();
  log(`${part.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
