import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import {
  ApplicationCommandType,
  ChannelType,
  ComponentType,
  GatewayIntentBits,
  InteractionContextType,
  InteractionType,
  type APIChatInputApplicationCommandInteraction,
  type APIMessage,
  type APIMessageComponentInteraction,
  type APIModalSubmitInteraction,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord-api-types/v10';
import {
  World,
  type GuildOptions,
  type SimGuild,
  type SimUser,
  type SimUserInput,
  type StoredMessage,
  type WorldOptions,
} from './world.ts';
import { SimLog, type SimLogEntry } from './log.ts';
import { CommandRegistry, parseSlash, type InteractionRecord } from './interactions.ts';
import { startRest, messageText, type RateLimitBurst } from './rest.ts';
import { startGateway, type VoiceStateRequest } from './gateway.ts';
import { DEFAULT_DAVE, startVoiceServer, type DaveOptions, type VoiceSession } from './voice-server.ts';
import type { DaveGroup } from './dave-group.ts';
import { createTrustedLoopbackCertificate } from './tls-trust.ts';
import { SpeakerEngine, type SpeakOptions, type Utterance } from './speaker.ts';
import { loadSpeech, type GateOptions, type Speech } from './audio-source.ts';
import type { NetworkFaults } from './faults.ts';
import type { PermissionName } from './permissions.ts';

export interface DiscordSimOptions extends Omit<WorldOptions, 'now'> {
  /**
   * How many guilds the bot is in at start (default 1). The first is set up by the options here and its ids
   * are on the handle (`guildId`, `voiceChannelId`...); the others are laid out alike (`sim.guilds()`).
   */
  guilds?: number;
  /** Bot token the sim accepts (REST `Authorization: Bot …` and gateway Identify). Default 'sim-token'. */
  token?: string;
  /** People to create before the bot logs in (they are in GUILD_CREATE's member list). */
  users?: SimUserInput[];
  /** Commands registered before the bot starts, as if scripts/deploy-commands.ts had run (guild scope). */
  commands?: RESTPutAPIApplicationCommandsJSONBody;
  /** Privileged intents enabled for the application. Default: all (GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT). */
  privilegedIntents?: number;
  gatewayHeartbeatMs?: number;
  voiceHeartbeatMs?: number;
  /** Default network faults for every simulated speaker. */
  faults?: NetworkFaults;
  /** REST bucket size per route and major parameter. Default 50 requests per second. */
  rateLimit?: { limit: number; windowMs: number };
  /** Monotonic ms clock for pacing audio and scenario timing. Default performance.now. */
  clock?: () => number;
  /**
   * DAVE end-to-end encryption on the voice server: on by default, as Discord requires it on voice channels.
   * `false` for the plain path; an object to tune the group's timing or inject its faults.
   */
  dave?: boolean | Partial<DaveOptions>;
}

/** How a simulated person's client joins a call. */
interface JoinOptions {
  /**
   * Fault: the voice server sends the DAVE proposals that add this user before the op 11 that announces them
   * to bots, so a bot's MLS layer sees an Add for a user it was never told about.
   */
  clientsConnectLate?: boolean;
}

export interface DiscordSim {
  readonly restUrl: string;
  readonly gatewayUrl: string;
  readonly voiceEndpoint: string;
  readonly token: string;
  readonly applicationId: string;
  readonly botUserId: string;
  readonly guildId: string;
  readonly textChannelId: string;
  readonly voiceChannelId: string;
  /** a second voice channel with user_limit 2 */
  readonly otherVoiceChannelId: string;
  readonly log: SimLog;
  readonly world: World;
  readonly speakers: SpeakerEngine;
  readonly clock: () => number;
  /** Options to spread into `new Client({...})` so discord.js talks to the sim. */
  readonly clientOptions: { rest: { api: string } };
  /**
   * The stand-in's self-signed certificate (PEM), the CA for its `wss://` voice server. This process trusts it
   * already; a bot in a child process trusts it through NODE_EXTRA_CA_CERTS, never by turning verification off.
   */
  readonly caCertPem: string;
  /** Every socket the stand-in listens on (all loopback). */
  readonly boundAddresses: { service: 'rest' | 'gateway' | 'voice-wss' | 'voice-udp'; address: string; port: number }[];

  /** Every guild the bot is in, the primary first. */
  guilds(): SimGuild[];
  /** Adds the bot to another guild laid out as the first (GUILD_CREATE); the start-up commands are registered there too. */
  addGuild(options?: GuildOptions): SimGuild;
  /** A new person, a member of `input.guildId` (default: the primary guild). */
  addUser(input: SimUserInput): SimUser;
  /** Gives a member a new role with these guild-wide permissions (GUILD_ROLE_CREATE + GUILD_MEMBER_UPDATE); returns its id. */
  grantRole(userId: string, permissions: readonly PermissionName[], name?: string): string;
  userByName(username: string): SimUser;
  joinVoice(userId: string, channelId?: string, options?: JoinOptions): void;
  /** DAVE on the voice server: whether it is on, and each channel's MLS group (undefined with DAVE off). */
  readonly dave: {
    readonly enabled: boolean;
    group(channelId?: string): DaveGroup | undefined;
    /** Resolves when the channel's group has caught up with who is in it (at once with DAVE off). */
    settled(channelId?: string): Promise<void>;
    /** From the next Identify on, clients must offer this DAVE version (less is closed with 4017). */
    requireVersion(version: number): void;
  };
  leaveVoice(userId: string): void;
  slash(userId: string, text: string, options?: { channelId?: string }): InteractionRecord;
  /** Clicks a button (by custom id) of a message the bot posted; throws if the message has no such button. */
  clickButton(userId: string, messageId: string, customId: string): InteractionRecord;
  /** Submits the modal the bot answered `opened` with, filling its text inputs by custom id. */
  submitModal(userId: string, opened: InteractionRecord, values: Record<string, string>): InteractionRecord;
  waitForInteractionResponse(interaction: InteractionRecord, timeoutMs?: number): Promise<APIMessage | null>;
  interaction(id: string): InteractionRecord | undefined;
  sendDm(userId: string, content: string): APIMessage;
  react(userId: string, messageId: string, emoji: string): void;
  unreact(userId: string, messageId: string, emoji: string): void;
  /**
   * The latest message the bot posted that carries a reaction by the bot itself: in `channelId` when given;
   * otherwise in the chat of the voice channel the bot is in (roomrec posts there, text-in-voice), else in
   * any guild channel.
   */
  consentMessage(channelId?: string): StoredMessage | null;
  /** Reacts to the consent message with the bot's own emoji; throws if there is none. */
  reactToConsent(userId: string, channelId?: string): { messageId: string; emoji: string };
  /** Removes the reaction added by reactToConsent. */
  withdrawConsent(userId: string): { messageId: string; emoji: string };
  loadSpeech(path: string, gate?: GateOptions): Promise<Speech>;
  speak(userId: string, speech: Speech, options?: SpeakOptions): Utterance;
  /** The simulated user's client never announces its SSRC (op 5), so receivers cannot map it. */
  setSsrcAnnounced(userId: string, announced: boolean): void;
  setFaults(faults: NetworkFaults): void;
  /** The bot's voice session in a guild (default: the primary guild). */
  botVoiceSession(guildId?: string): VoiceSession | undefined;
  /** Forces the bot's voice socket in a guild (default: the primary) down (see VoiceServer.disconnect for the codes). */
  disconnectBotVoice(how?: number | 'drop', guildId?: string): void;
  /** Sends op 7 Reconnect on the main gateway. */
  requestGatewayReconnect(): void;
  /** Closes the main gateway socket with `code`: 4000 (the default) and other resumable codes make the client resume. */
  dropGateway(code?: number): void;
  /**
   * A burst of rate limiting: for `forMs`, every request to an authenticated route (the bot's token; not the
   * interaction callback or webhooks, which Discord limits apart) whose route template starts with one of
   * `routes` (default: all of them) is answered 429 with `retry_after` of `retryAfterMs`, as a shared limit
   * would. discord.js must wait and retry.
   */
  rateLimitBurst(burst: RateLimitBurst): void;
  setBotOverwrite(channelId: string, change: { allow?: readonly PermissionName[]; deny?: readonly PermissionName[] }): void;
  /** Messages in a channel as stored (oldest first; includes ephemeral interaction replies, flags 64). */
  messagesIn(channelId: string): APIMessage[];
  /** Messages the bot sent to a user by DM, oldest first. */
  dmsTo(userId: string): APIMessage[];
  /** Every DM the bot sent, in order. */
  allDms(): { userId: string; message: APIMessage; text: string }[];
  waitFor<T extends SimLogEntry>(predicate: (entry: SimLogEntry) => entry is T, timeoutMs?: number, includePast?: boolean): Promise<T>;
  waitFor(predicate: (entry: SimLogEntry) => boolean, timeoutMs?: number, includePast?: boolean): Promise<SimLogEntry>;
  close(): Promise<void>;
}

export async function startDiscordSim(options: DiscordSimOptions = {}): Promise<DiscordSim> {
  const clock = options.clock ?? (() => performance.now());
  const token = options.token ?? 'sim-token';
  const world = new World(options);
  const log = new SimLog(clock);
  const commands = new CommandRegistry(world.newId, world.applicationId);
  const addGuild = (guildOptions: GuildOptions = {}) => {
    const guild = world.addGuild(guildOptions);
    if (options.commands) commands.put(guild.id, options.commands);
    return guild;
  };
  if (options.commands) commands.put(world.guildId, options.commands);
  for (let n = 1; n < (options.guilds ?? 1); n++) addGuild();
  for (const user of options.users ?? []) world.addUser(user);
  const interactions = new Map<string, InteractionRecord>();
  let faults: NetworkFaults = options.faults ?? {};

  const certificate = await createTrustedLoopbackCertificate();
  let speakers: SpeakerEngine | null = null;
  const daveOptions: DaveOptions =
    options.dave === false ? { ...DEFAULT_DAVE, enabled: false } : { ...DEFAULT_DAVE, ...(options.dave === true ? {} : options.dave) };
  const voice = await startVoiceServer({
    log,
    certificate,
    heartbeatIntervalMs: options.voiceHeartbeatMs ?? 13_750,
    usersInChannel: (channelId) => world.usersInVoice(channelId),
    speakerSsrc: (userId) => speakers?.ssrcOf(userId) ?? null,
    dave: daveOptions,
  });
  // End-to-end encryption happens in the speaker's client, before the media server relays the frame to anyone.
  const e2ee = (userId: string, opus: Buffer): Buffer => {
    const channelId = world.voiceStateOf(userId)?.channelId;
    const group = channelId ? voice.daveGroup(channelId) : undefined;
    return group ? group.encrypt(userId, opus) : opus;
  };
  speakers = new SpeakerEngine(world, voice, log, clock, () => faults, e2ee);
  const speakerEngine = speakers;

  const onVoiceStateRequest = (request: VoiceStateRequest) => {
    const botId = world.bot.id;
    const guild = world.guilds.get(request.guildId);
    if (!guild) return;
    if (request.channelId === null) {
      world.setVoiceState(botId, null, { guildId: guild.id });
      voice.release(guild.id);
      return;
    }
    const channel = world.channels.get(request.channelId);
    const denied = (reason: string) => log.add({ kind: 'voice', event: 'join-ignored', detail: { channelId: request.channelId, reason } });
    // Discord ignores op 4 it will not honour: no event comes back, the library times out.
    if (!channel || channel.type !== ChannelType.GuildVoice || channel.guildId !== guild.id) return void denied('not a voice channel');
    if (!world.can(botId, channel.id, 'ViewChannel', 'Connect')) return void denied('missing Connect');
    const occupants = world.usersInVoice(channel.id).filter((id) => id !== botId).length;
    if (channel.userLimit > 0 && occupants >= channel.userLimit && !world.can(botId, channel.id, 'MoveMembers'))
      return void denied('channel full');

    const existing = voice.session(guild.id);
    const alive = existing?.ws !== null && existing?.ws !== undefined;
    world.setVoiceState(botId, channel.id, { sessionId: request.sessionId, selfDeaf: request.selfDeaf, selfMute: request.selfMute });
    if (existing && alive && existing.sessionId === request.sessionId) {
      voice.update(guild.id, { channelId: channel.id, selfDeaf: request.selfDeaf });
      return;
    }
    const session = voice.allocate({
      guildId: guild.id,
      userId: botId,
      sessionId: request.sessionId,
      channelId: channel.id,
      selfDeaf: request.selfDeaf,
    });
    world.dispatch('VOICE_SERVER_UPDATE', { token: session.token, guild_id: guild.id, endpoint: voice.endpoint }, null);
  };

  const gateway = await startGateway({
    world,
    log,
    token,
    heartbeatIntervalMs: options.gatewayHeartbeatMs ?? 41_250,
    privilegedIntents:
      options.privilegedIntents ?? GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent,
    onVoiceStateRequest,
  });
  const rest = await startRest({
    world,
    commands,
    interactions,
    log,
    token,
    gatewayUrl: () => gateway.url,
    rateLimit: options.rateLimit ?? { limit: 50, windowMs: 1000 },
  });

  const consentReactions = new Map<string, { messageId: string; emoji: string }>();

  const storedMessage = (messageId: string): StoredMessage => {
    const stored = world.messages.get(messageId);
    if (!stored) throw new Error(`discord-sim: no message ${messageId}`);
    return stored;
  };
  const botDmMessages = (userId: string) => {
    const channelId = world.dmChannelByUser.get(userId);
    return channelId
      ? [...world.messages.values()].filter((m) => m.message.channel_id === channelId && m.message.author.id === world.bot.id)
      : [];
  };

  /**
   * The latest message the bot posted with its own reaction: in `channelId` when given; otherwise in the chat
   * of the voice channel the bot is in in `guild`, else in any guild channel (that guild's first).
   */
  const consentMessageIn = (guild: SimGuild, channelId: string | undefined): StoredMessage | null => {
    const candidates = [...world.messages.values()].filter(
      (m) =>
        !m.ephemeral &&
        m.message.author.id === world.bot.id &&
        world.channels.get(m.message.channel_id)?.type !== ChannelType.DM &&
        [...m.reactions.values()].some((users) => users.includes(world.bot.id)),
    );
    if (channelId !== undefined) return candidates.filter((m) => m.message.channel_id === channelId).at(-1) ?? null;
    const botVoiceChannel = world.voiceStateOf(world.bot.id, guild.id)?.channelId;
    const inGuild = candidates.filter((m) => world.channels.get(m.message.channel_id)?.guildId === guild.id);
    return candidates.filter((m) => m.message.channel_id === botVoiceChannel).at(-1) ?? inGuild.at(-1) ?? candidates.at(-1) ?? null;
  };

  /** A new interaction by `userId` in `channelId`, registered so the REST callbacks find it. */
  function newInteraction(userId: string, channelId: string, commandName: string, text: string): InteractionRecord {
    const record: InteractionRecord = {
      id: world.newId(),
      token: `aW50ZXJhY3Rpb246${randomBytes(24).toString('base64url')}`,
      userId,
      channelId,
      commandName,
      text,
      createdAt: Date.now(),
      responded: false,
      callbackType: null,
      originalMessageId: null,
      ephemeral: false,
    };
    interactions.set(record.id, record);
    return record;
  }

  /** What every guild interaction payload carries besides its type's `data` (discord-api-types' APIBaseInteraction). */
  function interactionBase(record: InteractionRecord, type: InteractionType) {
    const { channelId, userId } = record;
    const guildId = world.guildOfChannel(channelId).id;
    return {
      id: record.id,
      application_id: world.applicationId,
      type,
      guild_id: guildId,
      guild: { id: guildId, features: [], locale: 'en-US' },
      channel: world.apiChannel(channelId),
      channel_id: channelId,
      member: { ...world.apiMember(userId, guildId), permissions: world.permissionsOf(userId, channelId).toString() },
      token: record.token,
      version: 1,
      app_permissions: world.permissionsOf(world.bot.id, channelId).toString(),
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': guildId },
      context: InteractionContextType.Guild,
      attachment_size_limit: 10_485_760,
    };
  }

  const sim: DiscordSim = {
    restUrl: rest.url,
    gatewayUrl: gateway.url,
    voiceEndpoint: voice.endpoint,
    token,
    applicationId: world.applicationId,
    botUserId: world.bot.id,
    guildId: world.guildId,
    textChannelId: world.textChannelId,
    voiceChannelId: world.voiceChannelId,
    otherVoiceChannelId: world.otherVoiceChannelId,
    log,
    world,
    speakers: speakerEngine,
    clock,
    clientOptions: { rest: { api: rest.url } },
    caCertPem: certificate.cert,
    boundAddresses: [
      { service: 'rest', ...rest.bound },
      { service: 'gateway', ...gateway.bound },
      { service: 'voice-wss', ...voice.bound.tls },
      { service: 'voice-udp', ...voice.bound.udp },
    ],

    guilds: () => [...world.guilds.values()],
    addGuild,
    addUser: (input) => world.addUser(input),
    grantRole: (userId, permissions, name) => world.grantRole(userId, permissions, name),
    userByName(username) {
      const user = [...world.users.values()].find((u) => u.username === username);
      if (!user) throw new Error(`discord-sim: no user named ${username}`);
      return user;
    },
    joinVoice(userId, channelId = world.voiceChannelId, join = {}) {
      const previous = world.voiceStateOf(userId)?.channelId;
      if (previous === channelId) return;
      if (previous) sim.leaveVoice(userId);
      world.setVoiceState(userId, channelId);
      // On Discord a client joining a call is announced (op 11), then its DAVE key package is proposed (op 27).
      if (!join.clientsConnectLate) voice.clientConnect(channelId, userId);
      voice.daveGroup(channelId)?.addSimulated(userId);
      if (join.clientsConnectLate) voice.clientConnect(channelId, userId);
      speakerEngine.connected(userId, channelId);
    },
    leaveVoice(userId) {
      const previous = world.voiceStateOf(userId)?.channelId;
      if (!previous) return;
      world.setVoiceState(userId, null);
      voice.clientDisconnect(previous, userId);
      voice.daveGroup(previous)?.remove(userId);
    },
    dave: {
      enabled: options.dave !== false,
      group: (channelId = world.voiceChannelId) => voice.daveGroup(channelId),
      settled: async (channelId = world.voiceChannelId) => voice.daveGroup(channelId)?.settled(),
      requireVersion: (version) => void (daveOptions.requiredVersion = version),
    },
    slash(userId, text, { channelId = world.textChannelId } = {}) {
      const guildId = world.guildOfChannel(channelId).id;
      const parsed = parseSlash(text, commands, guildId, (word) => {
        const id = word.replace(/^<@!?(\d+)>$/, '$1');
        const user = world.users.get(id) ?? [...world.users.values()].find((u) => u.username === word);
        if (!user) throw new Error(`discord-sim: no user "${word}"`);
        return user.id;
      });
      const record = newInteraction(userId, channelId, parsed.command.name, text);
      const resolvedUsers = parsed.userIds.filter((id) => world.users.has(id));
      const payload = {
        ...interactionBase(record, InteractionType.ApplicationCommand),
        data: {
          id: parsed.command.id,
          name: parsed.command.name,
          type: ApplicationCommandType.ChatInput,
          guild_id: guildId,
          ...(parsed.options.length > 0 ? { options: parsed.options } : {}),
          ...(resolvedUsers.length > 0
            ? {
                resolved: {
                  users: Object.fromEntries(resolvedUsers.map((id) => [id, world.apiUser(id)])),
                  members: Object.fromEntries(
                    resolvedUsers
                      .filter((id) => world.requireGuild(guildId).members.has(id))
                      .map((id) => [
                        id,
                        { ...world.memberWithoutUser(id, guildId), permissions: world.permissionsOf(id, channelId).toString() },
                      ]),
                  ),
                },
              }
            : {}),
        },
      } as unknown as APIChatInputApplicationCommandInteraction;
      world.dispatch('INTERACTION_CREATE', payload, null);
      return record;
    },
    clickButton(userId, messageId, customId) {
      const stored = world.messages.get(messageId);
      if (!stored) throw new Error(`discord-sim: no message ${messageId}`);
      const customIds = (stored.message.components ?? []).flatMap((row) =>
        ('components' in row ? (row.components as { custom_id?: string }[]) : []).map((c) => c.custom_id),
      );
      if (!customIds.includes(customId)) {
        throw new Error(`discord-sim: message ${messageId} has no button "${customId}"`);
      }
      const record = newInteraction(userId, stored.message.channel_id, customId, `button ${customId}`);
      const payload = {
        ...interactionBase(record, InteractionType.MessageComponent),
        data: { custom_id: customId, component_type: ComponentType.Button },
        message: world.messageView(stored),
      } as unknown as APIMessageComponentInteraction;
      world.dispatch('INTERACTION_CREATE', payload, null);
      return record;
    },
    submitModal(userId, opened, values) {
      const modal = opened.modal;
      if (!modal) throw new Error(`discord-sim: interaction ${opened.id} was not answered with a modal`);
      const unknown = Object.keys(values).filter((k) => !modal.inputs.includes(k));
      if (unknown.length > 0) throw new Error(`discord-sim: the modal "${modal.customId}" has no input ${unknown.join(', ')}`);
      const record = newInteraction(userId, opened.channelId, modal.customId, `modal ${modal.customId}`);
      const payload = {
        ...interactionBase(record, InteractionType.ModalSubmit),
        data: {
          custom_id: modal.customId,
          components: modal.inputs.map((id) => ({
            type: ComponentType.ActionRow,
            components: [{ type: ComponentType.TextInput, custom_id: id, value: values[id] ?? '' }],
          })),
        },
      } as unknown as APIModalSubmitInteraction;
      world.dispatch('INTERACTION_CREATE', payload, null);
      return record;
    },
    async waitForInteractionResponse(interaction, timeoutMs = 30_000) {
      if (!interaction.responded) {
        await sim.waitFor((e) => e.kind === 'rest' && e.interactionId === interaction.id && e.status < 300, timeoutMs, true);
      }
      const stored = interaction.originalMessageId ? world.messages.get(interaction.originalMessageId) : undefined;
      return stored ? world.messageView(stored) : null;
    },
    interaction: (id) => interactions.get(id),
    sendDm(userId, content) {
      const channelId = world.dmChannelFor(userId);
      return world.createMessage({ channelId, authorId: userId, body: { content } }).message;
    },
    react(userId, messageId, emoji) {
      world.addReaction(storedMessage(messageId), emoji, userId);
    },
    unreact(userId, messageId, emoji) {
      world.removeReaction(storedMessage(messageId), emoji, userId);
    },
    consentMessage: (channelId) => consentMessageIn(world.primary, channelId),
    reactToConsent(userId, channelId) {
      // A person reacts in the guild whose call they are in.
      const guild = world.guilds.get(world.voiceStateOf(userId)?.guildId ?? '') ?? world.guildOfMember(userId) ?? world.primary;
      const stored = consentMessageIn(guild, channelId);
      if (!stored) throw new Error('discord-sim: the bot has posted no message with its own reaction (no consent message to react to)');
      const emoji = [...stored.reactions].find(([, users]) => users.includes(world.bot.id))?.[0] ?? '';
      world.addReaction(stored, emoji, userId);
      const reaction = { messageId: stored.message.id, emoji };
      consentReactions.set(userId, reaction);
      return reaction;
    },
    withdrawConsent(userId) {
      const reaction = consentReactions.get(userId);
      if (!reaction) throw new Error(`discord-sim: ${userId} never reacted to a consent message`);
      world.removeReaction(storedMessage(reaction.messageId), reaction.emoji, userId);
      consentReactions.delete(userId);
      return reaction;
    },
    loadSpeech: (path, gate) => loadSpeech(path, gate),
    speak: (userId, speech, speakOptions) => speakerEngine.speak(userId, speech, speakOptions),
    setSsrcAnnounced: (userId, announced) => speakerEngine.setAnnounce(userId, announced),
    setFaults(next) {
      faults = next;
    },
    botVoiceSession: (guildId = world.guildId) => voice.session(guildId),
    disconnectBotVoice: (how = 4015, guildId = world.guildId) => voice.disconnect(guildId, how),
    requestGatewayReconnect: () => gateway.requestReconnect(),
    dropGateway: (code) => gateway.dropConnections(code),
    rateLimitBurst: (burst) => rest.rateLimitBurst(burst),
    setBotOverwrite: (channelId, change) => world.setBotOverwrite(channelId, change),
    messagesIn: (channelId) =>
      [...world.messages.values()].filter((m) => m.message.channel_id === channelId).map((m) => world.messageView(m)),
    dmsTo: (userId) => botDmMessages(userId).map((m) => world.messageView(m)),
    allDms() {
      const dmChannels = new Map([...world.dmChannelByUser].map(([userId, channelId]) => [channelId, userId]));
      return [...world.messages.values()]
        .filter((m) => dmChannels.has(m.message.channel_id) && m.message.author.id === world.bot.id)
        .map((m) => ({ userId: dmChannels.get(m.message.channel_id) ?? '', message: world.messageView(m), text: messageText(m.message) }));
    },
    waitFor(predicate: (entry: SimLogEntry) => boolean, timeoutMs = 30_000, includePast = false): Promise<SimLogEntry> {
      if (includePast) {
        const past = log.entries.find(predicate);
        if (past) return Promise.resolve(past);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          off();
          reject(new Error(`discord-sim: waited ${timeoutMs} ms for a log entry that never came`));
        }, timeoutMs);
        const off = log.onEntry((entry) => {
          if (!predicate(entry)) return;
          clearTimeout(timer);
          off();
          resolve(entry);
        });
      });
    },
    async close() {
      speakerEngine.stopAll();
      await Promise.all([rest.close(), gateway.close(), voice.close()]);
    },
  } as DiscordSim;
  return sim;
}
