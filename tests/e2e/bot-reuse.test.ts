// Consent to reuse with the real bot against the local Discord stand-in: ✅ records for the host only, 📣 also
// allows publishing and reuse (alone, it records too), removing 📣 keeps ✅; the choice, its wording and the
// wording's SHA-256 reach the consent message, the tracks' tags, the receipt and the page; `reuse off <id>` after
// the stop rewrites the tags and the receipt; the publishable mix holds only those who allow reuse, told by
// correlation with each speaker's words; a stranger learns nothing.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { speechFromPcm } from '../../discord-sim/index.ts';
import { scanOggOpus } from '../../src/audio/ogg-opus-reader.ts';
import { REUSE_NOT_YOURS } from '../../src/bot/dm-commands/reuse.ts';
import { REUSE_EMOJI } from '../../src/bot/reuse-reactions.ts';
import { CONSENT_TEXTS, sha256Hex } from '../../src/recording/consent-choice.ts';
import { correlation, decodeOggOpusFile, toMono, voice } from '../helpers/audio.ts';
import { closeBotInSim, joinAndSeen, startBotWithPeople } from '../helpers/bot-env.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let ids: Record<string, string> = {};

beforeEach(async () => {
  ({ dir, env, ids } = await startBotWithPeople('roomrec-e2e-reuse-', ['Hana', 'Ivan', 'Zoe', 'Kai', 'Olga']));
}, 60_000);

afterEach(() => closeBotInSim(env, dir));

const id = (user: string) => ids[user] ?? '';
const HOST_ONLY_SHA = sha256Hex(CONSENT_TEXTS.hostOnly);
const REUSE_SHA = sha256Hex(CONSENT_TEXTS.reuse);

async function slash(user: string, text: string): Promise<string> {
  const record = env.sim.slash(id(user), text);
  // A start joins voice and the encryption group first: on a loaded machine that alone has taken over 10 s.
  return until(() => answersTo(env.sim, record).at(-1), `an answer to /${text}`, 30_000);
}

/** What the bot answers `user`'s DM. */
async function dm(user: string, text: string): Promise<string> {
  const before = env.sim.dmsTo(id(user)).length;
  env.sim.sendDm(id(user), text);
  return until(() => env.sim.dmsTo(id(user))[before]?.content, `the answer to "${text}"`);
}

const consentText = () => env.sim.consentMessage()?.message.content ?? '';
const consentId = () => env.sim.consentMessage()?.message.id ?? '';

/** The consent message's line of who allows reuse, once it says `names`. */
async function untilReusing(names: string): Promise<void> {
  await until(() => (consentText().includes(`**OK to publish or reuse (📣):** ${names}\n`) ? true : undefined), `📣 to list ${names}`);
}

/** Each speaker's words: speech-like, a voice of their own, said in turn so each is alone in the mix meanwhile. */
const SEEDS: Record<string, number> = { ivan: 3, zoe: 7, kai: 11 };
function words(user: string) {
  const pcm = voice(1.5, SEEDS[user] ?? 1, 0.3);
  const left = new Float32Array(pcm.length / 2);
  const right = new Float32Array(pcm.length / 2);
  for (let i = 0; i < left.length; i++) {
    left[i] = (pcm[2 * i] ?? 0) / 32768;
    right[i] = (pcm[2 * i + 1] ?? 0) / 32768;
  }
  return speechFromPcm({ sampleRate: 48_000, channels: [left, right] });
}

/** A file under the link, once made: a format made on request answers 202 until then. */
async function madeFile(url: string, name: string): Promise<string> {
  const body = await until(
    async () => {
      const res = await fetch(url);
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
    },
    `${url} to be made`,
    60_000,
  );
  const file = path.join(dir, name);
  await writeFile(file, body);
  return file;
}

test('📣 and ✅ choices reach the consent message, /record status, the tags, the receipt and the page; reuse off after the stop rewrites them; the publishable mix has only those who allow reuse', async () => {
  for (const user of ['hana', 'ivan', 'zoe', 'kai']) await joinAndSeen(env, id(user));
  expect(await slash('hana', 'record start')).toMatch(/Recording <#\d+>/);
  // The bot offers both reactions.
  await until(() => (env.sim.consentMessage()?.reactions.get(REUSE_EMOJI)?.includes(env.sim.botUserId) ? true : undefined), "the bot's 📣");
  const recordingId = (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';

  // Ivan's 📣 alone records him, reuse allowed; then he takes the 📣 back and stays recorded, for the host only.
  env.sim.react(id('ivan'), consentId(), REUSE_EMOJI);
  await untilListed(env.sim, ['Ivan']);
  await untilReusing('Ivan');
  env.sim.unreact(id('ivan'), consentId(), REUSE_EMOJI);
  await untilReusing('nobody');
  // Zoe opts in with ✅ (host only), then adds 📣; Kai with 📣 alone.
  env.sim.reactToConsent(id('zoe'));
  await untilListed(env.sim, ['Ivan', 'Zoe']);
  env.sim.react(id('zoe'), consentId(), REUSE_EMOJI);
  await untilReusing('Zoe');
  env.sim.react(id('kai'), consentId(), REUSE_EMOJI);
  await untilListed(env.sim, ['Ivan', 'Kai', 'Zoe']);
  await untilReusing('Zoe, Kai');
  expect(await slash('hana', 'record status')).toContain('**OK to publish or reuse (📣):** Zoe, Kai');

  await env.sim.dave.settled();
  for (const user of ['ivan', 'zoe', 'kai']) await env.sim.speak(id(user), words(user), { at: env.sim.clock() + 300 }).done;

  const before = env.sim.dmsTo(id('hana')).length;
  expect(await slash('hana', 'record stop')).toMatch(/Stopping/);
  const link = await until(
    () => /https?:\/\/\S+\/r\/[A-Za-z0-9_-]+/.exec(env.sim.dmsTo(id('hana'))[before]?.content ?? '')?.[0],
    'the link',
  );
  const ready = await until(async () => {
    const r = await env.bot.store.getRecording(recordingId);
    return r?.state === 'ready' ? r : undefined;
  }, 'the recording to be ready');

  const trackOf = (user: string) =>
    env.bot.store.layout.file(recordingId, ready.speakers.find((s) => s.userId === id(user))?.trackFile ?? '');
  const tags = async (user: string) => {
    const { ROOMREC_REUSE, ROOMREC_CONSENT_SHA256 } = (await scanOggOpus(trackOf(user))).comments;
    return { ROOMREC_REUSE, ROOMREC_CONSENT_SHA256 };
  };
  // Ivan's track was made with 📣 and Zoe's with ✅: each is brought in line with the choice at the stop.
  expect(await tags('ivan')).toEqual({ ROOMREC_REUSE: 'no', ROOMREC_CONSENT_SHA256: HOST_ONLY_SHA });
  expect(await tags('zoe')).toEqual({ ROOMREC_REUSE: 'yes', ROOMREC_CONSENT_SHA256: REUSE_SHA });
  expect(await tags('kai')).toEqual({ ROOMREC_REUSE: 'yes', ROOMREC_CONSENT_SHA256: REUSE_SHA });

  const receipt = async () => (await fetch(`${link}/receipt.txt`)).text();
  const first = await receipt();
  expect(first).toMatch(new RegExp(`reuse withdrawn  Ivan \\(${id('ivan')}\\)  consent text sha256 ${HOST_ONLY_SHA}`));
  expect(first).toMatch(new RegExp(`reuse granted  +Zoe \\(${id('zoe')}\\)  consent text sha256 ${REUSE_SHA}`));
  expect(first).toContain(`  "${CONSENT_TEXTS.reuse}"\n    sha256 ${REUSE_SHA}`);
  expect(first).toMatch(/Zoe \(\d+\): consented [^;]+; in the mix; OK to publish or reuse/);

  const page = await (await fetch(link)).text();
  expect(page).toMatch(/Ivan<\/a>.*for the host only/);
  expect(page).toMatch(/Zoe<\/a>.*OK to publish or reuse/);
  expect(page).toContain(`consent text sha256 ${REUSE_SHA}`);
  expect(page).toContain('Not for publishing: the mix includes Ivan, who did not agree to publishing or reuse.');
  expect(page).toContain('The publishable mix below has only Zoe, Kai, who did.');

  const track = async (user: string) => toMono((await decodeOggOpusFile(trackOf(user))).pcm);
  const heard = { ivan: await track('ivan'), zoe: await track('zoe'), kai: await track('kai') };
  const publishable = toMono((await decodeOggOpusFile(await madeFile(`${link}/mix-publishable.ogg`, 'publishable-1.ogg'))).pcm);
  // Each said their words alone: the mix there is their track, so it correlates with theirs, and not with Ivan's.
  expect(correlation(publishable, heard.zoe)).toBeGreaterThan(0.4);
  expect(correlation(publishable, heard.kai)).toBeGreaterThan(0.4);
  expect(Math.abs(correlation(publishable, heard.ivan))).toBeLessThan(0.1);

  // After the stop: Zoe takes reuse back. Her track's tags and the receipt say so, and the publishable mix made
  // with her is never served again: the next one holds only Kai.
  expect(await dm('zoe', `reuse off ${recordingId}`)).toMatch(/^Done: your voice in recording `\w+` is now for the host only/);
  expect(await tags('zoe')).toEqual({ ROOMREC_REUSE: 'no', ROOMREC_CONSENT_SHA256: HOST_ONLY_SHA });
  expect(await receipt()).toMatch(new RegExp(`reuse withdrawn  Zoe \\(${id('zoe')}\\)  consent text sha256 ${HOST_ONLY_SHA}`));
  expect(await (await fetch(link)).text()).toContain('The publishable mix below has only Kai, who did.');
  const onlyKai = toMono((await decodeOggOpusFile(await madeFile(`${link}/mix-publishable.ogg`, 'publishable-2.ogg'))).pcm);
  expect(correlation(onlyKai, heard.kai)).toBeGreaterThan(0.4);
  expect(Math.abs(correlation(onlyKai, heard.zoe))).toBeLessThan(0.1);
  expect(await dm('zoe', `reuse off ${recordingId}`)).toMatch(/already is for the host only/);
}, 180_000);

test('a stranger, the host who is not a speaker, and an unknown id all get the same answer, and nothing changes', async () => {
  for (const user of ['hana', 'kai']) await joinAndSeen(env, id(user));
  expect(await slash('hana', 'record start')).toMatch(/Recording <#\d+>/);
  env.sim.reactToConsent(id('kai'));
  await untilListed(env.sim, ['Kai']);
  const recordingId = (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
  const eventsBefore = await env.bot.store.consentEvents(recordingId);

  expect(await dm('olga', `reuse on ${recordingId}`)).toBe(REUSE_NOT_YOURS);
  expect(await dm('hana', `reuse on ${recordingId}`)).toBe(REUSE_NOT_YOURS);
  expect(await dm('olga', 'reuse on zzzzzzzzzz')).toBe(REUSE_NOT_YOURS);
  // While the room records, the speaker's own DM changes it, and the consent message shows it within seconds.
  expect(await dm('kai', `reuse on ${recordingId}`)).toMatch(/^Done: your voice in recording `\w+` is now OK to publish or reuse/);
  await untilReusing('Kai');
  const events = await env.bot.store.consentEvents(recordingId);
  expect(events.slice(eventsBefore.length).map((e) => [e.userId, e.event])).toEqual([[id('kai'), 'reuse-granted']]);
  for (const text of [...env.sim.dmsTo(id('olga')), ...env.sim.dmsTo(id('hana'))].map((m) => m.content)) expect(text).not.toContain('Kai');
}, 120_000);
