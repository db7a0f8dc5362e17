// `reuse on <id>` / `reuse off <id>`: a speaker changes whether their voice in a recording may be published or
// reused, at any time, during the room or after it. Only a speaker with a track in that recording can; anyone
// else, and an id that names nothing, get the same answer, so a stranger learns nothing.
import { stat } from 'node:fs/promises';
import { findSpeaker } from '../../recording/room-speakers.ts';
import type { ReuseChange } from '../../recording/reuse-change.ts';
import type { Recording, Store } from '../../storage/store.ts';
import { recordingIdWord, type DmCommand } from './dm-command.ts';

export const REUSE_NOT_YOURS =
  "I don't have a recording with that id that holds your voice, so nothing changed. The id is in the consent message's room " +
  "and in the host's link; check it and ask again.";

const REUSE_BUSY = 'That recording is being prepared right now (or I am just starting up). Ask again in a minute; nothing changed yet.';

/** How a change of choice is made: in the live room (Rooms.setReuse), or in a stopped recording (reuse-change.ts). */
export type ReuseControl = {
  live(recordingId: string, userId: string, reuse: boolean): Promise<ReuseChange | undefined>;
  stopped(recording: Recording, userId: string, reuse: boolean): Promise<ReuseChange>;
};

const choiceWords = (reuse: boolean) => (reuse ? 'OK to publish or reuse' : 'for the host only, not to be published or reused');

export const reuse: DmCommand<{ reuse: boolean; recordingId: string }> = {
  verb: 'reuse',
  usage: '`reuse on <id>` or `reuse off <id>` to allow, or stop, publishing and reuse of your voice in a recording',
  parse: ([choice, id, ...more]) =>
    (choice === 'on' || choice === 'off') && id !== undefined && more.length === 0
      ? { reuse: choice === 'on', recordingId: recordingIdWord(id) }
      : undefined,
  async run({ reuse: on, recordingId }, { store, reuse: control, userId }) {
    const recording = await store.getRecording(recordingId);
    if (!recording || !(await hasTrack(store, recording, userId))) return REUSE_NOT_YOURS;
    const done = (change: ReuseChange): string => {
      const where = `recording \`${recording.id}\``;
      if (change === 'withdrawn')
        return `You withdrew from ${where}, so your voice in it is not to be published or reused; nothing changed.`;
      if (change === 'unchanged') return `Your voice in ${where} already is ${choiceWords(on)}. Nothing changed.`;
      return `Done: your voice in ${where} is now ${choiceWords(on)}. The receipt, your track and the host's page say so.`;
    };
    switch (recording.state) {
      case 'recording': {
        const live = await control.live(recording.id, userId, on);
        return live === undefined ? REUSE_BUSY : done(live);
      }
      case 'ready':
      case 'failed':
        return done(await control.stopped(recording, userId, on));
      default:
        return REUSE_BUSY;
    }
  },
};

async function hasTrack(store: Store, recording: Recording, userId: string): Promise<boolean> {
  const speaker = findSpeaker(recording, userId);
  if (!speaker) return false;
  return stat(store.layout.file(recording.id, speaker.trackFile)).then(
    () => true,
    () => false,
  );
}
