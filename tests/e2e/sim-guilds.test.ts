// The stand-in with the bot in several guilds, and its faults for many rooms at once: REST 429 bursts and a
// gateway socket closed with a resumable code. First with a bare discord.js client and @discordjs/voice, then
// with the real bot recording two rooms in two guilds at the same time.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, test } from 'vitest';
import { DiscordAPIError, Events, RESTEvents, type Client, type Interaction } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import { joinVoice, loginClient, parseWav, speechFromPcm, startDiscordSim, type DiscordSim } from '../../discord-sim/index.ts';
import { silentLogger } from '../../src/log.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim } from '../helpers/bot-env.ts';
import { decodeOggOpusFile, locate, toMono } from '../helpers/audio.ts';
import { untilListed } from '../helpers/consent-message.ts';
import { demoClip } from '../helpers/scenario-clips.ts';
import { until } from '../helpers/until.ts';

const DEMO_AUDIO = path.join(import.meta.dirname, '..', '..', 'scripts', 'demo');

describe('the stand-in with several guilds', () => {
  let sim: DiscordSim | null = null;
  let client: Client | null = null;
  const connections: VoiceConnection[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.destroy();
    await client?.destroy();
    await sim?.close();
    client = null;
    sim = null;
  });

  test('READY lists every guild; each GUILD_CREATE and each REST route shows that guild alone; one added later arrives', async () => {
    const s = (sim = await startDiscordSim({ guilds: 3 }));
    const guilds = s.guilds();
    expect(guilds.map((g) => g.id)[0]).toBe(s.guildId);
    const people = guilds.map((g, i) => s.addUser({ username: `person${i}`, guildId: g.id }));
    s.joinVoice(people[1]!.id, guilds[1]!.voiceChannelId);
    const c = (client = await loginClient(s));

    const ready = s.log.entries.find((e) => e.kind === 'gateway-out' && e.t === 'READY');
    expect((ready?.kind === 'gateway-out' ? (ready.d as { guilds: { id: string }[] }) : { guilds: [] }).guilds.map((g) => g.id)).toEqual(
      guilds.map((g) => g.id),
    );
    await until(() => (guilds.every((g) => c.guilds.cache.get(g.id)?.available) ? true : undefined), 'every guild in the cache');
    for (const [i, g] of guilds.entries()) {
      const cached = c.guilds.cache.get(g.id)!;
      expect([...cached.channels.cache.keys()].sort()).toEqual([g.textChannelId, g.voiceChannelId, g.otherVoiceChannelId].sort());
      expect([...cached.members.cache.keys()].sort()).toEqual([g.ownerId, s.botUserId, people[i]!.id].sort());
      expect(cached.ownerId).toBe(g.ownerId);
      const channels = (await c.rest.get(`/guilds/${g.id}/channels`)) as { id: string; guild_id: string }[];
      expect(channels.map((ch) => ch.guild_id)).toEqual([g.id, g.id, g.id]);
    }
    expect(c.guilds.cache.get(guilds[1]!.id)?.voiceStates.cache.get(people[1]!.id)?.channelId).toBe(guilds[1]!.voiceChannelId);
    expect(c.guilds.cache.get(guilds[0]!.id)?.voiceStates.cache.has(people[1]!.id)).toBe(false);
    // A member of one guild is not a member of another.
    await expect(c.rest.get(`/guilds/${guilds[2]!.id}/members/${people[1]!.id}`)).rejects.toMatchObject({ code: 10007 });
    // A message posted in a guild's channel belongs to that guild.
    const posted = (await c.rest.post(`/channels/${guilds[2]!.textChannelId}/messages`, { body: { content: 'hi' } })) as {
      guild_id?: string;
    };
    expect(posted.guild_id).toBe(guilds[2]!.id);

    const created = new Promise<string>((resolve) => c.once(Events.GuildCreate, (guild) => resolve(guild.id)));
    const added = s.addGuild({ guildName: 'Late Guild' });
    expect(await created).toBe(added.id);
    expect(c.guilds.cache.get(added.id)?.name).toBe('Late Guild');
  });

  test('voice in two guilds at once: each connection hears its own guild’s speaker, byte for byte', async () => {
    const s = (sim = await startDiscordSim({ guilds: 2 }));
    const c = (client = await loginClient(s));
    const speech = speechFromPcm(parseWav(await readFile(path.join(DEMO_AUDIO, 'alice.wav'))), { sendEverything: true });
    const rooms = s.guilds().map((g, i) => {
      const user = s.addUser({ username: `speaker${i}`, guildId: g.id });
      s.joinVoice(user.id, g.voiceChannelId);
      return { guild: g, user };
    });
    for (const room of rooms) {
      connections.push(await joinVoice(c, s, { guildId: room.guild.id }));
      await s.dave.settled(room.guild.voiceChannelId);
    }
    const heard = rooms.map((room, i) => {
      const frames: Buffer[] = [];
      connections[i]!.receiver.subscribe(room.user.id).on('data', (frame: Buffer) => frames.push(frame));
      return frames;
    });
    const talk = { ...speech, frames: speech.frames.slice(0, 100) };
    const at = s.clock() + 100;
    await Promise.all(rooms.map((room) => s.speak(room.user.id, talk, { at }).done));
    for (const [i, room] of rooms.entries()) {
      const sent = s.speakers.decodableArrivals(room.user.id);
      expect(sent).toHaveLength(100);
      await until(() => (heard[i]!.length >= sent.length ? true : undefined), `guild ${i}'s frames`);
      expect(Buffer.concat(heard[i]!).equals(Buffer.concat(sent))).toBe(true);
    }
    // Each bot session got only its own guild's speaker.
    expect(s.botVoiceSession(rooms[0]!.guild.id)?.channelId).toBe(rooms[0]!.guild.voiceChannelId);
    expect(s.botVoiceSession(rooms[1]!.guild.id)?.channelId).toBe(rooms[1]!.guild.voiceChannelId);
  });

  test('a 429 burst: discord.js waits retry_after and retries until the burst is over; the request then succeeds', async () => {
    const s = (sim = await startDiscordSim());
    const c = (client = await loginClient(s));
    const limited: number[] = [];
    c.rest.on(RESTEvents.RateLimited, (info) => limited.push(info.retryAfter));
    s.rateLimitBurst({ forMs: 1200, retryAfterMs: 400, routes: ['/channels/'] });
    const message = (await c.rest.post(`/channels/${s.textChannelId}/messages`, { body: { content: 'after the burst' } })) as {
      id: string;
    };
    const answers = s.log.entries.filter((e) => e.kind === 'rest' && e.route === '/channels/:channel/messages' && e.method === 'POST');
    const statuses = answers.map((e) => (e.kind === 'rest' ? e.status : 0));
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.slice(0, -1).length).toBeGreaterThanOrEqual(1);
    expect(statuses.slice(0, -1).every((status) => status === 429)).toBe(true);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    expect(s.messagesIn(s.textChannelId).map((m) => m.id)).toEqual([message.id]);
    // Other routes were not limited.
    expect(((await c.rest.get(`/guilds/${s.guildId}`)) as { id: string }).id).toBe(s.guildId);
    // A burst on every route answers 429 with Discord's body; a client that refuses to wait sees it.
    s.rateLimitBurst({ forMs: 60_000, retryAfterMs: 30_000 });
    c.rest.options.rejectOnRateLimit = () => true;
    await expect(c.rest.get(`/guilds/${s.guildId}`)).rejects.toSatisfy((error) => !(error instanceof DiscordAPIError));
    const last = s.log.entries.at(-1);
    expect(last?.kind === 'rest' ? { status: last.status, response: last.response } : null).toEqual({
      status: 429,
      response: { message: 'You are being rate limited.', retry_after: 30, global: false },
    });
  });

  test('the gateway socket closed with a resumable code: the client resumes and what was dispatched meanwhile arrives', async () => {
    const s = (sim = await startDiscordSim({ users: [{ username: 'alice' }], commands: [{ name: 'ping', description: 'p' }] }));
    const c = (client = await loginClient(s));
    const resumed = s.waitFor((e) => e.kind === 'gateway-out' && e.t === 'RESUMED', 30_000);
    const got = new Promise<Interaction>((resolve) => c.once(Events.InteractionCreate, resolve));
    s.dropGateway(4000);
    s.slash(s.userByName('alice').id, 'ping');
    await resumed;
    expect(s.log.entries.some((e) => e.kind === 'gateway-in' && e.op === 6)).toBe(true);
    expect((await got).isChatInputCommand()).toBe(true);
  });
});

describe('the real bot in two guilds', () => {
  let dir: string | undefined;
  let env: BotInSim | undefined;
  afterEach(() => closeBotInSim(env, dir));

  test('records two rooms in two guilds at once: each track holds its own speaker’s words, where they were said', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-guilds-'));
    // The bot's wall clock is the stand-in's clock shifted to the epoch, so sent and stored times compare exactly.
    const epochBase = Date.now() - performance.now();
    env = await startBotInSim({
      dataDir: dir,
      log: silentLogger(),
      now: () => Math.round(epochBase + performance.now()),
      sim: { guilds: 2 },
    });
    const { sim, bot } = env;
    const voices = [await demoClip('alice', 0, 1.5), await demoClip('carol', 0, 1.5)];
    const rooms = sim
      .guilds()
      .map((guild, i) => ({ guild, host: sim.addUser({ username: `host${i}`, globalName: `Host ${i}`, guildId: guild.id }) }));
    for (const { guild, host } of rooms) sim.joinVoice(host.id, guild.voiceChannelId);
    await until(
      () => (rooms.every((r) => bot.client.guilds.cache.get(r.guild.id)?.voiceStates.cache.get(r.host.id)) ? true : undefined),
      'the bot to see both hosts in voice',
    );
    for (const { guild, host } of rooms) sim.slash(host.id, 'record start', { channelId: guild.textChannelId });
    for (const [i, { guild, host }] of rooms.entries()) {
      await until(() => sim.consentMessage(guild.voiceChannelId) ?? undefined, `the consent message in guild ${i}`);
      sim.reactToConsent(host.id);
      await untilListed(sim, [`Host ${i}`], 30_000, guild.voiceChannelId);
      await sim.dave.settled(guild.voiceChannelId);
    }
    expect(rooms.map((r) => bot.rooms.current(r.guild.id)?.recording)).toEqual([['Host 0'], ['Host 1']]);

    // Both talk at the same moment, each in their own room.
    const at = sim.clock() + 300;
    await Promise.all(rooms.map((r, i) => sim.speak(r.host.id, speechFromPcm(voices[i]!.pcm), { at }).done));
    const recordingIds = rooms.map((r) => bot.rooms.current(r.guild.id)?.recordingId ?? '');
    for (const { guild, host } of rooms) sim.slash(host.id, 'record stop', { channelId: guild.textChannelId });
    for (const { host } of rooms)
      await until(() => (sim.dmsTo(host.id).some((m) => /\/r\//.test(m.content)) ? true : undefined), 'the link DM');

    for (const [i, recordingId] of recordingIds.entries()) {
      const recording = await bot.store.getRecording(recordingId);
      expect(recording?.state).toBe('ready');
      expect(recording?.guildId).toBe(rooms[i]!.guild.id);
      expect(recording?.speakers.map((s) => s.userId)).toEqual([rooms[i]!.host.id]);
      const track = toMono((await decodeOggOpusFile(bot.store.layout.file(recordingId, recording?.speakers[0]?.trackFile ?? ''))).pcm);
      const position = (epochBase + at - (recording?.startedAt ?? NaN)) / 1000;
      const own = locate(track, voices[i]!.reference, position);
      const other = locate(track, voices[1 - i]!.reference, position);
      console.info(
        `guild ${i}: own words at ${position.toFixed(3)} s found at ${own.seconds.toFixed(4)} s (r=${own.correlation.toFixed(2)}), the other guild's r=${other.correlation.toFixed(2)}`,
      );
      expect(own.correlation).toBeGreaterThan(0.6);
      expect(Math.abs(own.seconds - position) * 1000).toBeLessThan(20);
      expect(other.correlation).toBeLessThan(own.correlation - 0.3);
    }
  }, 60_000);
});
