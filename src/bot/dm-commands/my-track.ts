// `my track <id>`: a private link to the sender's own track of a recording. An id that is unknown, someone
// else's, or holds no track of theirs gets one and the same answer.
import { recordingIdWord, type DmCommand } from './dm-command.ts';

export const myTrack: DmCommand<{ recordingId: string }> = {
  verb: 'my',
  usage: '`my track <id>` for a private link to your own track in it',
  parse: (words) =>
    words.length === 2 && words[0]?.toLowerCase() === 'track' && words[1] !== undefined
      ? { recordingId: recordingIdWord(words[1]) }
      : undefined,
  run: ({ recordingId }, { speakers, userId }) => speakers.trackLinkText(recordingId, userId),
};
