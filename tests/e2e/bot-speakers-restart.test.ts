// A speaker is told they were recorded after a restart too: the bot's process is killed mid-room, the room's
// consent message is gone when the next one starts, so that one finishes the recording from disk, DMs the host
// the link, then the speaker. The bot runs in a child process (scripts/demo/bot-process.ts), as in bot-restart.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { speechFromPcm, tonePcm, type DiscordSim } from '../../discord-sim/index.ts';
import { startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import { startBotProcess, type BotProcess } from '../../scripts/demo/bot-process.ts';
import { trackHasSound } from '../../src/recording/speaker-voice.ts';
import { createLayout } from '../../src/storage/layout.ts';
import type { MetaFile } from '../../src/storage/schema.ts';
import { formatDuration } from '../../src/text/format.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { recordingOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let sim: DiscordSim;
const children = new Set<BotProcess>();
const secret = randomBytes(32).toString('hex');

async function startChild(dataDir: string): Promise<BotProcess> {
  const child = await startBotProcess({ sim, dataDir, logFile: `${dataDir}.log`, httpPort: 0, env: { LINK_SECRET: secret } });
  children.add(child);
  return child;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-speakers-restart-'));
  sim = await startSimForBot({
    users: [
      { username: 'host', globalName: 'Host' },
      { username: 'bob', globalName: 'Bob' },
    ],
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([...children].map((child) => child.crash()));
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a room finished from disk after a restart DMs its speaker, after the host, with their time in it', async () => {
  const dataDir = path.join(dir, 'data');
  const host = sim.userByName('host').id;
  const bob = sim.userByName('bob').id;
  const bot = await startChild(dataDir);
  sim.joinVoice(host);
  sim.joinVoice(bob);
  sim.slash(host, 'record start');
  await until(() => sim.consentMessage() ?? undefined, 'the consent message', 15_000);
  sim.reactToConsent(bob);
  await untilListed(sim, ['Bob'], 15_000);
  await sim.dave.settled();
  await sim.speak(bob, speechFromPcm(tonePcm({ seconds: 0.6, frequency: 440, amplitude: 0.4 })), { at: sim.clock() + 100 }).done;
  const onDisk = await recordingOnDisk(dataDir);
  const track = await onDisk.trackOf(bob);
  await until(async () => ((await trackHasSound(track).catch(() => false)) ? true : undefined), "Bob's words on disk", 15_000);

  await bot.crash();
  // While the bot is down the consent message goes: the next process cannot resume the room, and finishes it.
  const consent = sim.consentMessage();
  if (consent) sim.world.deleteMessage(consent);
  await startChild(dataDir);

  const notice = await until(() => sim.dmsTo(bob)[0], "Bob's DM", 20_000);
  const link = sim.dmsTo(host).find((m) => m.content.includes('/r/'));
  expect(link).toBeDefined();
  expect(BigInt(notice.id)).toBeGreaterThan(BigInt(link?.id ?? Infinity));
  const meta = JSON.parse(await readFile(createLayout(dataDir).metaFile(onDisk.id), 'utf8')) as MetaFile;
  expect([meta.recording.state, meta.recording.stopReason]).toEqual(['ready', 'interrupted']);
  const grantedAt = meta.consentEvents.find((e) => e.userId === bob)?.at ?? NaN;
  expect(notice.content).toContain(`You were recorded for ${formatDuration((meta.recording.stoppedAt ?? NaN) - grantedAt)} in`);
  expect(notice.content).toContain(`\`my track ${onDisk.id}\``);
  expect(sim.dmsTo(bob)).toHaveLength(1);
}, 90_000);
