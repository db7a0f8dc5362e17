import { afterEach, describe, expect, test } from 'vitest';
import { Events, MessageFlags, SlashCommandBuilder, type Client, type Interaction } from 'discord.js';
import { loginClient, startDiscordSim, type DiscordSim } from '../../discord-sim/index.ts';

const record = new SlashCommandBuilder()
  .setName('record')
  .setDescription('Record this voice channel')
  .addSubcommand((s) => s.setName('start').setDescription('Start'))
  .addSubcommand((s) => s.setName('stop').setDescription('Stop'));
const recordings = new SlashCommandBuilder()
  .setName('recordings')
  .setDescription('Your recordings')
  .addSubcommand((s) =>
    s
      .setName('download')
      .setDescription('Download')
      .addStringOption((o) => o.setName('id').setDescription('id').setRequired(true)),
  );

let sim: DiscordSim | null = null;
let client: Client | null = null;
afterEach(async () => {
  await client?.destroy();
  await sim?.close();
  client = null;
  sim = null;
});

describe('discord.js against the stand-in gateway and REST', () => {
  test('logs in, sees the guild, registers commands and answers a slash command through the interaction callback', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    client = await loginClient(sim);
    const guild = client.guilds.cache.get(sim.guildId);
    expect(guild?.channels.cache.get(sim.voiceChannelId)?.isVoiceBased()).toBe(true);
    expect(guild?.members.cache.get(alice.id)?.user.username).toBe('alice');

    await client.application?.commands.set([record.toJSON(), recordings.toJSON()], sim.guildId);
    const seen: string[] = [];
    client.on(Events.InteractionCreate, async (interaction: Interaction) => {
      if (!interaction.isChatInputCommand()) return;
      seen.push(`${interaction.commandName} ${interaction.options.getSubcommand()} ${interaction.options.getString('id') ?? ''}`.trim());
      await interaction.reply({
        content: `hello ${interaction.user.username}`,
        flags: interaction.commandName === 'recordings' ? MessageFlags.Ephemeral : undefined,
      });
    });

    const first = sim.slash(alice.id, 'record start');
    const reply = await sim.waitForInteractionResponse(first);
    expect(reply?.content).toBe('hello alice');
    expect(sim.messagesIn(sim.textChannelId).map((m) => m.content)).toEqual(['hello alice']);

    const second = sim.slash(alice.id, 'recordings download 3f2a');
    const ephemeral = await sim.waitForInteractionResponse(second);
    expect(ephemeral?.flags).toBe(MessageFlags.Ephemeral);
    expect(seen).toEqual(['record start', 'recordings download 3f2a']);

    const callbacks = sim.log.rest({ method: 'POST', route: '/interactions/:id/:token/callback' });
    expect(callbacks.map((c) => c.status)).toEqual([204, 204]);
    expect(callbacks[0]?.body).toMatchObject({ type: 4, data: { content: 'hello alice' } });
  });

  test('unknown routes and entities answer like Discord, with rate-limit headers', async () => {
    sim = await startDiscordSim();
    const auth = { authorization: `Bot ${sim.token}` };
    const unknownRoute = await fetch(`${sim.restUrl}/v10/nothing/here`, { headers: auth });
    expect(unknownRoute.status).toBe(404);
    expect(await unknownRoute.json()).toEqual({ message: '404: Not Found', code: 0 });
    expect(unknownRoute.headers.get('x-ratelimit-limit')).not.toBeNull();
    const unknownChannel = await fetch(`${sim.restUrl}/v10/channels/1/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"content":"x"}',
    });
    expect(await unknownChannel.json()).toEqual({ message: 'Unknown Channel', code: 10003 });
    for (const name of ['x-ratelimit-remaining', 'x-ratelimit-reset', 'x-ratelimit-reset-after', 'x-ratelimit-bucket']) {
      expect(unknownChannel.headers.get(name), name).not.toBeNull();
    }
    const noAuth = await fetch(`${sim.restUrl}/v10/users/@me`);
    expect(noAuth.status).toBe(401);
  });
});
