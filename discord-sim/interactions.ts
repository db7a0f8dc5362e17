import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  type APIApplicationCommand,
  type APIApplicationCommandInteractionDataOption,
  type RESTPutAPIApplicationCommandsJSONBody,
} from 'discord-api-types/v10';

type CommandJSON = RESTPutAPIApplicationCommandsJSONBody[number];
/** 'global', or the id of the guild the commands belong to. */
type CommandScope = string;
interface OptionJSON {
  type: ApplicationCommandOptionType;
  name: string;
  required?: boolean;
  options?: OptionJSON[];
  choices?: { name: string; value: string | number }[];
}

/** Application commands as Discord stores them after PUT /applications/:app/(guilds/:g/)commands. */
export class CommandRegistry {
  readonly global = new Map<string, APIApplicationCommand>();
  /** by guild id */
  readonly guilds = new Map<string, Map<string, APIApplicationCommand>>();
  private version = 1n;
  private readonly ids: () => string;
  private readonly applicationId: string;

  constructor(ids: () => string, applicationId: string) {
    this.ids = ids;
    this.applicationId = applicationId;
  }

  /** Bulk overwrite: commands not in the list are deleted, existing names keep their id. */
  private store(scope: CommandScope): Map<string, APIApplicationCommand> {
    if (scope === 'global') return this.global;
    let store = this.guilds.get(scope);
    if (!store) this.guilds.set(scope, (store = new Map<string, APIApplicationCommand>()));
    return store;
  }

  put(scope: CommandScope, body: readonly CommandJSON[]): APIApplicationCommand[] {
    const store = this.store(scope);
    const previous = new Map(store);
    store.clear();
    for (const json of body) store.set(json.name, this.materialise(json, scope, previous.get(json.name)?.id));
    return [...store.values()];
  }

  add(scope: CommandScope, json: CommandJSON): APIApplicationCommand {
    const store = this.store(scope);
    const command = this.materialise(json, scope, store.get(json.name)?.id);
    store.set(json.name, command);
    return command;
  }

  list(scope: CommandScope): APIApplicationCommand[] {
    return [...this.store(scope).values()];
  }

  /** Guild commands shadow global ones with the same name, as in the Discord client. */
  find(name: string, guildId: string): APIApplicationCommand | undefined {
    return this.guilds.get(guildId)?.get(name) ?? this.global.get(name);
  }

  /** Names usable in a guild: its own commands, then the global ones. */
  names(guildId: string): string[] {
    return [...(this.guilds.get(guildId)?.keys() ?? []), ...this.global.keys()];
  }

  private materialise(json: CommandJSON, scope: string, id: string | undefined): APIApplicationCommand {
    this.version += 1n;
    return {
      ...json,
      id: id ?? this.ids(),
      application_id: this.applicationId,
      type: json.type ?? ApplicationCommandType.ChatInput,
      version: this.version.toString(),
      default_member_permissions: json.default_member_permissions ?? null,
      ...(scope === 'global' ? {} : { guild_id: scope }),
    } as APIApplicationCommand;
  }
}

export interface ParsedSlash {
  command: APIApplicationCommand;
  options: APIApplicationCommandInteractionDataOption[];
  /** user ids referenced by USER options (they go into data.resolved) */
  userIds: string[];
}

/** Words like `recordings download 3f2a` or `record start`; "quoted words" stay together; `name:value` names an option. */
function tokenize(text: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) words.push(m[1] ?? m[2] ?? '');
  return words;
}

/**
 * Turns a slash command typed as words into the interaction options Discord would send, using the commands
 * the bot registered (so a typo or an unregistered command fails here, as it would in a Discord client).
 */
export function parseSlash(text: string, registry: CommandRegistry, guildId: string, resolveUser: (word: string) => string): ParsedSlash {
  const [name, ...words] = tokenize(text.replace(/^\//, ''));
  if (!name) throw new Error('discord-sim: empty slash command');
  const command = registry.find(name, guildId);
  if (!command) {
    const known = registry.names(guildId);
    throw new Error(`discord-sim: /${name} is not registered (registered: ${known.length ? known.join(', ') : 'none'})`);
  }
  const userIds: string[] = [];
  const options = parseOptions(`/${name}`, command.options ?? [], words, resolveUser, userIds);
  return { command, options, userIds };
}

function parseOptions(
  path: string,
  declared: OptionJSON[],
  words: string[],
  resolveUser: (word: string) => string,
  userIds: string[],
): APIApplicationCommandInteractionDataOption[] {
  const sub = declared.filter(
    (o) => o.type === ApplicationCommandOptionType.Subcommand || o.type === ApplicationCommandOptionType.SubcommandGroup,
  );
  if (sub.length > 0) {
    const [word, ...rest] = words;
    const chosen = sub.find((o) => o.name === word);
    if (!chosen) throw new Error(`discord-sim: ${path} needs one of: ${sub.map((o) => o.name).join(', ')} (got ${word ?? 'nothing'})`);
    return [
      {
        type: chosen.type,
        name: chosen.name,
        options: parseOptions(`${path} ${chosen.name}`, chosen.options ?? [], rest, resolveUser, userIds),
      } as APIApplicationCommandInteractionDataOption,
    ];
  }
  const named = new Map<string, string>();
  const positional: string[] = [];
  for (const word of words) {
    const m = /^([\w-]+):(.*)$/.exec(word);
    if (m && declared.some((o) => o.name === m[1])) named.set(m[1] ?? '', m[2] ?? '');
    else positional.push(word);
  }
  const out: APIApplicationCommandInteractionDataOption[] = [];
  for (const [index, option] of declared.entries()) {
    let raw = named.get(option.name);
    if (raw === undefined && positional.length > 0) {
      const isLast = declared.slice(index + 1).every((o) => named.has(o.name));
      raw = isLast && option.type === ApplicationCommandOptionType.String ? positional.splice(0).join(' ') : positional.shift();
    }
    if (raw === undefined) {
      if (option.required) throw new Error(`discord-sim: ${path} requires option "${option.name}"`);
      continue;
    }
    out.push({
      type: option.type,
      name: option.name,
      value: convert(path, option, raw, resolveUser, userIds),
    } as APIApplicationCommandInteractionDataOption);
  }
  if (positional.length > 0) throw new Error(`discord-sim: ${path} got unexpected words: ${positional.join(' ')}`);
  return out;
}

function convert(
  path: string,
  option: OptionJSON,
  raw: string,
  resolveUser: (word: string) => string,
  userIds: string[],
): string | number | boolean {
  const fail = (what: string): never => {
    throw new Error(`discord-sim: ${path} option "${option.name}" expects ${what}, got "${raw}"`);
  };
  let value: string | number | boolean;
  switch (option.type) {
    case ApplicationCommandOptionType.Integer:
      value = Number(raw);
      if (!Number.isInteger(value)) fail('an integer');
      break;
    case ApplicationCommandOptionType.Number:
      value = Number(raw);
      if (!Number.isFinite(value)) fail('a number');
      break;
    case ApplicationCommandOptionType.Boolean:
      if (raw !== 'true' && raw !== 'false') fail('true or false');
      value = raw === 'true';
      break;
    case ApplicationCommandOptionType.User:
    case ApplicationCommandOptionType.Mentionable:
      value = resolveUser(raw);
      userIds.push(value);
      break;
    default:
      value = raw;
  }
  if (option.choices && !option.choices.some((c) => c.value === value)) {
    fail(`one of ${option.choices.map((c) => JSON.stringify(c.value)).join(', ')}`);
  }
  return value;
}

/** Life of one interaction token (https://discord.com/developers/docs/interactions/receiving-and-responding). */
export interface InteractionRecord {
  id: string;
  token: string;
  userId: string;
  channelId: string;
  commandName: string;
  text: string;
  createdAt: number;
  /** responded = initial callback accepted (reply, defer, update, modal) */
  responded: boolean;
  callbackType: number | null;
  originalMessageId: string | null;
  ephemeral: boolean;
  /** The modal the bot answered with (callback type 9): its custom id, title and text inputs' custom ids. */
  modal?: { customId: string; title: string; inputs: string[] };
}

/** The custom ids of the text inputs in a modal's components (action rows or labels around a text input). */
export function modalInputs(components: unknown): string[] {
  const ids: string[] = [];
  const visit = (c: unknown): void => {
    if (!c || typeof c !== 'object') return;
    const o = c as { type?: number; custom_id?: unknown; components?: unknown[]; component?: unknown };
    if (o.type === 4 && typeof o.custom_id === 'string') ids.push(o.custom_id);
    for (const child of o.components ?? []) visit(child);
    visit(o.component);
  };
  for (const c of Array.isArray(components) ? components : []) visit(c);
  return ids;
}

/** Initial responses must arrive within 3 s; the token then works for 15 min. */
export const INITIAL_RESPONSE_MS = 3_000;
export const TOKEN_LIFETIME_MS = 15 * 60_000;
