import { afterEach, describe, expect, test } from 'vitest';
import {
  ChannelType,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type Client,
} from 'discord.js';
import { VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import {
  connectVoice,
  joinVoice,
  loginClient,
  RECORDER_INTENTS,
  startDiscordSim,
  type DiscordSim,
  type DiscordSimOptions,
} from '../../discord-sim/index.ts';

let sim: DiscordSim | null = null;
let client: Client | null = null;
let connection: VoiceConnection | null = null;
afterEach(async () => {
  connection?.destroy();
  await client?.destroy();
  await sim?.close();
  connection = null;
  client = null;
  sim = null;
});

const record = new SlashCommandBuilder()
  .setName('record')
  .setDescription('r')
  .addSubcommand((x) => x.setName('start').setDescription('s'))
  .addSubcommand((x) =>
    x
      .setName('status')
      .setDescription('s')
      .addIntegerOption((o) => o.setName('verbose').setDescription('v')),
  );

async function boot(options: DiscordSimOptions = {}): Promise<{ s: DiscordSim; c: Client }> {
  const s = await startDiscordSim({
    users: [{ username: 'alice' }, { username: 'dora', dmsClosed: true }],
    commands: [record.toJSON()],
    ...options,
  });
  sim = s;
  const c = await loginClient(s, { intents: [...RECORDER_INTENTS, GatewayIntentBits.GuildMembers] });
  client = c;
  return { s, c };
}

function nextInteraction(c: Client): Promise<ChatInputCommandInteraction> {
  return new Promise((resolve) => c.once(Events.InteractionCreate, (i) => i.isChatInputCommand() && resolve(i)));
}

describe('REST behaviour the bot relies on', () => {
  test('deferred reply, edit of @original, follow-up, reactions and the reaction list', async () => {
    const { s, c } = await boot();
    const alice = s.userByName('alice');
    const got = nextInteraction(c);
    const record1 = s.slash(alice.id, 'record status 2');
    const interaction = await got;
    expect(interaction.options.getInteger('verbose')).toBe(2);
    await interaction.deferReply();
    const original = s.messagesIn(s.textChannelId)[0];
    expect((original?.flags ?? 0) & MessageFlags.Loading).toBe(MessageFlags.Loading);
    const edited = await interaction.editReply('consent here');
    await edited.react('✅');
    await interaction.followUp({ content: 'only you', flags: MessageFlags.Ephemeral });
    s.reactToConsent(alice.id);
    const users = await edited.reactions.cache.get('✅')?.users.fetch();
    expect([...(users?.keys() ?? [])].sort()).toEqual([c.user?.id, alice.id].sort());
    expect(s.consentMessage()?.message.id).toBe(edited.id);
    expect(s.messagesIn(s.textChannelId).map((m) => [m.content, m.flags])).toEqual([
      ['consent here', 0],
      ['only you', MessageFlags.Ephemeral],
    ]);
    await expect(interaction.reply('again')).rejects.toThrow(); // discord.js itself refuses a second reply
    expect(record1.responded).toBe(true);
    const routes = s.log.rest().map((e) => `${e.method} ${e.route} ${e.status}`);
    expect(routes).toEqual(
      expect.arrayContaining([
        'POST /interactions/:id/:token/callback 204',
        'PATCH /webhooks/:app/:token/messages/:message 200',
        'PUT /channels/:channel/messages/:message/reactions/:emoji/@me 204',
        'POST /webhooks/:app/:token 200',
        'GET /channels/:channel/messages/:message/reactions/:emoji 200',
      ]),
    );
  });

  test('path segments are percent-decoded as Discord does: %40me and encoded emoji reach their routes', async () => {
    const { s, c } = await boot();
    const call = (method: string, route: string, body?: unknown) =>
      fetch(`${s.restUrl}/v10${route}`, {
        method,
        headers: { authorization: `Bot ${s.token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await call('GET', '/users/%40me')).status).toBe(200);
    const nick = await call('PATCH', `/guilds/${s.guildId}/members/%40me`, { nick: '🔴 REC roomrec' });
    expect(nick.status).toBe(200);
    expect(s.world.botNick).toBe('🔴 REC roomrec');
    const channel = await c.channels.fetch(s.textChannelId);
    if (!channel?.isSendable()) throw new Error('not sendable');
    const message = await channel.send('react here');
    expect((await call('PUT', `/channels/${s.textChannelId}/messages/${message.id}/reactions/%E2%9C%85/%40me`)).status).toBe(204);
    expect(s.world.messages.get(message.id)?.reactions.get('✅')).toEqual([s.botUserId]);
    // discord.js itself (it encodes `@me` in the member route)
    await c.guilds.cache.get(s.guildId)?.members.me?.setNickname(null);
    expect(s.world.botNick).toBeNull();
    expect(
      s.log
        .rest()
        .filter((e) => e.route === '/guilds/:guild/members/@me')
        .map((e) => e.status),
    ).toEqual([200, 200]);
  });

  test("the consent message is found by default in the chat of the bot's voice channel (text-in-voice)", async () => {
    const { s, c } = await boot();
    const alice = s.userByName('alice');
    const text = await c.channels.fetch(s.textChannelId);
    if (!text?.isSendable()) throw new Error('not sendable');
    const elsewhere = await text.send('an older poll');
    await elsewhere.react('👍');
    expect(s.consentMessage()?.message.id).toBe(elsewhere.id); // not in voice: the latest anywhere
    connection = await joinVoice(c, s);
    const voice = await c.channels.fetch(s.voiceChannelId);
    if (!voice?.isSendable()) throw new Error('voice chat not sendable');
    const consent = await voice.send('react ✅ to be recorded');
    await consent.react('✅');
    await (await text.send('a newer poll')).react('👍');
    expect(s.consentMessage()?.message.id).toBe(consent.id);
    expect(s.reactToConsent(alice.id)).toEqual({ messageId: consent.id, emoji: '✅' });
    expect(s.world.messages.get(consent.id)?.reactions.get('✅')).toEqual([s.botUserId, alice.id]);
    expect(s.consentMessage(s.textChannelId)?.message.content).toBe('a newer poll');
  });

  test('roles: a user given Manage Channels (at start or at run time) has it in interactions and in discord.js caches', async () => {
    const { s, c } = await boot({ users: [{ username: 'alice' }, { username: 'mod', permissions: ['ManageChannels'] }] });
    const alice = s.userByName('alice');
    const mod = s.userByName('mod');
    const canManage = async (userId: string) => {
      const got = nextInteraction(c);
      s.slash(userId, 'record start');
      const interaction = await got;
      await interaction.reply('ok');
      return [
        interaction.memberPermissions?.has('ManageChannels'),
        interaction.guild?.members.cache.get(userId)?.permissionsIn(s.voiceChannelId).has('ManageChannels'),
      ];
    };
    expect(await canManage(mod.id)).toEqual([true, true]);
    expect(await canManage(alice.id)).toEqual([false, false]);
    const roleCreated = new Promise((resolve) => c.once(Events.GuildRoleCreate, resolve));
    const roleId = s.grantRole(alice.id, ['ManageChannels']);
    await roleCreated;
    expect(c.guilds.cache.get(s.guildId)?.roles.cache.get(roleId)?.permissions.has('ManageChannels')).toBe(true);
    expect(await canManage(alice.id)).toEqual([true, true]);
  });

  test('a second acknowledgement of one interaction gets 40060; an unknown command is refused before sending', async () => {
    const { s, c } = await boot();
    const alice = s.userByName('alice');
    const got = nextInteraction(c);
    const rec = s.slash(alice.id, 'record start');
    const interaction = await got;
    await interaction.reply('one');
    const second = await fetch(`${s.restUrl}/v10/interactions/${rec.id}/${rec.token}/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 4, data: { content: 'two' } }),
    });
    expect(await second.json()).toEqual({ message: 'Interaction has already been acknowledged.', code: 40060 });
    expect(() => s.slash(alice.id, 'record explode')).toThrow(/needs one of: start, status/);
    expect(() => s.slash(alice.id, 'recordings list')).toThrow(/not registered/);
  });

  test('DMs: channel creation, messages, a user with DMs closed gets 50007, and incoming DMs arrive', async () => {
    const { s, c } = await boot();
    const alice = s.userByName('alice');
    const dora = s.userByName('dora');
    await (await c.users.fetch(alice.id)).send('link: http://127.0.0.1:9/x');
    expect(s.dmsTo(alice.id).map((m) => m.content)).toEqual(['link: http://127.0.0.1:9/x']);
    const closed = await (await c.users.fetch(dora.id)).send('hi').catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(DiscordAPIError);
    expect((closed as DiscordAPIError).code).toBe(50007);
    const incoming = new Promise<string>((resolve) =>
      c.on(Events.MessageCreate, (m) => m.channel.type === ChannelType.DM && !m.author.bot && resolve(m.content)),
    );
    s.sendDm(alice.id, 'download');
    expect(await incoming).toBe('download');
    expect(s.allDms().map((d) => d.userId)).toEqual([alice.id]);
  });

  test('denied Send Messages answers 50013; denied Connect leaves the voice connection unanswered', async () => {
    const { s, c } = await boot({ botDeny: { text: ['SendMessages'], voice: ['Connect'] } });
    const channel = await c.channels.fetch(s.textChannelId);
    if (!channel?.isSendable()) throw new Error('not sendable');
    const denied = await channel.send('x').catch((e: unknown) => e);
    expect((denied as DiscordAPIError).code).toBe(50013);
    const guild = c.guilds.cache.get(s.guildId);
    if (!guild) throw new Error('no guild');
    expect(
      guild.channels.cache
        .get(s.voiceChannelId)
        ?.permissionsFor(c.user?.id ?? '')
        ?.has('Connect'),
    ).toBe(false);
    const ignored = s.waitFor((e) => e.kind === 'voice' && e.event === 'join-ignored');
    connection = connectVoice(c, s);
    await ignored;
    // Ignored means nothing comes back: without a VOICE_SERVER_UPDATE the library has no voice server to
    // connect to, so the connection can never become ready.
    const answers = s.log.entries.filter(
      (e) =>
        e.kind === 'gateway-out' &&
        (e.t === 'VOICE_SERVER_UPDATE' || (e.t === 'VOICE_STATE_UPDATE' && (e.d as { user_id?: string }).user_id === s.botUserId)),
    );
    expect(answers).toEqual([]);
    expect(connection.state.status).not.toBe(VoiceConnectionStatus.Ready);
  });

  test('nickname change comes back as GUILD_MEMBER_UPDATE; voice channel status is stored', async () => {
    const { s, c } = await boot();
    const guild = c.guilds.cache.get(s.guildId);
    if (!guild?.members.me) throw new Error('no me');
    const updated = new Promise<string | null>((resolve) =>
      c.on(Events.GuildMemberUpdate, (_old, m) => m.id === s.botUserId && resolve(m.nickname)),
    );
    await guild.members.me.setNickname('🔴 Recording');
    expect(await updated).toBe('🔴 Recording');
    connection = await joinVoice(c, s);
    await c.rest.put(`/channels/${s.voiceChannelId}/voice-status`, { body: { status: 'Recording' } });
    expect(s.world.channels.get(s.voiceChannelId)?.status).toBe('Recording');
  });

  test('the gateway resumes after op 7 Reconnect and keeps dispatching', async () => {
    const { s, c } = await boot();
    const alice = s.userByName('alice');
    const resumed = s.waitFor((e) => e.kind === 'gateway-out' && e.t === 'RESUMED', 30_000);
    s.requestGatewayReconnect();
    await resumed;
    expect(s.log.entries.some((e) => e.kind === 'gateway-in' && e.op === 6)).toBe(true);
    const got = nextInteraction(c);
    s.slash(alice.id, 'record start');
    expect((await got).commandName).toBe('record');
  });

  test('listens on loopback only', async () => {
    const s = await startDiscordSim();
    sim = s;
    expect(s.boundAddresses.map((b) => b.service).sort()).toEqual(['gateway', 'rest', 'voice-udp', 'voice-wss']);
    for (const bound of s.boundAddresses) expect(bound.address).toBe('127.0.0.1');
  });
});
