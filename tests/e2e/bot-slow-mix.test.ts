// A stop whose mix is slow (a full re-mix after a withdrawal or a restart): the host gets the link within
// seconds anyway, while the recording is still 'mixing', and one short DM when the mix is ready or has failed;
// `/record status` says the room is being prepared. The real bot against the stand-in, with the mixer injected
// so the test decides when the mix ends, and the early link's timer on manual time, so the test also decides when
// "3 s after the stop" has come: how busy the machine is never picks the path.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mixTracks } from '../../src/audio/mixer.ts';
import { silentLogger } from '../../src/log.ts';
import type { MixFunction } from '../../src/recording/stop-pipeline.ts';
import { startBotAgainst, startSimForBot, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen } from '../helpers/bot-env.ts';
import { until } from '../helpers/until.ts';
import { manualTime } from '../helpers/manual-time.ts';
import { answersTo } from '../helpers/interaction-answers.ts';

let dir: string;
let env: BotInSim;
let hana = '';
const early = manualTime();
/** The stop is waiting for its early-link moment; make it come. */
async function earlyLinkDue(): Promise<void> {
  await until(() => (early.pending() > 0 ? true : undefined), 'the early-link timer');
  await early.advance(3000);
}

/** The injected mixer: runs the real one once the test releases it (or fails it). */
let gate: { mode: 'fast' } | { mode: 'held'; waiting: ((outcome: Error | undefined) => void)[] } = { mode: 'fast' };
const mix: MixFunction = async (job) => {
  if (gate.mode === 'held') {
    const waiting = gate.waiting;
    const failure = await new Promise<Error | undefined>((resolve) => waiting.push(resolve));
    if (failure) throw failure;
  }
  return mixTracks(job);
};
const hold = () => (gate = { mode: 'held', waiting: [] });
const release = (failure?: Error) => {
  if (gate.mode === 'held') for (const resolve of gate.waiting) resolve(failure);
  gate = { mode: 'fast' };
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-slow-mix-'));
  const sim = await startSimForBot({ users: [{ username: 'hana', globalName: 'Hana' }] });
  const bot = await startBotAgainst(sim, { dataDir: dir, log: silentLogger(), startBot: { mix, earlyLinkTimers: early.timers } });
  env = { sim, bot, ownsSim: true };
  hana = sim.userByName('hana').id;
  await joinAndSeen(env, hana);
}, 60_000);

afterAll(async () => {
  release();
  await closeBotInSim(env, dir);
});

/** The bot's last answer to a slash command. */
async function slash(text: string): Promise<string> {
  const record = env.sim.slash(hana, text);
  return until(() => answersTo(env.sim, record).at(-1), `an answer to /${text}`);
}

const dms = () => env.sim.dmsTo(hana).map((m) => m.content);
const linkIn = (text: string) => /(http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';

/** Starts a room with Hana recorded; resolves with its id. */
async function recordingRoom(): Promise<string> {
  expect(await slash('record start')).toMatch(/Recording <#\d+>/);
  env.sim.reactToConsent(hana);
  await until(() => (env.bot.rooms.current(env.sim.guildId)?.recording.length ? true : undefined), 'Hana to be recorded');
  return (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
}

describe('the link within seconds of the stop, whatever the mix takes', () => {
  test('a slow mix: the link while mixing, status says so, then one DM when the mix is ready', async () => {
    const id = await recordingRoom();
    const before = dms().length;
    const messagesBefore = env.sim.messagesIn(env.sim.voiceChannelId).length;
    hold();
    expect(await slash('record stop')).toMatch(/Stopping/);
    await earlyLinkDue();

    const early = await until(() => dms()[before], 'the early link DM');
    expect(early).toContain(`recording \`${id}\``);
    expect(early).toMatch(/mix is still being prepared/);
    expect((await env.bot.store.getRecording(id))?.state).toBe('mixing');
    const page = await fetch(linkIn(early));
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/The mix is being made/);

    const status = await slash('record status');
    expect(status).toMatch(/Stopped recording <#\d+>; preparing it: mixing/);
    expect(status).toMatch(/link already went to/);
    expect(status).not.toMatch(/Not recording/);
    expect(await slash('record start')).toMatch(/still being prepared/);

    // The progress message appears after 2 s and says the host already has the link.
    const progress = await until(
      () =>
        env.sim
          .messagesIn(env.sim.voiceChannelId)
          .slice(messagesBefore)
          .find((m) => m.content.startsWith('⏳')),
      'the progress message',
    );
    await until(
      () => (env.sim.world.messages.get(progress.id)?.message.content.includes('The link already went out by DM') ? true : undefined),
      'the progress line to mention the link',
    );

    release();
    const followUp = await until(() => dms()[before + 1], 'the mix-ready DM');
    expect(followUp).toMatch(new RegExp(`mix of your recording \`${id}\` is ready`));
    expect(followUp).not.toMatch(/https?:/);
    expect((await env.bot.store.getRecording(id))?.state).toBe('ready');
    expect(await (await fetch(linkIn(early))).text()).toMatch(/<audio id="mix" /);
    await until(
      () =>
        env.sim.world.messages.get(progress.id)?.message.content.startsWith('✅ Recording ready. The link went to') ? true : undefined,
      'the progress message to end',
    );
    await until(() => (env.bot.rooms.stopping(env.sim.guildId) ? undefined : true), 'the stop to be over');
    expect(dms().length).toBe(before + 2);
  });

  test('a slow mix that fails: the link while mixing, then a DM that the mix failed and the tracks remain', async () => {
    const id = await recordingRoom();
    const before = dms().length;
    hold();
    await slash('record stop');
    await earlyLinkDue();
    expect(await until(() => dms()[before], 'the early link DM')).toMatch(/still being prepared/);
    release(new Error('encoder crashed'));
    const followUp = await until(() => dms()[before + 1], 'the mix-failed DM');
    expect(followUp).toContain(`\`${id}\` could not be made (encoder crashed)`);
    expect(followUp).toMatch(/tracks are complete/);
    expect((await env.bot.store.getRecording(id))?.state).toBe('failed');
    await until(() => (env.bot.rooms.stopping(env.sim.guildId) ? undefined : true), 'the stop to be over');
  });

  test('a quick mix: one DM with the link, as before', async () => {
    const id = await recordingRoom();
    const before = dms().length;
    await slash('record stop');
    const dm = await until(() => dms()[before], 'the link DM');
    expect(dm).toContain(`Your recording \`${id}\``);
    expect(dm).toMatch(/is ready/);
    expect(dm).not.toMatch(/still being prepared/);
    await until(() => (env.bot.rooms.stopping(env.sim.guildId) ? undefined : true), 'the stop to be over');
    // The early-link timer was cleared when the link went out: nothing more can come.
    expect(early.pending()).toBe(0);
    expect(dms().length).toBe(before + 1);
  });
});
