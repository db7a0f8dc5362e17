// Discord invalidates the bot's voice session mid-room (close code 4006): the bot must rejoin through the main
// gateway and go on recording the same room on the same time base. The outage is silence of its real length
// in the speaker's track, and words said after it land where they were said.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { speechFromPcm } from '../../discord-sim/index.ts';
import { decodeOggOpusFile, locate, RATE, rms, toMono } from '../helpers/audio.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { demoClip } from '../helpers/scenario-clips.ts';
import { untilOnDisk } from '../helpers/track-on-disk.ts';
import { until } from '../helpers/until.ts';

const SESSION_NO_LONGER_VALID = 4006;

let dir: string;
let env: BotInSim;
// The bot's wall clock is the stand-in's clock shifted to the epoch, so sent and stored times compare exactly.
const epochBase = Date.now() - performance.now();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-voice-reconnect-'));
  env = await startBotInSim({
    dataDir: dir,
    log: silentLogger(),
    now: () => Math.round(epochBase + performance.now()),
    sim: { users: [{ username: 'host', globalName: 'Host' }] },
  });
}, 60_000);

afterAll(() => closeBotInSim(env, dir));

test('a forced voice disconnect (4006) mid-room: the bot rejoins, the recording continues, the gap is silence', async () => {
  const { sim, bot } = env;
  const host = sim.userByName('host').id;
  const before = await demoClip('alice', 0, 1.5);
  const after = await demoClip('carol', 0, 1.5);

  await joinAndSeen(env, host);
  sim.slash(host, 'record start');
  await until(() => sim.consentMessage() ?? undefined, 'the consent message');
  sim.reactToConsent(host);
  // Not as soon as the room lists her (it does at once), but once the consent message does: her consent is
  // stored and she is heard.
  await untilListed(sim, ['Host']);
  const recordingId = bot.rooms.current(sim.guildId)?.recordingId ?? '';
  const live = await bot.store.getRecording(recordingId);
  const trackFile = bot.store.layout.file(recordingId, live?.speakers[0]?.trackFile ?? '');
  const soFar = (simMs: number) => (epochBase + simMs - (live?.startedAt ?? NaN)) / 1000;

  // Heard only once the call's encryption group has taken the bot in (else her first words are undecryptable).
  await sim.dave.settled();
  const beforeAt = sim.clock() + 200;
  await sim.speak(host, speechFromPcm(before.pcm), { at: beforeAt }).done;
  // Disconnected once the bot has written the words (its pages reach the disk at least once a second).
  await untilOnDisk(trackFile, soFar(beforeAt) + 1.5, 'the words before the outage');

  const sessionsBefore = sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'session-description').length;
  const downAt = sim.clock();
  sim.disconnectBotVoice(SESSION_NO_LONGER_VALID);
  // A new session: op 4 on the main gateway, a new VOICE_SERVER_UPDATE, Identify and Select Protocol again.
  await until(
    () =>
      sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'session-description').length > sessionsBefore ? true : undefined,
    'the bot to rejoin voice',
  );
  // A new voice session is a new DAVE member: heard again once the call's group has taken it in, which is when
  // the room's voice privacy code is the group's.
  await sim.dave.settled();
  const group = sim.dave.group();
  if (group) {
    await until(
      () => (bot.rooms.current(sim.guildId)?.e2ee?.privacyCode === group.privacyCode() ? true : undefined),
      "the room's voice privacy code to be the group's",
    );
  }
  const upAt = sim.clock();
  expect(bot.rooms.current(sim.guildId)?.recordingId).toBe(recordingId);
  expect(bot.rooms.current(sim.guildId)?.recording).toEqual(['Host']);

  const afterAt = Math.max(upAt, downAt + 1000) + 300;
  await sim.speak(host, speechFromPcm(after.pcm), { at: afterAt }).done;
  await untilOnDisk(trackFile, soFar(afterAt) + 1.5, 'the words after the outage');
  const dmsBefore = sim.dmsTo(host).length;
  sim.slash(host, 'record stop');
  await until(() => sim.dmsTo(host)[dmsBefore]?.content, 'the link DM');

  const recording = await bot.store.getRecording(recordingId);
  expect(recording?.state).toBe('ready');
  expect(recording?.speakers).toHaveLength(1);
  const track = toMono((await decodeOggOpusFile(bot.store.layout.file(recordingId, recording?.speakers[0]?.trackFile ?? ''))).pcm);
  const position = (simMs: number) => (epochBase + simMs - (recording?.startedAt ?? NaN)) / 1000;

  // Words on both sides of the outage are where they were said (correlation with what was sent).
  for (const [reference, at] of [
    [before.reference, position(beforeAt)],
    [after.reference, position(afterAt)],
  ] as const) {
    const found = locate(track, reference, at);
    console.info(`word at ${at.toFixed(3)} s found at ${found.seconds.toFixed(4)} s (r=${found.correlation.toFixed(2)})`);
    expect(found.correlation).toBeGreaterThan(0.6);
    expect(Math.abs(found.seconds - at) * 1000).toBeLessThan(20);
  }
  // From the end of the first words to the start of the next, including the whole outage: digital silence,
  // kept at its real length rather than collapsed.
  const quietFrom = Math.round((position(beforeAt) + 1.5 + 0.05) * RATE);
  const quietTo = Math.round((position(afterAt) - 0.05) * RATE);
  expect(quietTo - quietFrom).toBeGreaterThan(RATE); // over a second of gap checked
  expect(rms(track, quietFrom, quietTo)).toBeLessThan(1e-4);
  expect(track.length / RATE).toBeGreaterThan(position(afterAt) + 1.4);
}, 60_000);
