import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { ChannelType, Events, SlashCommandBuilder, type Client, type Message } from 'discord.js';
import { entersState, getVoiceConnection, joinVoiceChannel, VoiceConnectionStatus } from '@discordjs/voice';
import {
  encodeWav,
  loadScenario,
  loginClient,
  parseScenario,
  playScenario,
  ScenarioError,
  scenarioUsers,
  startDiscordSim,
  timeline,
  tonePcm,
  type DiscordSim,
} from '../../discord-sim/index.ts';

let sim: DiscordSim | null = null;
let client: Client | null = null;
let dir: string | null = null;
afterEach(async () => {
  if (sim) getVoiceConnection(sim.guildId)?.destroy();
  await client?.destroy();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  client = null;
  sim = null;
  dir = null;
});

const valid = {
  name: 't',
  host: 'alice',
  speakers: [
    { id: 'alice', name: 'Alice', audio: 'a.wav', joinAt: 0, consentAt: 1, speakAt: [2] },
    { id: 'bob', audio: 'b.ogg', speakAt: [3] },
  ],
  commands: [{ at: 0.5, user: 'alice', slash: 'record start' }],
  endAt: 5,
};

describe('scenario files', () => {
  test('a valid scenario gets its defaults', () => {
    const s = parseScenario(valid);
    expect(s.speakers[1]?.joinAt).toBe(0);
    expect(s.network).toEqual({ loss: 0, duplicate: 0, reorder: 0, jitterMs: 0, seed: 1, dave: true });
  });

  test.each([
    ['a wrong type', { speakers: [{ ...valid.speakers[0], joinAt: 'soon' }, valid.speakers[1]] }, 'speakers[0].joinAt'],
    ['an empty speaker id', { speakers: [{ ...valid.speakers[0], id: '' }, valid.speakers[1]] }, 'speakers[0].id'],
    ['a host who is not a speaker', { host: 'zed' }, 'host'],
    ['a command from nobody', { commands: [{ at: 1, user: 'zed', dm: 'hi' }] }, 'commands[0].user'],
    ['a command with both slash and dm', { commands: [{ at: 1, user: 'bob', dm: 'hi', slash: 'record stop' }] }, 'commands[0]'],
    [
      'withdrawing without consenting',
      { speakers: [valid.speakers[0], { ...valid.speakers[1], withdrawAt: 2 }] },
      'speakers[1].withdrawAt',
    ],
    ['📣 without ✅', { speakers: [valid.speakers[0], { ...valid.speakers[1], reuseAt: 2 }] }, 'speakers[1].reuseAt'],
    ['📣 before ✅', { speakers: [{ ...valid.speakers[0], reuseAt: 0.5 }, valid.speakers[1]] }, 'speakers[0].reuseAt'],
    ['📣 after withdrawing', { speakers: [{ ...valid.speakers[0], withdrawAt: 2, reuseAt: 3 }, valid.speakers[1]] }, 'speakers[0].reuseAt'],
    ['speaking after leaving', { speakers: [{ ...valid.speakers[0], leaveAt: 1.5 }, valid.speakers[1]] }, 'speakers[0].speakAt[0]'],
    ['a probability above 1', { network: { loss: 2 } }, 'network.loss'],
    ['an unsupported audio file', { speakers: [{ ...valid.speakers[0], audio: 'a.mp3' }, valid.speakers[1]] }, 'speakers[0].audio'],
  ])('%s is reported with its field path', (_name, change, path) => {
    let error: unknown = null;
    try {
      parseScenario({ ...valid, ...change }, { source: 'bad.json' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    expect((error as ScenarioError).issues.map((i) => i.path)).toContain(path);
    expect((error as ScenarioError).message).toMatch(/^bad\.json: invalid scenario/);
  });

  test('a 📣 at the same second as the ✅ comes after it', () => {
    const s = parseScenario({ ...valid, speakers: [{ ...valid.speakers[0], reuseAt: 1 }, valid.speakers[1]] });
    expect(
      timeline(s).flatMap((t) => (t.action.kind === 'consent' || t.action.kind === 'reuse' ? [`${t.action.kind}@${t.at}`] : [])),
    ).toEqual(['consent@1', 'reuse@1']);
  });

  test('fields the format does not know are ignored and listed, not rejected (the contract is extended compatibly)', () => {
    const s = parseScenario({
      ...valid,
      recordedBy: 'a newer tool',
      speakers: [{ ...valid.speakers[0], consentat: 1, avatar: 'x.png' }, valid.speakers[1]],
      commands: [{ ...valid.commands[0], note: 'go' }],
      network: { loss: 0.1, burst: 3 },
    });
    expect(s.unknownFields).toEqual(['recordedBy', 'network.burst', 'speakers[0].consentat', 'speakers[0].avatar', 'commands[0].note']);
    expect(s.speakers[0]).not.toHaveProperty('consentat');
    expect(s.network.loss).toBe(0.1);
    expect(parseScenario(valid).unknownFields).toEqual([]);
  });

  test('any non-empty speaker id is accepted (spaces, accents, punctuation, any length)', () => {
    const ids = ['Zoë Ångström', 'bob/../../etc', 'x'.repeat(100), '🎙️ host'];
    const s = parseScenario({
      ...valid,
      host: ids[0],
      speakers: ids.map((id, i) => ({ id, audio: `${i}.wav` })),
      commands: [{ at: 0.5, user: ids[0], slash: 'record start' }],
    });
    expect(s.speakers.map((sp) => sp.id)).toEqual(ids);
    expect(scenarioUsers(s).map((u) => u.username)).toEqual(ids);
  });

  test('shape and cross-field problems are reported together, cross-checking whatever parsed', () => {
    let error: unknown = null;
    try {
      parseScenario({
        ...valid,
        // speakers[0] has a shape problem but a usable id: it still counts as a speaker for `host`.
        speakers: [
          { ...valid.speakers[0], joinAt: 'soon' },
          { ...valid.speakers[1], withdrawAt: 4 },
        ],
        commands: [
          { at: 9, user: 'zed', dm: 'hi' },
          { at: 'later', user: 'bob' },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const paths = (error as ScenarioError).issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['speakers[0].joinAt', 'commands[1].at', 'speakers[1].withdrawAt', 'commands[0].user', 'commands[0].at']),
    );
    expect(paths).not.toContain('host');
  });

  test('bot commands: a crash needs a running bot and a start a crashed one, every misplaced one reported', () => {
    const bot = (at: number, event: string) => ({ at, bot: event });
    const ok = parseScenario({ ...valid, commands: [...valid.commands, bot(2, 'crash'), bot(3, 'start'), bot(4, 'crash')] });
    expect(ok.commands.slice(1)).toEqual([bot(2, 'crash'), bot(3, 'start'), bot(4, 'crash')]);
    expect(timeline(ok).filter((t) => t.action.kind === 'bot')).toEqual([
      { at: 2, action: { kind: 'bot', event: 'crash' } },
      { at: 3, action: { kind: 'bot', event: 'start' } },
      { at: 4, action: { kind: 'bot', event: 'crash' } },
    ]);

    let error: unknown = null;
    try {
      parseScenario({
        ...valid,
        // In file order, not time order: the validator sorts by time (crash 1, start 2, start 3, crash 4, crash 4.5).
        commands: [
          bot(4, 'crash'),
          bot(3, 'start'),
          bot(1, 'crash'),
          bot(4.5, 'crash'),
          bot(2, 'start'),
          bot(0.5, 'restart'),
          { at: 1, slash: 'record stop' },
        ],
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ScenarioError);
    const issues = (error as ScenarioError).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(['commands[1].bot', 'commands[3].bot', 'commands[5].bot', 'commands[6].user']);
    const says = (path: string) => issues.find((i) => i.path === path)?.message;
    expect(says('commands[1].bot')).toBe(
      '"start" at 3, but the bot is already running then (started again at 2); only a crashed bot can be started',
    );
    expect(says('commands[3].bot')).toBe('"crash" at 4.5, but the bot is not running then (it crashed at 4 and was not started again)');
    expect(says('commands[6].user')).toBe('needs the speaker who sends the slash command');

    try {
      parseScenario({ ...valid, commands: [bot(1, 'start'), { at: 1, user: 'alice', bot: 'crash', dm: 'hi' }] });
    } catch (e) {
      error = e;
    }
    expect((error as ScenarioError).issues).toEqual([
      { path: 'commands[1]', message: 'needs exactly one of "slash", "dm" or "bot"' },
      {
        path: 'commands[0].bot',
        message:
          '"start" at 1, but the bot is already running then (it runs from the start of the scenario); only a crashed bot can be started',
      },
    ]);
  });

  test('loadScenario: shape, cross-field and audio-file problems all in one report', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-scenario-'));
    await writeFile(join(dir, 'a.wav'), 'RIFF but not really');
    await writeFile(join(dir, 'cut.wav'), encodeWav(tonePcm({ seconds: 0.2, frequency: 440 })).subarray(0, 30));
    await writeFile(
      join(dir, 'all.json'),
      JSON.stringify({
        ...valid,
        endAt: 'soon',
        host: 'zed',
        speakers: [valid.speakers[0], { ...valid.speakers[1], withdrawAt: 2 }, { id: 'carol', audio: 'cut.wav' }],
      }),
    );
    const error = await loadScenario(join(dir, 'all.json')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ScenarioError);
    const issues = (error as ScenarioError).issues;
    expect(issues.map((i) => i.path)).toEqual([
      'endAt',
      'speakers[1].withdrawAt',
      'host',
      'speakers[0].audio',
      'speakers[1].audio',
      'speakers[2].audio',
    ]);
    expect(issues[3]?.message).toBe(`${join(dir, 'a.wav')}: not a RIFF/WAVE file`);
    expect(issues[4]?.message).toBe(`file not found: ${join(dir, 'b.ogg')}`);
    expect(issues[5]?.message).toMatch(/cut\.wav: cut short or damaged/);
  });

  test('loadScenario reports unreadable JSON and missing audio files', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-scenario-'));
    await writeFile(join(dir, 'broken.json'), '{ "name": ');
    await expect(loadScenario(join(dir, 'broken.json'))).rejects.toThrow(/not valid JSON/);
    await writeFile(join(dir, 's.json'), JSON.stringify(valid));
    await expect(loadScenario(join(dir, 's.json'))).rejects.toThrow(/speakers\[0\]\.audio: file not found/);
  });
});

/** A minimal consent-first bot, just enough to exercise the player end to end with the real libraries. */
function miniBot(s: DiscordSim, c: Client) {
  const heard = new Map<string, Buffer[]>();
  const reactionsSeen: string[] = [];
  let consentMessage: Message | null = null;
  c.on(Events.InteractionCreate, async (interaction) => {
    if (!interaction.isChatInputCommand() || !interaction.inCachedGuild()) return;
    if (interaction.options.getSubcommand() === 'start') {
      const channel = interaction.member.voice.channel;
      if (!channel) return void (await interaction.reply({ content: 'join a voice channel first' }));
      const response = await interaction.reply({ content: 'Recording. React ✅ to be recorded.', withResponse: true });
      consentMessage = response.resource?.message ?? null;
      await consentMessage?.react('✅');
      const connection = joinVoiceChannel({
        channelId: channel.id,
        guildId: channel.guild.id,
        adapterCreator: channel.guild.voiceAdapterCreator,
        selfDeaf: false,
      });
      await entersState(connection, VoiceConnectionStatus.Ready, 5000);
    } else {
      await interaction.reply({ content: 'Stopped.' });
      getVoiceConnection(s.guildId)?.destroy();
    }
  });
  c.on(Events.MessageReactionAdd, (reaction, user) => {
    if (user.id === c.user?.id || reaction.message.id !== consentMessage?.id) return;
    reactionsSeen.push(`+${user.username}`);
    const stream = getVoiceConnection(s.guildId)?.receiver.subscribe(user.id);
    const frames = heard.get(user.id) ?? [];
    heard.set(user.id, frames);
    stream?.on('data', (frame: Buffer) => frames.push(frame));
  });
  c.on(Events.MessageReactionRemove, (reaction, user) => {
    if (reaction.message.id !== consentMessage?.id) return;
    reactionsSeen.push(`-${user.username}`);
    getVoiceConnection(s.guildId)?.receiver.subscriptions.get(user.id)?.destroy();
  });
  c.on(Events.MessageCreate, async (message) => {
    if (message.channel.type !== ChannelType.DM || message.author.bot) return;
    const isHost = message.author.username === 'alice';
    await message.channel.send(isHost ? 'Your recording: http://127.0.0.1:1/r/abc.' : 'Nothing for you.');
  });
  return { heard, reactionsSeen };
}

describe('the scenario player drives a real discord.js bot through the stand-in', () => {
  test('users join, run commands, consent, speak, withdraw, leave and DM on the scenario clock', async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-scenario-'));
    await writeFile(join(dir, 'alice.wav'), encodeWav(tonePcm({ seconds: 0.6, frequency: 440, sampleRate: 22_050 })));
    await writeFile(join(dir, 'carol.wav'), encodeWav(tonePcm({ seconds: 0.4, frequency: 660, sampleRate: 16_000 })));
    await writeFile(join(dir, 'bob.wav'), encodeWav(tonePcm({ seconds: 0.5, frequency: 330, sampleRate: 48_000 })));
    execFileSync('ffmpeg', ['-v', 'error', '-i', join(dir, 'bob.wav'), '-c:a', 'libopus', join(dir, 'bob.ogg')]);
    await writeFile(
      join(dir, 'scenario.json'),
      JSON.stringify({
        name: 'mini',
        host: 'alice',
        speakers: [
          { id: 'alice', name: 'Alice', audio: 'alice.wav', joinAt: 0, consentAt: 1.0, speakAt: [1.5] },
          { id: 'bob', name: 'Bob', audio: 'bob.ogg', joinAt: 0, speakAt: [1.5] },
          { id: 'carol', name: 'Carol', audio: 'carol.wav', joinAt: 0.5, consentAt: 1.2, withdrawAt: 2.8, leaveAt: 3.0, speakAt: [1.8] },
        ],
        commands: [
          { at: 0.3, user: 'alice', slash: 'record start' },
          { at: 3.2, user: 'alice', slash: 'record stop' },
          { at: 3.5, user: 'alice', dm: 'download' },
          { at: 3.6, user: 'bob', dm: 'download' },
        ],
        endAt: 4,
      }),
    );
    const scenario = await loadScenario(join(dir, 'scenario.json'));
    const record = new SlashCommandBuilder()
      .setName('record')
      .setDescription('r')
      .addSubcommand((x) => x.setName('start').setDescription('s'))
      .addSubcommand((x) => x.setName('stop').setDescription('s'));
    sim = await startDiscordSim({ users: scenarioUsers(scenario), commands: [record.toJSON()] });
    client = await loginClient(sim);
    const bot = miniBot(sim, client);

    const seen: string[] = [];
    const run = await playScenario(sim, scenario, { hooks: { onEvent: (e) => seen.push(e.action.kind) } });
    const outcome = await run.finished;

    expect(outcome.events.filter((e) => e.error)).toEqual([]);
    expect(seen.at(-1)).toBe('end');
    expect(outcome.consent.map((c) => `${c.speaker}:${c.event}`)).toEqual(['alice:granted', 'carol:granted', 'carol:withdrawn']);
    for (const c of outcome.consent)
      expect(Math.abs(c.at - (c.speaker === 'alice' ? 1.0 : c.event === 'granted' ? 1.2 : 2.8))).toBeLessThan(0.25);
    expect(bot.reactionsSeen).toEqual(['+alice', '+carol', '-carol']);
    expect(outcome.slashes.map((s) => s.reply)).toEqual(['Recording. React ✅ to be recorded.', 'Stopped.']);
    expect(outcome.dms).toEqual([
      { to: 'alice', text: 'Your recording: http://127.0.0.1:1/r/abc.', links: ['http://127.0.0.1:1/r/abc'] },
      { to: 'bob', text: 'Nothing for you.', links: [] },
    ]);
    const aliceId = outcome.userIds.alice ?? '';
    const carolId = outcome.userIds.carol ?? '';
    expect(bot.heard.get(aliceId)?.map((f) => f.toString('hex'))).toEqual(
      sim.speakers.decodableArrivals(aliceId).map((f) => f.toString('hex')),
    );
    expect(bot.heard.get(carolId)?.map((f) => f.toString('hex'))).toEqual(
      sim.speakers.decodableArrivals(carolId).map((f) => f.toString('hex')),
    );
    expect(bot.heard.has(outcome.userIds.bob ?? '')).toBe(false);
    expect(sim.speakers.decodableArrivals(outcome.userIds.bob ?? '').length).toBeGreaterThan(0); // bob did talk
  });

  test("a reaction scheduled before the consent message exists waits for it, and a speaker's reactions keep their order", async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-scenario-early-'));
    await writeFile(join(dir, 'alice.wav'), encodeWav(tonePcm({ seconds: 0.3, frequency: 440, sampleRate: 48_000 })));
    await writeFile(
      join(dir, 'scenario.json'),
      JSON.stringify({
        name: 'early',
        host: 'alice',
        // Alice reacts, and takes it back, before anyone has run /record start.
        speakers: [{ id: 'alice', audio: 'alice.wav', joinAt: 0, consentAt: 0.1, withdrawAt: 0.2 }],
        commands: [{ at: 0.6, user: 'alice', slash: 'record start' }],
        endAt: 2,
      }),
    );
    const scenario = await loadScenario(join(dir, 'scenario.json'));
    const record = new SlashCommandBuilder()
      .setName('record')
      .setDescription('r')
      .addSubcommand((x) => x.setName('start').setDescription('s'));
    sim = await startDiscordSim({ users: scenarioUsers(scenario), commands: [record.toJSON()] });
    client = await loginClient(sim);
    const bot = miniBot(sim, client);
    const outcome = await (await playScenario(sim, scenario)).finished;

    expect(outcome.events.filter((e) => e.error)).toEqual([]);
    expect(bot.reactionsSeen).toEqual(['+alice', '-alice']);
    expect(outcome.consent.map((c) => c.event)).toEqual(['granted', 'withdrawn']);
    const started = outcome.slashes[0]?.at ?? Number.NaN;
    for (const c of outcome.consent) expect(c.at).toBeGreaterThanOrEqual(started);
  });
});
