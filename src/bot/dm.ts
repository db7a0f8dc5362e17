// Direct messages to the bot. Only `download` and `download <id>` do anything, and only for the host of the
// recording asked about: everyone else gets the same polite refusal whether or not the recording exists.
import type { Message } from 'discord.js';
import type { Logger } from '../log.ts';
import { ACTIVE_STATES, type Store } from '../storage/store.ts';
import { isUserFacing } from './errors.ts';
import { INTERNAL_ERROR_TEXT } from './router.ts';
import type { Library } from './services.ts';
import { preparingFreshLinkIntro } from './stop-notice.ts';

export type DmRequest = { kind: 'download'; recordingId: string | undefined } | { kind: 'help' };

export function parseDirectMessage(text: string): DmRequest {
  const [verb, id, ...rest] = text.trim().replace(/^[!/]/, '').split(/\s+/);
  if (verb?.toLowerCase() !== 'download' || rest.length > 0) return { kind: 'help' };
  return { kind: 'download', recordingId: id?.replace(/^`|`$/g, '').toLowerCase() };
}

const DM_HELP =
  'Hi! I record voice channels, and only people who opt in. If you hosted a recording, DM me `download` for a ' +
  'fresh link to your latest one, or `download <id>` for a specific one (`/recordings list` shows the ids).';

export const DM_NOT_YOURS =
  "Sorry, I only send a recording to the host who started it, and I don't have one of yours to send. " +
  'If someone else hosted the room, ask them for the file.';

export const DM_LINK_REFUSED =
  "I couldn't send you the link: Discord refused my direct message. Check that you allow direct messages from " +
  'members of the server we share (server name → Privacy Settings) and that I am not blocked, then ask again.';

export function createDmHandler(deps: { store: Store; library: Library; log: Logger }) {
  const { store, library, log } = deps;

  async function answer(message: Message): Promise<string | undefined> {
    const request = parseDirectMessage(message.content);
    if (request.kind === 'help') return DM_HELP;
    const userId = message.author.id;
    const recording =
      request.recordingId === undefined
        ? await store.latestRecordingForHost(userId, { state: ['ready', 'failed', 'mixing', 'stopping', 'recording'] })
        : await library.requireOwned(request.recordingId, userId);
    if (!recording) return DM_NOT_YOURS;
    // 'mixing': the tracks are closed and the page shows the mix when it is done, so the link is worth having.
    if (ACTIVE_STATES.includes(recording.state)) {
      return `Your recording \`${recording.id}\` isn't finished yet; I'll DM you its link as soon as it is.`;
    }
    const intro =
      recording.state === 'mixing' ? preparingFreshLinkIntro(recording) : `Here's a fresh link to your recording \`${recording.id}\`.`;
    const outcome = await library.sendLink(recording, intro);
    // The link went out as its own DM. Discord can still refuse it (the host closed their DMs or blocked the
    // bot since writing): this answer probably cannot be delivered either, but it is the true one.
    return outcome.status === 'sent' ? undefined : DM_LINK_REFUSED;
  }

  return async (message: Message): Promise<void> => {
    if (message.author.bot || message.inGuild()) return;
    const context = { userId: message.author.id, messageId: message.id };
    let reply: string | undefined;
    try {
      reply = await answer(message);
    } catch (error) {
      // Not the refusal's text: it quotes the id that was asked for, which is whatever a stranger typed.
      if (isUserFacing(error)) log.info(context, 'direct message refused: not a recording this user hosted');
      else log.error({ ...context, err: error }, 'direct message handling failed');
      reply = isUserFacing(error) ? DM_NOT_YOURS : INTERNAL_ERROR_TEXT;
    }
    if (reply === undefined || !message.channel.isSendable()) return;
    await message.channel
      .send({ content: reply, allowedMentions: { parse: [] } })
      .catch((error: unknown) => log.error({ ...context, err: error }, 'could not answer a direct message'));
  };
}
