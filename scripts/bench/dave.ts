// Bench (issue 8, item 6): what DAVE end-to-end encryption costs the bot, and what it loses around transitions.
//   1. The recording path (recording.ts) with DAVE off, then on, in the same run: CPU and peak RSS of the bot's
//      process, packets lost between socket and track side, frames the bot could not decrypt. The extra work
//      under DAVE is one AES-128-GCM frame decryption per packet inside @snazzah/davey (native code).
//   2. A room where `churners` people join and leave one after another (each an MLS transition) while
//      `talkers` talk without pause: frames sent vs frames received within ±200 ms of each transition.
import { churnRoom } from '../../tests/helpers/dave-churn.ts';
import { runRecordingBench } from './recording.ts';

export async function runDaveBench({ quick, log }: { quick: boolean; log: (line: string) => void }): Promise<void> {
  const off = await runRecordingBench({ quick, log, dave: false, modes: ['discard', 'record'] });
  const on = await runRecordingBench({ quick, log, dave: true, modes: ['discard', 'record'] });
  log(`dave: ${on.speakers} speakers, DAVE on vs off in the same run (bot process)`);
  for (const mode of ['discard', 'record'] as const) {
    const a = off.modes.find((m) => m.mode === mode);
    const b = on.modes.find((m) => m.mode === mode);
    if (!a || !b) continue;
    log(
      `  ${mode.padEnd(7)}: CPU ${a.cpuPercent.toFixed(1)} % → ${b.cpuPercent.toFixed(1)} % of a core (×${(b.cpuPercent / a.cpuPercent).toFixed(2)}), ` +
        `peak RSS ${a.peakRssMb.toFixed(0)} → ${b.peakRssMb.toFixed(0)} MB, lost ${a.lost} → ${b.lost} of ${a.sent} / ${b.sent}, ` +
        `undecryptable ${a.undecryptable} → ${b.undecryptable}`,
    );
  }
  const talkers = quick ? 2 : 5;
  const churners = quick ? 3 : 10;
  const churn = await churnRoom({ talkers, churners, dwellMs: quick ? 300 : 1000 });
  log(`dave: ${churners} people join and leave while ${talkers} talk: ${churn.transitions.length} transitions`);
  for (const t of churn.transitions)
    log(`  epoch ${String(t.epoch).padStart(3)}: ${t.received} of ${t.sent} frames within ±200 ms received (lost ${t.sent - t.received})`);
  log(
    `  whole room: ${churn.received} of ${churn.sent} frames received, ${churn.stats.undecryptable} undecryptable, ` +
      `${churn.stats.arrivalOnly} without RTP header; bot's privacy code matches the group's: ${churn.privacyCodeMatches}`,
  );
}

if (import.meta.main) {
  await runDaveBench({ quick: process.argv.includes('--quick'), log: (line) => console.log(line) });
}
