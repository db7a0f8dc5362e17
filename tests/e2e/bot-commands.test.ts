// Slash commands, consent reactions and the DM flows of the real bot against the local Discord stand-in.
// Each test has a bot and a stand-in of its own (about 50 ms to start), and makes the room it needs: none
// depends on another having run, or on the order they run in.
import { existsSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { CONSENT_EMOJI } from '../../src/bot/consent.ts';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim, joinAndSeen, startBotWithPeople } from '../helpers/bot-env.ts';
import type { InteractionRecord } from '../../discord-sim/index.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let ids: Record<string, string> = {};

beforeEach(async () => {
  ({ dir, env, ids } = await startBotWithPeople('roomrec-e2e-commands-', ['Hana', 'Ivan', 'Zoe', 'Dana'], { dmsClosed: ['Dana'] }));
}, 60_000);

afterEach(() => closeBotInSim(env, dir));

/** The last thing the bot said in answer to an interaction (reply, edited deferral or follow-up). */
function answer(record: InteractionRecord, timeoutMs = 30_000): Promise<{ text: string; ephemeral: boolean }> {
  return until(
    () => {
      const said = env.sim.log
        .rest()
        .filter((e) => e.interactionId === record.id && e.status < 300 && e.method !== 'GET')
        .map((e) => {
          const body = e.body as { content?: string; flags?: number; data?: { content?: string; flags?: number } } | undefined;
          return { text: body?.data?.content ?? body?.content ?? '', flags: body?.data?.flags ?? body?.flags ?? 0 };
        })
        .filter((m) => m.text.length > 0);
      const last = said.at(-1);
      return last ? { text: last.text, ephemeral: record.ephemeral || (last.flags & 64) === 64 } : undefined;
    },
    `an answer to /${record.text}`,
    timeoutMs,
  );
}

async function slash(user: string, text: string) {
  return answer(env.sim.slash(ids[user] ?? '', text));
}

const dmTexts = (user: string) => env.sim.dmsTo(ids[user] ?? '').map((m) => m.content);
const consentMessage = () => env.sim.consentMessage();

/** Hana records the voice channel; resolves with the recording's id. */
async function hanaRecords(): Promise<string> {
  await joinAndSeen(env, ids.hana ?? '');
  expect((await slash('hana', 'record start')).text).toMatch(/Recording <#\d+>/);
  return (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
}

/** Ivan joins Hana's room and opts in by reaction; resolves once the bot records him (the consent message says so). */
async function ivanOptsIn(): Promise<void> {
  await joinAndSeen(env, ids.ivan ?? '');
  env.sim.reactToConsent(ids.ivan ?? '');
  await untilListed(env.sim, ['Ivan']);
}

/** A finished recording of Hana's, Ivan recorded in it, its link DM'd to her: what the library commands work on. */
async function hanasFinishedRecording(): Promise<string> {
  const recordingId = await hanaRecords();
  await ivanOptsIn();
  const before = dmTexts('hana').length;
  expect((await slash('hana', 'record stop')).text).toMatch(/Stopping/);
  await until(() => dmTexts('hana')[before], 'the link DM');
  await until(
    async () => ((await env.bot.store.getRecording(recordingId))?.state === 'ready' ? true : undefined),
    'the recording to be ready',
  );
  return recordingId;
}

describe('refusals are private and say why', () => {
  test('/record start outside a voice channel', async () => {
    const reply = await slash('hana', 'record start');
    expect(reply.ephemeral).toBe(true);
    expect(reply.text).toMatch(/Join a voice channel first/);
  });

  test('/record start where the bot lacks Connect names the missing permission', async () => {
    env.sim.setBotOverwrite(env.sim.otherVoiceChannelId, { deny: ['Connect'] });
    await joinAndSeen(env, ids.ivan ?? '', env.sim.otherVoiceChannelId);
    const reply = await slash('ivan', 'record start');
    expect(reply.ephemeral).toBe(true);
    expect(reply.text).toMatch(/missing these permissions/);
    expect(reply.text).toContain('**Connect**');
    expect(reply.text).not.toContain('Send Messages');
    expect(env.sim.world.voiceStates.get(env.sim.botUserId)).toBeUndefined();
  });
});

describe('a recording with consent by reaction', () => {
  test('/record start joins, posts the consent message in the room and adds the opt-in reaction', async () => {
    await joinAndSeen(env, ids.hana ?? '');
    const reply = await slash('hana', 'record start');
    expect(reply.ephemeral).toBe(true);
    expect(reply.text).toMatch(/Recording <#\d+>/);
    const consent = consentMessage();
    expect(consent?.message.content).toContain(`<@${ids.hana}> is recording this room`);
    expect(consent?.message.content).toContain(`react with ${CONSENT_EMOJI}`);
    expect(consent?.message.content).toContain('deleted after 30 days');
    expect(consent?.reactions.get(CONSENT_EMOJI)).toEqual([env.sim.botUserId]);
    expect(env.sim.world.voiceStates.get(env.sim.botUserId)?.channelId).toBe(env.sim.voiceChannelId);
    expect(env.sim.world.channels.get(env.sim.voiceChannelId)?.status).toMatch(/Recording/);
    // The recording indicator: discord.js sends PATCH /guilds/:id/members/%40me, which must reach the route.
    expect(env.sim.world.botNick).toBe('🔴 REC roomrec');
    expect(
      env.sim.log
        .rest()
        .filter((e) => e.route === '/guilds/:guild/members/@me')
        .map((e) => [e.method, e.status, (e.body as { nick?: unknown }).nick]),
    ).toEqual([['PATCH', 200, '🔴 REC roomrec']]);
    const active = await env.bot.store.activeRecordingForGuild(env.sim.guildId);
    expect(active?.consentMessageId).toBe(consent?.message.id);
  });

  test('a second /record start elsewhere in the server is refused', async () => {
    await hanaRecords();
    await joinAndSeen(env, ids.ivan ?? '', env.sim.otherVoiceChannelId);
    const reply = await slash('ivan', 'record start');
    expect(reply.text).toMatch(/already recording <#\d+>/);
  });

  test('/record stop by someone who is not the host (and cannot manage channels) is refused', async () => {
    await hanaRecords();
    await joinAndSeen(env, ids.ivan ?? '');
    const reply = await slash('ivan', 'record stop');
    expect(reply.ephemeral).toBe(true);
    expect(reply.text).toMatch(/Only the host/);
    expect(env.bot.rooms.current(env.sim.guildId)).toBeDefined();
  });

  test('a reaction by someone outside the room is ignored; one by a member of the room is consent', async () => {
    const recordingId = await hanaRecords();
    await joinAndSeen(env, ids.ivan ?? '');
    env.sim.reactToConsent(ids.zoe ?? '');
    env.sim.reactToConsent(ids.ivan ?? '');
    const status = await until(() => {
      const room = env.bot.rooms.current(env.sim.guildId);
      return room && room.recording.length > 0 ? room : undefined;
    }, 'Ivan to be recorded');
    expect(status.recording).toEqual(['Ivan']);
    await until(
      () => (consentMessage()?.message.content.includes('**Being recorded:** Ivan') ? true : undefined),
      'the consent message to list Ivan',
    );
    const stored = await env.bot.store.getRecording(recordingId);
    expect(stored?.speakers.map((s) => s.userId)).toEqual([ids.ivan]);
    const reply = await slash('hana', 'record status');
    expect(reply.text).toContain('**Being recorded:** Ivan');
  });

  test('the host asking for the link by DM while recording is told it is not finished', async () => {
    await hanaRecords();
    env.sim.sendDm(ids.hana ?? '', 'download');
    const text = await until(() => dmTexts('hana').at(-1), 'a DM answer');
    expect(text).toMatch(/isn't finished yet/);
    expect(text).not.toMatch(/https?:/);
  });

  test('/record stop by the host: the bot leaves, the host gets the link by DM', async () => {
    const recordingId = await hanaRecords();
    await ivanOptsIn();
    const before = dmTexts('hana').length;
    const sentAt = performance.now();
    const reply = await slash('hana', 'record stop');
    expect(reply.text).toMatch(/Stopping/);
    const dm = await until(() => dmTexts('hana')[before], 'the link DM');
    const stopToDmMs = performance.now() - sentAt;
    console.info(`stop → link DM: ${Math.round(stopToDmMs)} ms`);
    expect(dm).toContain(`recording \`${recordingId}\``);
    expect(dm).toMatch(/http:\/\/127\.0\.0\.1:\d+\/r\/[A-Za-z0-9_-]+/);
    expect(dm).toContain('Recorded: Ivan');
    await until(() => (env.sim.world.voiceStates.get(env.sim.botUserId) ? undefined : true), 'the bot to leave voice');
    await until(
      () => (consentMessage()?.message.content.includes('Recording ended') ? true : undefined),
      'the consent message to say it ended',
    );
    expect(env.sim.world.channels.get(env.sim.voiceChannelId)?.status ?? null).toBeNull();
    expect(env.sim.world.botNick).toBeNull();
    expect(
      env.sim.log
        .rest()
        .filter((e) => e.route === '/guilds/:guild/members/@me')
        .map((e) => [e.status, (e.body as { nick?: unknown }).nick]),
    ).toEqual([
      [200, '🔴 REC roomrec'],
      [200, null],
    ]);
    expect((await env.bot.store.getRecording(recordingId))?.state).toBe('ready');
  });
});

describe("a host's recordings", () => {
  test('/recordings list shows the host their recordings with deletion dates, and others none', async () => {
    const recordingId = await hanasFinishedRecording();
    const mine = await slash('hana', 'recordings list');
    expect(mine.ephemeral).toBe(true);
    expect(mine.text).toContain(`\`${recordingId}\``);
    expect(mine.text).toMatch(/deleted <t:\d+:D>/);
    const theirs = await slash('ivan', 'recordings list');
    expect(theirs.text).toMatch(/no stored recordings/);
  });

  test('/recordings download: a fresh link by DM for the host, a refusal for anyone else', async () => {
    const recordingId = await hanasFinishedRecording();
    const refused = await slash('ivan', `recordings download ${recordingId}`);
    expect(refused.text).toMatch(/You have no recording/);
    expect(dmTexts('ivan').some((t) => t.includes('http'))).toBe(false);

    const before = dmTexts('hana').length;
    const ok = await slash('hana', `recordings download ${recordingId}`);
    expect(ok.text).toMatch(/sent you a fresh download link/);
    const dm = await until(() => dmTexts('hana')[before], 'the fresh link');
    expect(dm).toMatch(/\/r\//);
  });

  test('a stranger DMing `download <id>` is refused politely, without a link', async () => {
    const recordingId = await hanasFinishedRecording();
    env.sim.sendDm(ids.zoe ?? '', `download ${recordingId}`);
    const text = await until(() => dmTexts('zoe').at(-1), 'the refusal');
    expect(text).toMatch(/only send a recording to the host/);
    expect(text).not.toMatch(/https?:/);
  });

  test('/recordings delete removes files and metadata; the old link then answers 410', async () => {
    const recordingId = await hanasFinishedRecording();
    const link = /(http:\/\/\S+\/r\/[A-Za-z0-9_-]+)/.exec(dmTexts('hana').join('\n'))?.[1] ?? '';
    expect((await fetch(link)).status).toBe(200);
    expect((await slash('ivan', `recordings delete ${recordingId}`)).text).toMatch(/You have no recording/);
    const reply = await slash('hana', `recordings delete ${recordingId}`);
    expect(reply.text).toMatch(/Deleted recording/);
    expect(existsSync(env.bot.store.layout.recordingDir(recordingId))).toBe(false);
    expect(await env.bot.store.getRecording(recordingId)).toBeUndefined();
    expect((await fetch(link)).status).toBe(410);
  });
});

describe('a host whose DMs are closed', () => {
  test('is told in the room chat, with a mention and without the link', async () => {
    await joinAndSeen(env, ids.dana ?? '');
    expect((await slash('dana', 'record start')).text).toMatch(/Recording/);
    const before = env.sim.messagesIn(env.sim.voiceChannelId).length;
    expect((await slash('dana', 'record stop')).text).toMatch(/Stopping/);
    const notice = await until(
      () =>
        env.sim
          .messagesIn(env.sim.voiceChannelId)
          .slice(before)
          .find((m) => m.content.includes("can't send you direct messages")),
      'the closed-DM notice',
    );
    expect(notice.content).toContain(`<@${ids.dana}>`);
    expect(notice.content).not.toMatch(/https?:/);
    expect(env.sim.dmsTo(ids.dana ?? '')).toEqual([]);
  });
});

describe('a member with Manage Channels', () => {
  test("can stop a recording they don't host; the host still gets the link", async () => {
    await joinAndSeen(env, ids.hana ?? '');
    await joinAndSeen(env, ids.ivan ?? '');
    expect((await slash('hana', 'record start')).text).toMatch(/Recording/);
    const refused = await slash('zoe', 'record stop');
    expect(refused.ephemeral).toBe(true);
    expect(refused.text).toMatch(/Only the host/);

    const role = env.sim.grantRole(ids.ivan ?? '', ['ManageChannels']);
    await until(
      () => (env.bot.client.guilds.cache.get(env.sim.guildId)?.roles.cache.has(role) ? true : undefined),
      "the new role in the bot's cache",
    );
    const before = dmTexts('hana').length;
    const accepted = await slash('ivan', 'record stop');
    expect(accepted.ephemeral).toBe(true);
    expect(accepted.text).toContain(`Stopping. The host (<@${ids.hana}>) gets the download link by DM.`);
    const dm = await until(() => dmTexts('hana')[before], 'the link DM');
    expect(dm).toContain(`stopped by <@${ids.ivan}>`);
    expect(dm).toMatch(/\/r\//);
    expect(dmTexts('ivan').some((t) => t.includes('http'))).toBe(false);
    expect(env.bot.rooms.current(env.sim.guildId)).toBeUndefined();
  });
});
