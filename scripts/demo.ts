// npm run demo                                         built-in scenario; prints the link; serves until Ctrl-C
// npm run demo -- --scenario FILE --out DIR [--hold]   any scenario (docs/scenario.md); DIR/result.json
//
// Everything runs offline on this machine: the real bot against a local stand-in for Discord, with simulated
// people joining, opting in (or not), talking and asking for their link, in real time.
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { LoadedScenario, ScenarioEvent, Scenario } from '../discord-sim/scenario.ts';
import { loadScenarioWithSpeech, ScenarioError } from '../discord-sim/scenario.ts';
import { e2eeStatusLine } from '../src/bot/format.ts';
import { runScenario } from './demo/run-scenario.ts';
import type { BotEvent } from './demo/scenario-bot.ts';

const BUILT_IN = path.join(import.meta.dirname, 'demo', 'scenario.json');

const USAGE = `Usage:
  npm run demo                                        play the built-in scenario, print the link, serve until Ctrl-C
  npm run demo -- --scenario FILE --out DIR [--hold]  play FILE, write DIR/result.json; --hold keeps serving`;

function parse() {
  try {
    const { values } = parseArgs({
      options: {
        scenario: { type: 'string' },
        out: { type: 'string' },
        hold: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
    return values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
}

function describe(event: ScenarioEvent, scenario: Scenario): string | undefined {
  const a = event.action;
  const name = (id: string) => scenario.speakers.find((s) => s.id === id)?.name ?? id;
  const t = `${event.actualAt.toFixed(1).padStart(5)} s`;
  const failed = event.error ? `  (stand-in: ${event.error})` : '';
  switch (a.kind) {
    case 'join':
      return `${t}  ${name(a.speaker)} joins the voice channel${failed}`;
    case 'leave':
      return `${t}  ${name(a.speaker)} leaves${failed}`;
    case 'consent':
      return `${t}  ${name(a.speaker)} reacts ✅ (opts in)${failed}`;
    case 'withdraw':
      return `${t}  ${name(a.speaker)} removes their ✅ (withdraws)${failed}`;
    case 'speak':
      return `${t}  ${name(a.speaker)} talks${failed}`;
    case 'slash':
      return `${t}  ${name(a.speaker)}: /${a.text}${failed}`;
    case 'dm':
      return `${t}  ${name(a.speaker)} DMs the bot: "${a.text}"${failed}`;
    case 'bot':
      return a.event === 'crash'
        ? `${t}  the bot's process is killed (SIGKILL); the stand-in goes on${failed}`
        : `${t}  the bot's process is started again on the same data${failed}`;
    case 'end':
      return `${t}  end of scenario`;
  }
}

function describeBotEvent(b: BotEvent): string {
  const t = `${b.at.toFixed(1).padStart(5)} s`;
  if (b.event === 'crash') return `${t}  the bot's process ended (${b.exit ?? 'killed'})`;
  return `${t}  the bot's process started again; ${b.readyAt === undefined ? 'it never became ready' : `ready at ${b.readyAt.toFixed(1)} s`}`;
}

async function main(): Promise<void> {
  const args = parse();
  if (args.help) {
    console.log(USAGE);
    return;
  }
  if (args.out !== undefined && args.scenario === undefined) {
    console.error(`--out needs --scenario.\n\n${USAGE}`);
    process.exit(2);
  }
  const builtIn = args.scenario === undefined;
  const scenarioFile = path.resolve(args.scenario ?? BUILT_IN);
  let loaded: LoadedScenario;
  try {
    // Validate before anything starts (audio files included): a bad file gets every problem listed and nothing else happens.
    loaded = await loadScenarioWithSpeech(scenarioFile);
  } catch (error) {
    console.error(error instanceof ScenarioError ? error.message : String(error));
    process.exit(2);
  }
  if (loaded.scenario.unknownFields.length > 0) {
    // Newer or misspelt fields: the contract says to extend it compatibly, so they are ignored, but say so.
    console.error(`${scenarioFile}: ignoring fields this version does not know (misspelt?): ${loaded.scenario.unknownFields.join(', ')}`);
  }
  const outDir = path.resolve(args.out ?? (await mkdtemp(path.join(os.tmpdir(), 'roomrec-demo-'))));
  const hold = builtIn || args.hold;
  const logFile = path.join(outDir, 'roomrec.log');

  let session;
  try {
    console.log(`Playing ${args.scenario ?? 'the built-in scenario'} in real time against the local Discord stand-in.`);
    console.log(`Data and result in ${outDir} (bot log: ${logFile})\n`);
    session = await runScenario({
      scenarioFile,
      loaded,
      outDir,
      logFile,
      logLevel: 'debug',
      onEvent: (event, scenario) => {
        const line = describe(event, scenario);
        if (line) console.log(line);
      },
      // The privacy code is what people in the call compare with their own client's: shown as soon as it is known.
      onRecordingStarted: (room, at) => {
        console.log(`${at.toFixed(1).padStart(5)} s  the bot is recording (${room.recordingId}). ${e2eeStatusLine(room.e2ee)}`);
      },
    });
  } catch (error) {
    if (error instanceof ScenarioError) {
      console.error(error.message);
      process.exit(2);
    }
    console.error(`The demo could not run: ${error instanceof Error ? error.message : String(error)}\n(see ${logFile})`);
    process.exit(1);
  }

  const { result, resultFile } = session;
  console.log('');
  for (const b of result.bot) console.log(describeBotEvent(b));
  for (const dm of result.dms) console.log(`DM to ${dm.to}: ${dm.text.split('\n')[0]}`);
  if (result.stop) console.log(`\nStop → link DM'd to the host: ${result.stop.stopToLinkMs} ms`);
  console.log(`Result: ${resultFile}`);
  console.log(
    result.downloadUrl ? `\nDownload link DM'd to the host:\n  ${result.downloadUrl}\n` : "\nNo download link was DM'd to the host.\n",
  );

  if (!hold) {
    await session.close();
    return;
  }
  console.log('Serving downloads. Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await session.close();
  // Kept, not deleted: it is the recording the user just listened to. Say where, since a temp folder is easy to lose.
  console.log(`\nStopped. The recording, result.json and the bot log are kept in ${outDir}`);
}

await main();
