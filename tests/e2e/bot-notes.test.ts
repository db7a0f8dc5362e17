// /note while recording, with the real bot against the local Discord stand-in: who may add one, what is kept,
// where it shows (the reply, the consent message, /record status) and when it is on the recording's clock.
import { afterEach, beforeEach, expect, test } from 'vitest';
import type { BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { NOTE_BUTTON_ID } from '../../src/bot/consent.ts';
import { closeBotInSim, joinAndSeen, startBotWithPeople } from '../helpers/bot-env.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { answersTo } from '../helpers/interaction-answers.ts';
import { until } from '../helpers/until.ts';

let dir: string;
let env: BotInSim;
let ids: Record<string, string> = {};

beforeEach(async () => {
  ({ dir, env, ids } = await startBotWithPeople('roomrec-e2e-notes-', ['Hana', 'Ivan', 'Zoe']));
}, 60_000);

afterEach(() => closeBotInSim(env, dir));

const id = (user: string) => ids[user] ?? '';

/** The bot's last answer to a slash command `user` sends, and the epoch ms just before it was sent and once it was seen. */
async function slash(user: string, text: string): Promise<{ text: string; sentAt: number; answeredAt: number }> {
  const sentAt = Date.now();
  const record = env.sim.slash(id(user), text);
  const answer = await until(() => answersTo(env.sim, record).at(-1), `an answer to /${text}`, 30_000);
  return { text: answer, sentAt, answeredAt: Date.now() };
}

/** Hana records with Ivan opted in; Zoe is in the room but never opts in. Resolves with the recording's id. */
async function roomWithIvanRecorded(): Promise<string> {
  for (const user of ['hana', 'ivan', 'zoe']) await joinAndSeen(env, id(user));
  expect((await slash('hana', 'record start')).text).toMatch(/Recording <#\d+>/);
  env.sim.reactToConsent(id('ivan'));
  await untilListed(env.sim, ['Ivan']);
  return (await env.bot.store.activeRecordingForGuild(env.sim.guildId))?.id ?? '';
}

test('the host and a speaker add notes at the moment they send them; the consent message and /record status list them', async () => {
  const recordingId = await roomWithIvanRecorded();
  const first = await slash('hana', 'note Intro done');
  expect(first.text).toMatch(/^🗒️ Note added at \d+:\d\d of the recording: Intro done$/);
  // Whitespace and newlines fold to one line: labels and chapters are a line each.
  const second = await slash('ivan', 'note "  Question   from\nthe chat  "');
  expect(second.text).toMatch(/: Question from the chat$/);

  await until(
    () => (/Intro done.*Question from the chat/.test(env.sim.consentMessage()?.message.content ?? '') ? true : undefined),
    'the consent message to list both notes',
    30_000,
  );
  const status = await slash('hana', 'record status');
  expect(status.text).toMatch(/Notes.*Intro done \(Hana\).*Question from the chat \(Ivan\)/);

  const stored = await env.bot.store.getRecording(recordingId);
  const notes = stored?.notes ?? [];
  expect(notes.map((n) => [n.by, n.byName, n.text])).toEqual([
    [id('hana'), 'Hana', 'Intro done'],
    [id('ivan'), 'Ivan', 'Question from the chat'],
  ]);
  // On the recording's clock, between the command being sent and its answer (a few ms of clock rounding allowed).
  for (const [note, sent] of [
    [notes[0], first],
    [notes[1], second],
  ] as const) {
    const at = (stored?.startedAt ?? NaN) + (note?.at ?? NaN);
    expect(at).toBeGreaterThanOrEqual(sent.sentAt - 5);
    expect(at).toBeLessThanOrEqual(sent.answeredAt + 5);
  }
});

test('someone who is not being recorded, a note with no text, and a note with no recording are refused, privately, and nothing is stored', async () => {
  await joinAndSeen(env, id('hana'));
  expect((await slash('hana', 'note Too early')).text).toBe('Nothing is being recorded in this server.');
  const recordingId = await roomWithIvanRecorded();
  expect((await slash('zoe', 'note I was here')).text).toMatch(/^Only the host \(<@\d+>\) or someone being recorded can add a note/);
  expect((await slash('hana', 'note "   "')).text).toMatch(/^A note needs some text/);
  expect((await env.bot.store.getRecording(recordingId))?.notes ?? []).toEqual([]);
});

test("the consent message's button opens a modal that adds a note; a stranger is refused before any modal; the button goes when the room ends", async () => {
  const recordingId = await roomWithIvanRecorded();
  const consent = () => env.sim.consentMessage()?.message;
  const messageId = consent()?.id ?? '';
  const button = () => JSON.stringify(consent()?.components ?? []).includes(NOTE_BUTTON_ID);
  expect(button()).toBe(true);

  const refused = env.sim.clickButton(id('zoe'), messageId, NOTE_BUTTON_ID);
  expect(await until(() => answersTo(env.sim, refused).at(-1), 'the refusal', 30_000)).toMatch(/^Only the host/);
  expect(refused.modal).toBeUndefined();

  const opened = env.sim.clickButton(id('ivan'), messageId, NOTE_BUTTON_ID);
  const modal = await until(() => opened.modal, 'the modal', 30_000);
  expect(modal.inputs).toHaveLength(1);
  const sentAt = Date.now();
  const submitted = env.sim.submitModal(id('ivan'), opened, { [modal.inputs[0] ?? '']: 'Guest arrives' });
  expect(await until(() => answersTo(env.sim, submitted).at(-1), 'the answer to the modal', 30_000)).toMatch(
    /^🗒️ Note added at \d+:\d\d of the recording: Guest arrives$/,
  );
  const answeredAt = Date.now();
  const stored = await env.bot.store.getRecording(recordingId);
  const note = stored?.notes?.[0];
  expect([note?.by, note?.text]).toEqual([id('ivan'), 'Guest arrives']);
  const at = (stored?.startedAt ?? NaN) + (note?.at ?? NaN);
  expect(at).toBeGreaterThanOrEqual(sentAt - 5);
  expect(at).toBeLessThanOrEqual(answeredAt + 5);

  expect((await slash('hana', 'record stop')).text).toMatch(/Stopping/);
  await until(
    () => (/Recording ended/.test(consent()?.content ?? '') ? true : undefined),
    'the consent message to say the room ended',
    30_000,
  );
  expect(button()).toBe(false);
});
