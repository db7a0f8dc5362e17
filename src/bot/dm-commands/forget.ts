// `forget` (the latest recording with their voice), `forget <id>` and `forget all` (then `forget all confirm`
// within a few minutes): a speaker's own track removed and the mix made again without them
// (src/recording/forget-speaker.ts). Someone else's recording and an unknown id get the same answer.
import { isRecordingId } from '../../storage/layout.ts';
import type { Recording, Store } from '../../storage/store.ts';
import type { ForgetResult, ForgetSpeaker } from '../../recording/forget-speaker.ts';
import { recordingIdWord, type DmCommand } from './dm-command.ts';

export type ForgetDmDeps = {
  speaker: ForgetSpeaker;
  /** Epoch ms. */
  now: () => number;
  /** Who asked `forget all`, and until when (epoch ms) `forget all confirm` goes ahead: kept in memory only. */
  confirmAll: Map<string, number>;
};

/** How long `forget all confirm` may follow `forget all`. */
const CONFIRM_ALL_MS = 5 * 60_000;

const NONE_OF_YOURS = 'I have no recording with your voice in it.';

type Args = { kind: 'latest' } | { kind: 'one'; recordingId: string } | { kind: 'all'; confirmed: boolean };

function answerFor(result: ForgetResult, id: string): string {
  switch (result) {
    case 'unknown':
      return `I have no recording \`${id}\` with your voice in it.`;
    case 'recording':
      return `Recording \`${id}\` is still running. Remove your ✅ from its consent message to stop being recorded; once it has stopped, DM me \`forget ${id}\` to delete your track.`;
    case 'in-progress':
      return `Your removal from \`${id}\` is already under way.`;
    case 'queued':
      return `Recording \`${id}\` is still being prepared: your track will be deleted and the mix made again without you as soon as it is ready.`;
    case 'done':
      return `Done: your track in \`${id}\` is deleted and its mix is made again without you. The host is told that a speaker asked to be removed, not who; the receipt keeps only that a track was removed at its speaker's request, and when.`;
    case 'failed':
      return `I have your request for \`${id}\` but could not finish it yet; I will finish it when I next start.`;
  }
}

/** The recordings that hold this person's voice (or are being taken out of), newest first. */
async function recordingsWithVoice(store: Store, userId: string): Promise<Recording[]> {
  const all = await store.listRecordings();
  return all.filter((r) => r.speakers.some((s) => s.userId === userId) || r.forgetting?.some((p) => p.userId === userId));
}

export const forget: DmCommand<Args> = {
  verb: 'forget',
  usage:
    '`forget <id>` to delete your track from a recording and have its mix made again without you (`forget` alone: the latest with your voice; `forget all`: every one, after you confirm)',
  parse(words) {
    const [first, second, ...rest] = words.map((w) => w.toLowerCase());
    if (rest.length > 0) return undefined;
    if (first === undefined) return { kind: 'latest' };
    if (first === 'all') return second === undefined || second === 'confirm' ? { kind: 'all', confirmed: second === 'confirm' } : undefined;
    return second === undefined ? { kind: 'one', recordingId: recordingIdWord(first) } : undefined;
  },
  async run(args, { store, forget: deps, userId }) {
    if (args.kind === 'one') {
      if (!isRecordingId(args.recordingId)) return answerFor('unknown', args.recordingId);
      return answerFor(await deps.speaker.request(args.recordingId, userId), args.recordingId);
    }
    const mine = await recordingsWithVoice(store, userId);
    if (args.kind === 'latest') {
      const latest = mine[0];
      return latest ? answerFor(await deps.speaker.request(latest.id, userId), latest.id) : NONE_OF_YOURS;
    }
    if (mine.length === 0) return NONE_OF_YOURS;
    if (!args.confirmed) {
      deps.confirmAll.set(userId, deps.now() + CONFIRM_ALL_MS);
      const ids = mine.map((r) => `\`${r.id}\``).join(', ');
      return `This deletes your track from ${mine.length === 1 ? 'one recording' : `${mine.length} recordings`} (${ids}) and has their mixes made again without you. DM me \`forget all confirm\` within 5 minutes to go ahead.`;
    }
    const until = deps.confirmAll.get(userId);
    if (until === undefined || until < deps.now()) {
      return 'DM me `forget all` first: I will tell you what it deletes and ask you to confirm.';
    }
    deps.confirmAll.delete(userId);
    const answers: string[] = [];
    for (const recording of mine) answers.push(answerFor(await deps.speaker.request(recording.id, userId), recording.id));
    return answers.join('\n');
  },
};
