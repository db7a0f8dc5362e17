// `download` (the host's latest recording) and `download <id>`: a fresh link, DM'd to the host only; everyone
// else gets the same polite refusal whether or not the recording exists.
import { ACTIVE_STATES } from '../../storage/store.ts';
import { preparingFreshLinkIntro } from '../stop-notice.ts';
import { recordingIdWord, type DmCommand } from './dm-command.ts';

export const DM_NOT_YOURS =
  "Sorry, I only send a recording to the host who started it, and I don't have one of yours to send. " +
  'If someone else hosted the room, ask them for the file.';

export const DM_LINK_REFUSED =
  "I couldn't send you the link: Discord refused my direct message. Check that you allow direct messages from " +
  'members of the server we share (server name → Privacy Settings) and that I am not blocked, then ask again.';

export const download: DmCommand<{ recordingId: string | undefined }> = {
  verb: 'download',
  usage:
    '`download` for a fresh link to the latest recording you hosted, or `download <id>` for a specific one (`/recordings list` shows the ids)',
  parse: (words) => (words.length > 1 ? undefined : { recordingId: words[0] === undefined ? undefined : recordingIdWord(words[0]) }),
  async run({ recordingId }, { store, library, userId }) {
    const recording =
      recordingId === undefined
        ? await store.latestRecordingForHost(userId, { state: ['ready', 'failed', 'mixing', 'stopping', 'recording'] })
        : await library.requireOwned(recordingId, userId);
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
  },
};
