// Registers roomrec's slash commands: in one server when DISCORD_GUILD_ID is set (instant, good for trying it
// out), otherwise globally (every server the bot is in; Discord may take a while to show them).
//
//   npm run deploy-commands             guild if DISCORD_GUILD_ID is set, else global
//   npm run deploy-commands -- --global global even when DISCORD_GUILD_ID is set
import { DiscordAPIError, REST, RESTJSONErrorCodes, Routes } from 'discord.js';
import { commands } from '../commands/index.ts';
import { ConfigError, envWithDotenv, loadDeployConfig } from '../src/config.ts';
import { inviteUrl } from '../src/bot/permissions.ts';

export type DeployTarget = { token: string; clientId: string; guildId?: string | undefined; api?: string | undefined };

export async function deployCommands(target: DeployTarget): Promise<{ scope: string; names: string[] }> {
  const rest = new REST(target.api ? { api: target.api } : {}).setToken(target.token);
  const body = commands.map((command) => command.data.toJSON());
  const route = target.guildId
    ? Routes.applicationGuildCommands(target.clientId, target.guildId)
    : Routes.applicationCommands(target.clientId);
  const registered = (await rest.put(route, { body })) as { name: string }[];
  return { scope: target.guildId ? `server ${target.guildId}` : 'all servers (global)', names: registered.map((c) => c.name) };
}

/** What a self-hoster should do about a failed registration. */
export function explainDeployError(error: unknown, target: DeployTarget): string {
  if (error instanceof ConfigError) return error.message;
  if (!(error instanceof DiscordAPIError)) return `Registering commands failed: ${(error as Error).message ?? String(error)}`;
  if (error.status === 401)
    return 'Discord rejected DISCORD_TOKEN (401). Copy the token again from the developer portal (Bot → Reset Token).';
  if (error.code === RESTJSONErrorCodes.MissingAccess && target.guildId) {
    return (
      `Discord refused access to server ${target.guildId} (Missing Access). Either the bot is not in that server, or it was ` +
      `invited without the applications.commands scope. Invite it with:\n  ${inviteUrl(target.clientId)}`
    );
  }
  if (error.code === RESTJSONErrorCodes.UnknownApplication || error.status === 403) {
    return `DISCORD_CLIENT_ID (${target.clientId}) does not belong to this token's application. Use the Application ID from the same application's General Information page.`;
  }
  if (error.code === RESTJSONErrorCodes.UnknownGuild) return `DISCORD_GUILD_ID ${target.guildId} is not a server Discord knows.`;
  return `Discord refused the commands (${error.status}, code ${error.code}): ${error.message}`;
}

async function main(): Promise<number> {
  let target: DeployTarget | undefined;
  try {
    const config = loadDeployConfig(envWithDotenv());
    const global = process.argv.slice(2).includes('--global');
    target = {
      token: config.discord.token,
      clientId: config.discord.clientId,
      guildId: global ? undefined : config.discord.guildId,
    };
    const { scope, names } = await deployCommands(target);
    console.log(`Registered ${names.map((n) => `/${n}`).join(', ')} for ${scope}.`);
    if (!target.guildId) console.log('Global commands can take a few minutes to appear in Discord clients.');
    return 0;
  } catch (error) {
    console.error(explainDeployError(error, target ?? { token: '', clientId: '' }));
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main();
