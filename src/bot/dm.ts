// Direct messages to the bot: the first word picks a command of dm-commands/ (`download`, …), the rest are its
// arguments; anything else, or arguments that do not fit, gets the help. A command about a recording answers
// only the person it concerns: everyone else gets the same polite refusal whether or not the recording exists.
import type { Message } from 'discord.js';
import { isUserFacing } from './errors.ts';
import { INTERNAL_ERROR_TEXT } from './router.ts';
import { DM_COMMANDS, DM_NOT_YOURS, type DmContext, type DmDeps, type ListedDmCommand } from './dm-commands/index.ts';

export type DmRequest =
  { kind: 'command'; verb: string; args: unknown; run: (ctx: DmContext) => Promise<string | undefined> } | { kind: 'help' };

export function parseDirectMessage(text: string, commands: readonly ListedDmCommand[] = DM_COMMANDS): DmRequest {
  const [verb = '', ...words] = text.trim().replace(/^[!/]/, '').split(/\s+/);
  const command = commands.find((c) => c.verb === verb.toLowerCase());
  const prepared = command?.prepare(words);
  return command && prepared ? { kind: 'command', verb: command.verb, ...prepared } : { kind: 'help' };
}

function helpText(commands: readonly ListedDmCommand[]): string {
  return `Hi! I record voice channels, and only people who opt in. DM me ${commands.map((c) => c.usage).join('; ')}.`;
}

export function createDmHandler(deps: DmDeps) {
  const { log } = deps;

  async function answer(message: Message): Promise<string | undefined> {
    const request = parseDirectMessage(message.content);
    if (request.kind === 'help') return helpText(DM_COMMANDS);
    return request.run({ ...deps, userId: message.author.id });
  }

  return async (message: Message): Promise<void> => {
    if (message.author.bot || message.inGuild()) return;
    const context = { userId: message.author.id, messageId: message.id };
    let reply: string | undefined;
    try {
      reply = await answer(message);
    } catch (error) {
      // Not the refusal's text: it quotes the id that was asked for, which is whatever a stranger typed.
      if (isUserFacing(error)) log.info(context, 'direct message refused: not a recording of this user');
      else log.error({ ...context, err: error }, 'direct message handling failed');
      reply = isUserFacing(error) ? DM_NOT_YOURS : INTERNAL_ERROR_TEXT;
    }
    if (reply === undefined || !message.channel.isSendable()) return;
    await message.channel
      .send({ content: reply, allowedMentions: { parse: [] } })
      .catch((error: unknown) => log.error({ ...context, err: error }, 'could not answer a direct message'));
  };
}
