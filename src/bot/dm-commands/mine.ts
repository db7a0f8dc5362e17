// `mine`: the recordings that hold the sender's voice, with host, date and deletion date; nothing of anyone else's.
import type { DmCommand } from './dm-command.ts';

export const mine: DmCommand<Record<string, never>> = {
  verb: 'mine',
  usage: '`mine` for the recordings that hold your voice',
  parse: (words) => (words.length === 0 ? {} : undefined),
  run: (_args, { speakers, userId }) => speakers.mineText(userId),
};
