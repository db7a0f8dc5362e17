import { EventEmitter } from 'node:events';
import {
  ChannelType,
  GatewayIntentBits,
  MessageType,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIMessage,
  type APIRole,
  type APIUser,
  type GatewayVoiceState,
  type ChannelFlags,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
} from 'discord-api-types/v10';
import { createSnowflakeFactory, type SnowflakeFactory } from './ids.ts';
import { bitsOf, computePermissions, type Overwrite, type PermissionName } from './permissions.ts';

/** How a test describes a simulated person. */
export interface SimUserInput {
  username: string;
  globalName?: string;
  dmsClosed?: boolean;
  /** Guild-wide permissions beyond @everyone's, given through a role of their own (e.g. ['ManageChannels']). */
  permissions?: readonly PermissionName[];
  /** The guild they are a member of (default: the first guild). */
  guildId?: string;
}

/** A simulated Discord user (a person, or the bot itself). */
export interface SimUser {
  id: string;
  username: string;
  globalName: string;
  bot: boolean;
  /** "Allow direct messages from server members" switched off: the bot gets 50007 when it DMs them. */
  dmsClosed: boolean;
}

export interface SimChannel {
  id: string;
  /** null for a DM channel */
  guildId: string | null;
  type: ChannelType.GuildText | ChannelType.GuildVoice | ChannelType.DM;
  name: string;
  position: number;
  userLimit: number;
  overwrites: Overwrite[];
  /** voice channel status (PUT /channels/:id/voice-status) */
  status: string | null;
  /** DM channels only */
  recipientId: string | null;
}

export interface SimVoiceState {
  guildId: string;
  userId: string;
  channelId: string;
  sessionId: string;
  selfMute: boolean;
  selfDeaf: boolean;
}

export interface StoredMessage {
  message: APIMessage;
  /** Ephemeral interaction replies exist only for their recipient; channel routes answer 10008 for them. */
  ephemeral: boolean;
  /** emoji key ("✅" or "name:id") → user ids in reaction order */
  reactions: Map<string, string[]>;
}

/** A gateway dispatch produced by a change in the world; the gateway filters it by intents. */
export interface WorldDispatch {
  t: string;
  d: unknown;
  /** intent needed to receive it; null = always sent */
  intent: number | null;
}

export interface WorldOptions {
  botName?: string;
  guildName?: string;
  /** Permissions of the bot's role (guild-wide). Default: what roomrec needs. */
  botPermissions?: readonly PermissionName[];
  /** Per-channel denials for the bot, e.g. `{ text: ['SendMessages'], voice: ['Connect'] }`. */
  botDeny?: { text?: readonly PermissionName[]; voice?: readonly PermissionName[] };
  /** user_limit of the main voice channel (0 = unlimited) */
  voiceUserLimit?: number;
  now?: () => number;
}

const DEFAULT_BOT_PERMISSIONS: readonly PermissionName[] = [
  'ViewChannel',
  'SendMessages',
  'EmbedLinks',
  'AttachFiles',
  'AddReactions',
  'ReadMessageHistory',
  'UseApplicationCommands',
  'Connect',
  'Speak',
  'UseVAD',
  'ChangeNickname',
  'SetVoiceChannelStatus',
];
const EVERYONE_PERMISSIONS: readonly PermissionName[] = [
  'ViewChannel',
  'SendMessages',
  'AddReactions',
  'ReadMessageHistory',
  'UseApplicationCommands',
  'Connect',
  'Speak',
  'UseVAD',
  'ChangeNickname',
];

/** How a guild is set up: `WorldOptions` for the first one, `World.addGuild` for the others. */
export type GuildOptions = Pick<WorldOptions, 'guildName' | 'botPermissions' | 'botDeny' | 'voiceUserLimit'>;

interface SimMember {
  nick: string | null;
  roles: string[];
  joinedAt: string;
}

/**
 * One guild the bot is in, with what belongs to it alone: members, roles and voice states (a bot has one voice
 * state per guild). Channels and messages live in the world's maps, each channel naming its guild.
 */
export interface SimGuild {
  readonly id: string;
  readonly name: string;
  readonly ownerId: string;
  readonly botRoleId: string;
  readonly textChannelId: string;
  /** the main voice channel, where rooms are recorded */
  readonly voiceChannelId: string;
  /** a second voice channel with user_limit 2 */
  readonly otherVoiceChannelId: string;
  readonly members: Map<string, SimMember>;
  readonly roles: Map<string, { name: string; permissions: bigint; position: number }>;
  /** by user id */
  readonly voiceStates: Map<string, SimVoiceState>;
  /** the bot's nickname in this guild */
  botNick: string | null;
}

/**
 * The stand-in's model of Discord: the guilds the bot is in (one unless a test adds more), their channels,
 * members, roles, voice states, messages and reactions, plus DM channels. REST handlers and the gateway both
 * read and change it; every change that Discord would announce is emitted as a `dispatch` event. The first
 * guild's fields are also on the world itself (`guildId`, `voiceChannelId`, `members`...), for the many tests
 * that need only one.
 */
export class World extends EventEmitter<{ dispatch: [WorldDispatch] }> {
  readonly newId: SnowflakeFactory;
  readonly now: () => number;
  readonly applicationId: string;
  readonly bot: SimUser;
  /** in the order they were created; the first is the primary guild */
  readonly guilds = new Map<string, SimGuild>();
  readonly primary: SimGuild;
  readonly users = new Map<string, SimUser>();
  readonly channels = new Map<string, SimChannel>();
  readonly messages = new Map<string, StoredMessage>();
  readonly dmChannelByUser = new Map<string, string>();

  constructor(options: WorldOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    this.newId = createSnowflakeFactory(this.now);
    this.applicationId = this.newId();
    this.bot = {
      id: this.applicationId,
      username: options.botName ?? 'roomrec',
      globalName: options.botName ?? 'roomrec',
      bot: true,
      dmsClosed: false,
    };
    this.users.set(this.bot.id, this.bot);
    this.primary = this.createGuild({ guildName: 'Sim Guild', ...options });
  }

  get guildId(): string {
    return this.primary.id;
  }
  get guildName(): string {
    return this.primary.name;
  }
  get ownerId(): string {
    return this.primary.ownerId;
  }
  get botRoleId(): string {
    return this.primary.botRoleId;
  }
  get textChannelId(): string {
    return this.primary.textChannelId;
  }
  get voiceChannelId(): string {
    return this.primary.voiceChannelId;
  }
  get otherVoiceChannelId(): string {
    return this.primary.otherVoiceChannelId;
  }
  get members(): Map<string, SimMember> {
    return this.primary.members;
  }
  get roles(): SimGuild['roles'] {
    return this.primary.roles;
  }
  /** The primary guild's voice states (`voiceStateOf` finds a person's in any guild). */
  get voiceStates(): Map<string, SimVoiceState> {
    return this.primary.voiceStates;
  }
  get botNick(): string | null {
    return this.primary.botNick;
  }

  /**
   * Another guild with the bot in it, laid out as the first one (text channel, voice channel, small voice
   * channel, owner, @everyone and the bot's role), announced with GUILD_CREATE as when a bot is added to a server.
   */
  addGuild(options: GuildOptions = {}): SimGuild {
    const guild = this.createGuild({ guildName: `Sim Guild ${this.guilds.size + 1}`, ...options });
    this.dispatch('GUILD_CREATE', this.guildCreatePayload(guild.id), GatewayIntentBits.Guilds);
    return guild;
  }

  private createGuild(options: GuildOptions): SimGuild {
    const id = this.newId();
    const members = new Map<string, SimMember>();
    const roles: SimGuild['roles'] = new Map();
    const joinedAt = () => new Date(this.now()).toISOString();
    // Ids are taken in the order the single-guild stand-in always took them.
    const owner = this.createUser({ username: 'owner' });
    members.set(owner.id, { nick: null, roles: [], joinedAt: joinedAt() });
    roles.set(id, { name: '@everyone', permissions: bitsOf(EVERYONE_PERMISSIONS), position: 0 });
    const botRoleId = this.newId();
    roles.set(botRoleId, { name: this.bot.username, permissions: bitsOf(options.botPermissions ?? DEFAULT_BOT_PERMISSIONS), position: 1 });
    members.set(this.bot.id, { nick: null, roles: [botRoleId], joinedAt: joinedAt() });
    const botOverwrite = (deny: readonly PermissionName[] | undefined): Overwrite[] =>
      deny && deny.length > 0 ? [{ id: this.bot.id, type: 1, allow: 0n, deny: bitsOf(deny) }] : [];
    const textChannelId = this.addChannel({
      guildId: id,
      type: ChannelType.GuildText,
      name: 'general',
      overwrites: botOverwrite(options.botDeny?.text),
    });
    const voiceChannelId = this.addChannel({
      guildId: id,
      type: ChannelType.GuildVoice,
      name: 'Podcast',
      userLimit: options.voiceUserLimit ?? 0,
      overwrites: botOverwrite(options.botDeny?.voice),
    });
    const otherVoiceChannelId = this.addChannel({ guildId: id, type: ChannelType.GuildVoice, name: 'Lounge', userLimit: 2 });
    const guild: SimGuild = {
      id,
      name: options.guildName ?? 'Sim Guild',
      ownerId: owner.id,
      botRoleId,
      textChannelId,
      voiceChannelId,
      otherVoiceChannelId,
      members,
      roles,
      voiceStates: new Map(),
      botNick: null,
    };
    this.guilds.set(id, guild);
    return guild;
  }

  requireGuild(guildId: string): SimGuild {
    const guild = this.guilds.get(guildId);
    if (!guild) throw new Error(`discord-sim: no guild ${guildId}`);
    return guild;
  }

  /** The guild a channel belongs to; the primary guild for a DM or an unknown channel. */
  guildOfChannel(channelId: string): SimGuild {
    const guildId = this.channels.get(channelId)?.guildId;
    return (guildId ? this.guilds.get(guildId) : undefined) ?? this.primary;
  }

  /** A person's voice state, in whichever guild it is (a person is in one call at a time). */
  voiceStateOf(userId: string, guildId?: string): SimVoiceState | undefined {
    if (guildId !== undefined) return this.guilds.get(guildId)?.voiceStates.get(userId);
    for (const guild of this.guilds.values()) {
      const state = guild.voiceStates.get(userId);
      if (state) return state;
    }
    return undefined;
  }

  dispatch(t: string, d: unknown, intent: number | null): void {
    this.emit('dispatch', { t, d, intent });
  }

  private createUser(input: SimUserInput & { id?: string }): SimUser {
    const user: SimUser = {
      id: input.id ?? this.newId(),
      username: input.username,
      globalName: input.globalName ?? input.username,
      bot: false,
      dmsClosed: input.dmsClosed ?? false,
    };
    this.users.set(user.id, user);
    return user;
  }

  /** A new person, a member of `input.guildId` (default: the primary guild), announced with GUILD_MEMBER_ADD. */
  addUser(input: SimUserInput & { id?: string }): SimUser {
    const user = this.createUser(input);
    const guild = input.guildId ? this.requireGuild(input.guildId) : this.primary;
    const roles =
      input.permissions && input.permissions.length > 0 ? [this.createRole(`${input.username}'s role`, input.permissions, guild.id)] : [];
    guild.members.set(user.id, { nick: null, roles, joinedAt: new Date(this.now()).toISOString() });
    this.dispatch('GUILD_MEMBER_ADD', { ...this.apiMember(user.id, guild.id), guild_id: guild.id }, GatewayIntentBits.GuildMembers);
    return user;
  }

  /** A new guild role with these permissions, announced by GUILD_ROLE_CREATE as Discord does. */
  createRole(name: string, permissions: readonly PermissionName[], guildId = this.guildId): string {
    const guild = this.requireGuild(guildId);
    const id = this.newId();
    const position = Math.max(0, ...[...guild.roles.values()].map((r) => r.position)) + 1;
    guild.roles.set(id, { name, permissions: bitsOf(permissions), position });
    this.dispatch('GUILD_ROLE_CREATE', { guild_id: guildId, role: this.apiRole(id, guildId) }, GatewayIntentBits.Guilds);
    return id;
  }

  /** The first guild (in creation order) the user is a member of. */
  guildOfMember(userId: string): SimGuild | undefined {
    return [...this.guilds.values()].find((g) => g.members.has(userId));
  }

  /**
   * Gives a member a new role carrying `permissions` (guild-wide, subject to channel overwrites) and returns
   * the role's id. Discord announces the member's new roles with GUILD_MEMBER_UPDATE (GUILD_MEMBERS intent).
   */
  grantRole(userId: string, permissions: readonly PermissionName[], name = 'Moderator'): string {
    const guild = this.guildOfMember(userId);
    const member = guild?.members.get(userId);
    if (!guild || !member) throw new Error(`discord-sim: ${userId} is not a member`);
    const roleId = this.createRole(name, permissions, guild.id);
    member.roles.push(roleId);
    this.dispatch('GUILD_MEMBER_UPDATE', { ...this.apiMember(userId, guild.id), guild_id: guild.id }, GatewayIntentBits.GuildMembers);
    return roleId;
  }

  addChannel(input: {
    /** null (the default) only for a DM channel */
    guildId?: string | null;
    type: SimChannel['type'];
    name: string;
    userLimit?: number;
    overwrites?: Overwrite[];
    recipientId?: string;
  }): string {
    const id = this.newId();
    const guildId = input.guildId ?? null;
    this.channels.set(id, {
      id,
      guildId,
      type: input.type,
      name: input.name,
      position: [...this.channels.values()].filter((c) => c.guildId === guildId).length,
      userLimit: input.userLimit ?? 0,
      overwrites: input.overwrites ?? [],
      status: null,
      recipientId: input.recipientId ?? null,
    });
    return id;
  }

  permissionsOf(userId: string, channelId: string): bigint {
    const channel = this.channels.get(channelId);
    const guild = this.guildOfChannel(channelId);
    const member = guild.members.get(userId);
    if (!member) return 0n;
    const rolePermissions = new Map([...guild.roles].map(([id, r]) => [id, r.permissions]));
    return computePermissions({
      guildId: guild.id,
      ownerId: guild.ownerId,
      userId,
      memberRoleIds: member.roles,
      rolePermissions,
      overwrites: channel?.overwrites ?? [],
    });
  }

  can(userId: string, channelId: string, ...names: PermissionName[]): boolean {
    const channel = this.channels.get(channelId);
    if (channel?.type === ChannelType.DM) return true;
    const need = bitsOf(names);
    return (this.permissionsOf(userId, channelId) & need) === need;
  }

  /** Changes the bot's overwrites on a channel at run time (CHANNEL_UPDATE is dispatched, as Discord does). */
  setBotOverwrite(channelId: string, change: { allow?: readonly PermissionName[]; deny?: readonly PermissionName[] }): void {
    const channel = this.requireChannel(channelId);
    channel.overwrites = channel.overwrites.filter((o) => o.id !== this.bot.id);
    channel.overwrites.push({ id: this.bot.id, type: 1, allow: bitsOf(change.allow ?? []), deny: bitsOf(change.deny ?? []) });
    this.dispatch('CHANNEL_UPDATE', this.apiChannel(channelId), GatewayIntentBits.Guilds);
  }

  requireChannel(channelId: string): SimChannel {
    const channel = this.channels.get(channelId);
    if (!channel) throw new Error(`discord-sim: no channel ${channelId}`);
    return channel;
  }

  requireUser(userId: string): SimUser {
    const user = this.users.get(userId);
    if (!user) throw new Error(`discord-sim: no user ${userId}`);
    return user;
  }

  /** DM channel between the bot and a user, created on first use (Discord keeps one per pair). */
  dmChannelFor(userId: string): string {
    const existing = this.dmChannelByUser.get(userId);
    if (existing) return existing;
    const id = this.addChannel({ type: ChannelType.DM, name: '', recipientId: userId });
    this.dmChannelByUser.set(userId, id);
    return id;
  }

  /* ---------- API object builders (shapes from discord-api-types) ---------- */

  apiUser(userId: string): APIUser {
    const u = this.requireUser(userId);
    return {
      id: u.id,
      username: u.username,
      global_name: u.bot ? null : u.globalName,
      discriminator: u.bot ? '0001' : '0',
      avatar: null,
      bot: u.bot || undefined,
      public_flags: 0 as UserFlags,
    };
  }

  apiMember(userId: string, guildId = this.guildId): APIGuildMember {
    const guild = this.requireGuild(guildId);
    const m = guild.members.get(userId);
    if (!m) throw new Error(`discord-sim: ${userId} is not a member of ${guildId}`);
    return {
      user: this.apiUser(userId),
      nick: userId === this.bot.id ? guild.botNick : m.nick,
      avatar: null,
      banner: null,
      roles: m.roles,
      joined_at: m.joinedAt,
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
      pending: false,
      communication_disabled_until: null,
    };
  }

  apiRole(roleId: string, guildId = this.guildId): APIRole {
    const guild = this.requireGuild(guildId);
    const r = guild.roles.get(roleId);
    if (!r) throw new Error(`discord-sim: no role ${roleId}`);
    return {
      id: roleId,
      name: r.name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position: r.position,
      permissions: r.permissions.toString(),
      managed: roleId === guild.botRoleId,
      mentionable: false,
      flags: 0 as RoleFlags,
    };
  }

  apiChannel(channelId: string): APIChannel {
    const c = this.requireChannel(channelId);
    if (c.type === ChannelType.DM) {
      return {
        id: c.id,
        type: ChannelType.DM,
        last_message_id: this.lastMessageId(c.id),
        recipients: c.recipientId ? [this.apiUser(c.recipientId)] : [],
        name: null,
        flags: 0 as ChannelFlags,
      };
    }
    const base = {
      id: c.id,
      type: c.type,
      guild_id: c.guildId ?? this.guildId,
      name: c.name,
      position: c.position,
      parent_id: null,
      nsfw: false,
      flags: 0,
      permission_overwrites: c.overwrites.map((o) => ({ id: o.id, type: o.type, allow: o.allow.toString(), deny: o.deny.toString() })),
    };
    if (c.type === ChannelType.GuildVoice) {
      return {
        ...base,
        bitrate: 64_000,
        user_limit: c.userLimit,
        rtc_region: null,
        rate_limit_per_user: 0,
        last_message_id: this.lastMessageId(c.id),
      };
    }
    return { ...base, topic: null, rate_limit_per_user: 0, last_message_id: this.lastMessageId(c.id) };
  }

  apiVoiceState(state: SimVoiceState): GatewayVoiceState {
    return {
      guild_id: state.guildId,
      channel_id: state.channelId,
      user_id: state.userId,
      member: this.apiMember(state.userId, state.guildId),
      session_id: state.sessionId,
      deaf: false,
      mute: false,
      self_deaf: state.selfDeaf,
      self_mute: state.selfMute,
      self_video: false,
      suppress: false,
      request_to_speak_timestamp: null,
    };
  }

  apiGuild(guildId = this.guildId): APIGuild {
    const guild = this.requireGuild(guildId);
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [...guild.roles.keys()].map((id) => this.apiRole(id, guild.id)),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: guild.textChannelId,
      system_channel_flags: 0,
      rules_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      preferred_locale: 'en-US',
      public_updates_channel_id: null,
      nsfw_level: 0,
      premium_progress_bar_enabled: false,
      safety_alerts_channel_id: null,
      hub_type: null,
      incidents_data: null,
    } as unknown as APIGuild;
  }

  /** GUILD_CREATE payload: the guild plus the gateway-only fields (members, channels, voice states...). */
  guildCreatePayload(guildId = this.guildId): Record<string, unknown> {
    const guild = this.requireGuild(guildId);
    return {
      ...this.apiGuild(guildId),
      unavailable: false,
      joined_at: guild.members.get(this.bot.id)?.joinedAt,
      large: false,
      member_count: guild.members.size,
      members: [...guild.members.keys()].map((id) => this.apiMember(id, guildId)),
      channels: this.guildChannels(guildId).map((c) => this.apiChannel(c.id)),
      threads: [],
      presences: [],
      voice_states: [...guild.voiceStates.values()].map((s) => {
        const { member: _member, guild_id: _guild, ...rest } = this.apiVoiceState(s);
        return rest;
      }),
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  guildChannels(guildId: string): SimChannel[] {
    return [...this.channels.values()].filter((c) => c.guildId === guildId);
  }

  lastMessageId(channelId: string): string | null {
    let last: string | null = null;
    for (const stored of this.messages.values()) if (stored.message.channel_id === channelId) last = stored.message.id;
    return last;
  }

  /** Stores a message as Discord would and announces it with MESSAGE_CREATE. */
  createMessage(input: {
    channelId: string;
    authorId: string;
    body: Record<string, unknown>;
    ephemeral?: boolean;
    interaction?: { id: string; userId: string; name: string } | null;
    webhookId?: string;
  }): StoredMessage {
    const channel = this.requireChannel(input.channelId);
    const id = this.newId();
    const body = input.body;
    const message = {
      id,
      channel_id: input.channelId,
      ...(channel.guildId ? { guild_id: channel.guildId } : {}),
      author: this.apiUser(input.authorId),
      content: typeof body.content === 'string' ? body.content : '',
      timestamp: new Date(this.now()).toISOString(),
      edited_timestamp: null,
      tts: Boolean(body.tts),
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments: [],
      embeds: Array.isArray(body.embeds) ? body.embeds : [],
      components: Array.isArray(body.components) ? body.components : [],
      pinned: false,
      type: input.interaction ? MessageType.ChatInputCommand : MessageType.Default,
      flags: typeof body.flags === 'number' ? body.flags : 0,
      ...(input.webhookId ? { webhook_id: input.webhookId, application_id: this.applicationId } : {}),
      ...(input.interaction
        ? {
            interaction_metadata: {
              id: input.interaction.id,
              type: 2,
              user: this.apiUser(input.interaction.userId),
              authorizing_integration_owners: { '0': channel.guildId ?? this.guildId },
            },
          }
        : {}),
    } as unknown as APIMessage;
    const stored: StoredMessage = { message, ephemeral: input.ephemeral ?? false, reactions: new Map() };
    this.messages.set(id, stored);
    if (!stored.ephemeral) this.announceMessage('MESSAGE_CREATE', stored);
    return stored;
  }

  editMessage(stored: StoredMessage, body: Record<string, unknown>): void {
    const m = stored.message as unknown as Record<string, unknown>;
    for (const key of ['content', 'embeds', 'components', 'flags'] as const) {
      if (body[key] !== undefined) m[key] = body[key];
    }
    m.edited_timestamp = new Date(this.now()).toISOString();
    if (!stored.ephemeral) this.announceMessage('MESSAGE_UPDATE', stored);
  }

  deleteMessage(stored: StoredMessage): void {
    this.messages.delete(stored.message.id);
    if (stored.ephemeral) return;
    const guildId = this.requireChannel(stored.message.channel_id).guildId;
    const dm = guildId === null;
    this.dispatch(
      'MESSAGE_DELETE',
      { id: stored.message.id, channel_id: stored.message.channel_id, ...(dm ? {} : { guild_id: guildId }) },
      dm ? GatewayIntentBits.DirectMessages : GatewayIntentBits.GuildMessages,
    );
  }

  private announceMessage(t: 'MESSAGE_CREATE' | 'MESSAGE_UPDATE', stored: StoredMessage): void {
    const channel = this.requireChannel(stored.message.channel_id);
    const dm = channel.guildId === null;
    // channel_type lets libraries build an uncached DM channel (discord.js needs it with Partials.Channel).
    const extra = {
      channel_type: channel.type,
      ...(channel.guildId === null ? {} : { member: this.memberWithoutUser(stored.message.author.id, channel.guildId) }),
    };
    this.dispatch(t, { ...stored.message, ...extra }, dm ? GatewayIntentBits.DirectMessages : GatewayIntentBits.GuildMessages);
  }

  memberWithoutUser(userId: string, guildId = this.guildId): Omit<APIGuildMember, 'user'> | undefined {
    if (!this.guilds.get(guildId)?.members.has(userId)) return undefined;
    const { user: _user, ...rest } = this.apiMember(userId, guildId);
    return rest;
  }

  /** The message as the REST API shows it to the bot (reactions summarised, `me` from the bot's view). */
  messageView(stored: StoredMessage): APIMessage {
    const reactions = [...stored.reactions]
      .filter(([, users]) => users.length > 0)
      .map(([key, users]) => ({
        emoji: emojiFromKey(key),
        count: users.length,
        count_details: { burst: 0, normal: users.length },
        me: users.includes(this.bot.id),
        me_burst: false,
        burst_colors: [],
      }));
    return { ...stored.message, ...(reactions.length > 0 ? { reactions } : {}) };
  }

  addReaction(stored: StoredMessage, emojiKey: string, userId: string): boolean {
    const users = stored.reactions.get(emojiKey) ?? [];
    if (users.includes(userId)) return false;
    users.push(userId);
    stored.reactions.set(emojiKey, users);
    this.dispatch('MESSAGE_REACTION_ADD', this.reactionPayload(stored, emojiKey, userId, true), this.reactionIntent(stored));
    return true;
  }

  removeReaction(stored: StoredMessage, emojiKey: string, userId: string): boolean {
    const users = stored.reactions.get(emojiKey) ?? [];
    const index = users.indexOf(userId);
    if (index < 0) return false;
    users.splice(index, 1);
    this.dispatch('MESSAGE_REACTION_REMOVE', this.reactionPayload(stored, emojiKey, userId, false), this.reactionIntent(stored));
    return true;
  }

  private reactionIntent(stored: StoredMessage): number {
    return this.requireChannel(stored.message.channel_id).type === ChannelType.DM
      ? GatewayIntentBits.DirectMessageReactions
      : GatewayIntentBits.GuildMessageReactions;
  }

  private reactionPayload(stored: StoredMessage, emojiKey: string, userId: string, add: boolean): Record<string, unknown> {
    const guildId = this.requireChannel(stored.message.channel_id).guildId;
    return {
      user_id: userId,
      channel_id: stored.message.channel_id,
      message_id: stored.message.id,
      ...(guildId ? { guild_id: guildId } : {}),
      ...(add && guildId ? { member: this.apiMember(userId, guildId), message_author_id: stored.message.author.id } : {}),
      emoji: emojiFromKey(emojiKey),
      burst: false,
      type: 0,
      ...(add ? { burst_colors: [] } : {}),
    };
  }

  /**
   * Moves a user's voice state (null = disconnect) and announces VOICE_STATE_UPDATE. The guild is the
   * channel's; for a disconnect, `extra.guildId` (the bot has a voice state in each guild), else wherever the
   * user is.
   */
  setVoiceState(
    userId: string,
    channelId: string | null,
    extra: { sessionId?: string; selfDeaf?: boolean; selfMute?: boolean; guildId?: string } = {},
  ): SimVoiceState | null {
    if (channelId === null) {
      const previous = this.voiceStateOf(userId, extra.guildId);
      if (!previous) return null;
      this.requireGuild(previous.guildId).voiceStates.delete(userId);
      this.dispatch('VOICE_STATE_UPDATE', { ...this.apiVoiceState(previous), channel_id: null }, GatewayIntentBits.GuildVoiceStates);
      return null;
    }
    const guild = this.guildOfChannel(channelId);
    const previous = guild.voiceStates.get(userId);
    const state: SimVoiceState = {
      guildId: guild.id,
      userId,
      channelId,
      sessionId: extra.sessionId ?? previous?.sessionId ?? randomHex(16),
      selfDeaf: extra.selfDeaf ?? previous?.selfDeaf ?? false,
      selfMute: extra.selfMute ?? previous?.selfMute ?? false,
    };
    guild.voiceStates.set(userId, state);
    // The bot's own voice state is always delivered: @discordjs/voice cannot connect without it.
    this.dispatch('VOICE_STATE_UPDATE', this.apiVoiceState(state), userId === this.bot.id ? null : GatewayIntentBits.GuildVoiceStates);
    return state;
  }

  usersInVoice(channelId: string): string[] {
    return [...this.guildOfChannel(channelId).voiceStates.values()].filter((s) => s.channelId === channelId).map((s) => s.userId);
  }

  setBotNick(nick: string | null, guildId = this.guildId): void {
    this.requireGuild(guildId).botNick = nick;
    // Updates to the current user's own member are delivered without the privileged GUILD_MEMBERS intent.
    this.dispatch('GUILD_MEMBER_UPDATE', { ...this.apiMember(this.bot.id, guildId), guild_id: guildId }, null);
  }
}

export function emojiFromKey(key: string): { id: string | null; name: string; animated?: boolean } {
  const custom = /^(?:a:)?([^:]+):(\d+)$/.exec(key);
  if (custom) return { id: custom[2] ?? null, name: custom[1] ?? '', animated: key.startsWith('a:') };
  return { id: null, name: key };
}

function randomHex(bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes * 2; i++) out += Math.floor(Math.random() * 16).toString(16);
  return out;
}
