// Recordings a crash left busy (recording, stopping, mixing) that the next start cannot resume must not stay
// busy forever: retention never deletes busy recordings and the host could not delete them either.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { openStore } from '../../src/storage/store.ts';
import { startBotAgainst, startSimForBot } from '../../scripts/demo/bot-in-sim.ts';
import type { Bot } from '../../src/main.ts';
import type { DiscordSim, InteractionRecord } from '../../discord-sim/index.ts';
import { joinAndSeen } from '../helpers/bot-env.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let sim: DiscordSim;
let bot: Bot | undefined;
const ids = { stuck: '', mixing: '' };
let host = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-interrupted-'));
  sim = await startSimForBot({ users: [{ username: 'host', globalName: 'Host' }] });
  host = sim.userByName('host').id;
  // What a crash left behind, written before the bot starts.
  const store = await openStore({ dataDir: dir, log: silentLogger() });
  const meta = { guildId: sim.guildId, channelId: sim.voiceChannelId, textChannelId: sim.voiceChannelId, hostId: host, hostName: 'Host' };
  const stuck = await store.createRecording({ ...meta, startedAt: Date.now() - 120_000 });
  await store.updateRecording(stuck.id, (r) => ({ ...r, state: 'stopping', stopReason: 'command', stoppedAt: Date.now() - 60_000 }));
  const mixing = await store.createRecording({ ...meta, guildId: '1', startedAt: Date.now() - 100_000 });
  await store.updateRecording(mixing.id, (r) => ({ ...r, state: 'mixing', stopReason: 'command', stoppedAt: Date.now() - 50_000 }));
  await store.close();
  ids.stuck = stuck.id;
  ids.mixing = mixing.id;
  // A disk problem confined to one recording: its metadata can no longer be written, so it can be neither
  // finished nor marked failed.
  await mkdir(path.join(dir, 'recordings', stuck.id, 'meta.json.tmp'), { recursive: true });
  bot = await startBotAgainst(sim, { dataDir: dir, log: silentLogger() });
}, 60_000);

afterAll(async () => {
  await bot?.stop();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function reply(record: InteractionRecord): Promise<string> {
  return until(
    () =>
      sim.log
        .rest()
        .filter((e) => e.interactionId === record.id && e.status < 300 && e.method !== 'GET')
        .map((e) => e.body as { content?: string; data?: { content?: string } } | undefined)
        .map((b) => b?.data?.content ?? b?.content ?? '')
        .filter((t) => t.length > 0)
        .at(-1),
    `an answer to /${record.text}`,
    30_000,
  );
}

test('an interrupted recording the bot can finish from disk is finished and the host gets the link', async () => {
  const recording = await bot?.store.getRecording(ids.mixing);
  expect(recording?.state).toBe('ready');
  expect(sim.dmsTo(host).some((m) => m.content.includes(ids.mixing) && /\/r\//.test(m.content))).toBe(true);
});

test('one that cannot even be finished: the host is told in the room, and can delete it', async () => {
  const notice = sim.messagesIn(sim.voiceChannelId).find((m) => m.content.includes(ids.stuck));
  expect(notice?.content).toMatch(/couldn't finish it/);
  expect(notice?.content).toContain(`/recordings delete ${ids.stuck}`);
  expect(notice?.content).not.toMatch(/\/r\//);
  expect((await bot?.store.getRecording(ids.stuck))?.state).toBe('stopping');

  const answer = await reply(sim.slash(host, `recordings delete ${ids.stuck}`));
  expect(answer).toMatch(/Deleted recording/);
  expect(await bot?.store.getRecording(ids.stuck)).toBeUndefined();
  expect(existsSync(path.join(dir, 'recordings', ids.stuck))).toBe(false);
});

test('a recording being made right now still cannot be deleted', async () => {
  if (!bot) throw new Error('the bot did not start');
  await joinAndSeen({ sim, bot, ownsSim: true }, host);
  await reply(sim.slash(host, 'record start'));
  const live = bot?.rooms.current(sim.guildId)?.recordingId ?? '';
  expect(live).not.toBe('');
  const answer = await reply(sim.slash(host, `recordings delete ${live}`));
  expect(answer).toMatch(/still being recorded/);
  expect((await bot?.store.getRecording(live))?.state).toBe('recording');
});
