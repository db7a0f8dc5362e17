// Speakers in control of their own voice, with the real bot against the local Discord stand-in: each speaker who
// was heard is DM'd at the stop (unless they said `notify off`), `mine` and `/recordings mine` list the recordings
// that hold their voice, and `my track <id>` links to a page of their own track that opens nothing else. Someone
// who never opted in, or asks about someone else's recording, learns nothing.
import { readFile, rm } from 'node:fs/promises';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { speechFromPcm, tonePcm } from '../../discord-sim/index.ts';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { NO_RECORDINGS_OF_YOURS, NO_TRACK_OF_YOURS, NOTIFY_OFF } from '../../src/bot/speaker-notice.ts';
import { trackHasSound } from '../../src/recording/speaker-voice.ts';
import { DAY_MS } from '../../src/storage/retention.ts';
import { formatDuration } from '../../src/text/format.ts';
import { closeBotInSim, joinAndSeen, startBotWithPeople } from '../helpers/bot-env.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let ids: Record<string, string> = {};

beforeEach(async () => {
  ({ dir, env, ids } = await startBotWithPeople('roomrec-e2e-speakers-', ['Hana', 'Ivan', 'Jon', 'Kim', 'Dana', 'Zoe', 'Xena'], {
    dmsClosed: ['Dana'],
  }));
}, 60_000);

afterEach(() => closeBotInSim(env, dir));

const id = (user: string) => ids[user] ?? '';
const dmTexts = (user: string) => env.sim.dmsTo(id(user)).map((m) => m.content);
const tone = (frequency: number) => speechFromPcm(tonePcm({ seconds: 0.6, frequency, amplitude: 0.4 }));

/** What the bot answers `user`'s DM. */
async function dm(user: string, text: string): Promise<string> {
  const before = dmTexts(user).length;
  env.sim.sendDm(id(user), text);
  return until(() => dmTexts(user)[before], `an answer to the DM "${text}"`);
}

/**
 * Hana hosts (without opting in herself); `talkers` opt in and each says a tone, `silent` opt in and say nothing,
 * Zoe listens and never opts in. Stops once every tone is in its track, and resolves, the host told and the
 * work after the stop done, with the stored recording.
 */
async function room(talkers: readonly string[], silent: readonly string[] = []) {
  for (const user of ['hana', 'zoe', ...talkers, ...silent]) await joinAndSeen(env, id(user));
  const start = env.sim.slash(id('hana'), 'record start');
  await until(() => answersTo(env.sim, start)[0], 'the start');
  const listed: string[] = [];
  for (const user of [...talkers, ...silent]) {
    env.sim.reactToConsent(id(user));
    listed.push(env.sim.userByName(user).globalName ?? user);
    await untilListed(env.sim, listed);
  }
  await env.sim.dave.settled();
  const recordingId = (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
  await Promise.all(talkers.map((user, i) => env.sim.speak(id(user), tone(330 + 110 * i)).done));
  for (const user of talkers) {
    await until(async () => {
      const speaker = (await env.bot.store.getRecording(recordingId))?.speakers.find((s) => s.userId === id(user));
      const file = speaker && env.bot.store.layout.file(recordingId, speaker.trackFile);
      return file && (await trackHasSound(file).catch(() => false)) ? true : undefined;
    }, `${user}'s tone in their track`);
  }
  const linksBefore = dmTexts('hana').length;
  env.sim.slash(id('hana'), 'record stop');
  await until(() => dmTexts('hana')[linksBefore], 'the link DM');
  await until(async () => ((await env.bot.store.getRecording(recordingId))?.state === 'ready' ? true : undefined), 'ready');
  await env.bot.background.idle();
  const recording = await env.bot.store.getRecording(recordingId);
  if (!recording) throw new Error('no recording');
  return recording;
}

test("each speaker heard is DM'd once, after the host's link, with their own time and the deletion date; nobody else is, and notify off holds", async () => {
  const recording = await room(['ivan', 'jon', 'dana'], ['kim']);
  const events = await env.bot.store.consentEvents(recording.id);
  const stoppedAt = recording.stoppedAt ?? NaN;
  const deletion = `<t:${Math.floor((stoppedAt + 30 * DAY_MS) / 1000)}:D>`;
  const hostLink = env.sim.dmsTo(id('hana')).at(-1);
  for (const user of ['ivan', 'jon']) {
    const [notice, ...more] = env.sim.dmsTo(id(user));
    expect(more).toEqual([]);
    const grantedAt = events.find((e) => e.userId === id(user) && e.event === 'granted')?.at ?? NaN;
    const text = notice?.content ?? '';
    expect(text).toContain(`You were recorded for ${formatDuration(stoppedAt - grantedAt)} in **`);
    expect(text).toContain(env.sim.world.channels.get(env.sim.voiceChannelId)?.name ?? '?');
    expect(text).toContain('hosted by **Hana**');
    expect(text).toContain(`It is deleted ${deletion}.`);
    for (const command of [
      '`mine`',
      `\`my track ${recording.id}\``,
      `\`forget ${recording.id}\``,
      `\`reuse on ${recording.id}\``,
      '`notify off`',
    ]) {
      expect(text).toContain(command);
    }
    // Names only the room and its host: not one of the other speakers.
    for (const other of ['Ivan', 'Jon', 'Kim', 'Dana', 'Zoe'].filter((n) => n.toLowerCase() !== user)) expect(text).not.toContain(other);
    // After the host's link: message ids are snowflakes, in the order the stand-in stored them.
    expect(BigInt(notice?.id ?? 0)).toBeGreaterThan(BigInt(hostLink?.id ?? Infinity));
  }
  // Kim opted in but said nothing; Zoe never opted in; Dana's DMs are closed, and nothing is said of her in the room.
  expect(dmTexts('kim')).toEqual([]);
  expect(dmTexts('zoe')).toEqual([]);
  expect(dmTexts('dana')).toEqual([]);
  const posted = [env.sim.voiceChannelId, env.sim.world.textChannelId].flatMap((c) => env.sim.messagesIn(c).map((m) => m.content));
  expect(posted.filter((text) => text.includes(`<@${id('dana')}>`) || /direct message|DMs/i.test(text))).toEqual([]);
  // The host, who did not opt in, has their link and nothing else.
  expect(dmTexts('hana')).toHaveLength(1);

  expect(await dm('ivan', 'notify off')).toBe(NOTIFY_OFF);
  const second = await room(['ivan', 'jon']);
  expect(dmTexts('ivan').filter((t) => t.includes(second.id))).toEqual([]);
  expect(dmTexts('jon').filter((t) => t.includes('You were recorded') && t.includes(second.id))).toHaveLength(1);
}, 120_000);

test("mine lists exactly the recordings with one's voice; my track opens one's own track and nothing else; a stranger learns nothing", async () => {
  const recording = await room(['ivan', 'jon']);

  const mine = await dm('ivan', 'mine');
  expect(mine).toMatch(
    new RegExp(
      `^\\*\\*Recordings that hold your voice\\*\\*.*\\n• \`${recording.id}\` · <t:\\d+:f> · .* · hosted by Hana · deleted <t:\\d+:D>\\n`,
    ),
  );
  expect(mine).not.toMatch(/Jon|Zoe/);
  const slash = env.sim.slash(id('ivan'), 'recordings mine');
  expect(await until(() => answersTo(env.sim, slash)[0], '/recordings mine')).toBe(mine);
  expect(
    slash.ephemeral ||
      env.sim.log.rest().some((e) => e.interactionId === slash.id && ((e.body as { data?: { flags?: number } })?.data?.flags ?? 0) & 64),
  ).toBeTruthy();
  // The listener, the host (who did not opt in) and a stranger: nothing holds their voice.
  for (const user of ['zoe', 'hana', 'xena']) expect(await dm(user, 'mine')).toBe(NO_RECORDINGS_OF_YOURS);

  const answer = await dm('ivan', `my track ${recording.id.toUpperCase()}`);
  const link = /(http:\/\/\S+\/r\/[A-Za-z0-9_-]+)/.exec(answer)?.[1] ?? '';
  expect(link).not.toBe('');
  expect(answer).not.toMatch(/Jon|Zoe/);
  const ivan = recording.speakers.find((s) => s.userId === id('ivan'));
  const page = await fetch(`${link}/`);
  expect(page.status).toBe(200);
  const html = await page.text();
  expect(html).toContain('Ivan&#39;s track');
  expect(html).not.toMatch(/Jon|Zoe|mix|all\.zip|receipt\.txt|tracks\//);
  // Their own consent events only: one opt-in.
  expect(html.match(/opted in/g)).toHaveLength(1);
  const track = await fetch(`${link}/track`);
  expect(track.status).toBe(200);
  expect(track.headers.get('content-disposition')).toMatch(/filename="Ivan\.ogg"/);
  expect(Buffer.from(await track.arrayBuffer())).toEqual(await readFile(env.bot.store.layout.file(recording.id, ivan?.trackFile ?? '')));
  const flac = await fetch(`${link}/track.flac`);
  expect([200, 202]).toContain(flac.status);
  await flac.body?.cancel();
  const jonNumber = recording.speakers.findIndex((s) => s.userId === id('jon')) + 1;
  const ivanNumber = recording.speakers.findIndex((s) => s.userId === id('ivan')) + 1;
  for (const other of [
    'mix',
    'mix?download',
    'mix.flac',
    'mix-levelled',
    'all.zip',
    'all-flac.zip',
    'receipt.txt',
    'audacity.lof',
    'reaper.rpp',
    `tracks/${jonNumber}`,
    `tracks/${ivanNumber}`,
    `tracks/${ivanNumber}.flac`,
    'track.xyz',
    'track/',
  ]) {
    const response = await fetch(`${link}/${other}`);
    expect([other, response.status]).toEqual([other, 404]);
    await response.body?.cancel();
  }
  // The host's own link still opens everything.
  const hostLink = /(http:\/\/\S+\/r\/[A-Za-z0-9_-]+)/.exec(dmTexts('hana').join('\n'))?.[1] ?? '';
  expect((await fetch(`${hostLink}/all.zip`, { method: 'HEAD' })).status).toBe(200);

  // Their track gone (deleted by hand here): their page and their track answer 410.
  await rm(env.bot.store.layout.file(recording.id, ivan?.trackFile ?? ''));
  for (const key of ['', 'track', 'track.flac']) expect([key, (await fetch(`${link}/${key}`)).status]).toEqual([key, 410]);

  // The same answer for someone else's recording, one with no track of theirs, an unknown id and a non-id.
  for (const [user, text] of [
    ['zoe', `my track ${recording.id}`],
    ['hana', `my track ${recording.id}`],
    ['xena', `my track ${recording.id}`],
    ['ivan', 'my track aaaaaaaaaa'],
    ['ivan', 'my track ../../etc'],
  ] as const) {
    expect([user, text, await dm(user, text)]).toEqual([user, text, NO_TRACK_OF_YOURS]);
  }
}, 120_000);
