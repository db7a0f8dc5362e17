// What a speaker reads about recordings that hold their voice: the DM at each stop, the `mine` list and the
// answers of `my track`. Pure. Each names the room, its host and the speaker's own figures, never another
// speaker; an id that is unknown, someone else's or holds nothing of theirs gets the one answer, NO_TRACK_OF_YOURS.
import { escapeMarkdown } from 'discord.js';
import { formatDuration } from '../text/format.ts';
import { discordTime } from './format.ts';

/** A recording as a speaker is told about it. `guild`/`channel`: the names, when the bot still knows them. */
export type OwnRecording = {
  id: string;
  hostName: string;
  startedAt: number;
  guild: string | undefined;
  channel: string | undefined;
  /** How long they were recorded (speaker-voice.ts recordedMs); undefined while it goes on. */
  recordedMs: number | undefined;
  /** Undefined while the recording is still being made. */
  deletesAt: number | undefined;
};

export const NO_TRACK_OF_YOURS =
  "I have no recording by that id with your voice in it. DM me `mine` for the recordings that hold your voice (I record only people who react ✅ to a room's consent message).";

export const NO_RECORDINGS_OF_YOURS =
  "No recording I keep holds your voice. I record only people who react ✅ to a room's consent message, from the moment they react.";

export const NOTIFY_ON = "I'll DM you each time a recording that holds your voice stops. `notify off` turns that off again.";

export const NOTIFY_OFF =
  "I won't DM you when a recording that holds your voice stops. `mine` still lists them; `notify on` turns the messages back on.";

/** Server and channel names run to 100 characters (users' to 32): cut, so that a list of them fits in one message. */
const NAME_CHARS = 24;

function clipped(name: string): string {
  return escapeMarkdown(name.length > NAME_CHARS ? `${name.slice(0, NAME_CHARS - 1)}…` : name);
}

function roomOf(r: Pick<OwnRecording, 'guild' | 'channel'>): string {
  const channel = r.channel === undefined ? 'a voice channel' : `**${clipped(r.channel)}**`;
  return r.guild === undefined ? channel : `${channel} on **${clipped(r.guild)}**`;
}

/** What they can do about it: the DM commands of a speaker, with this recording's id filled in. */
function speakerCommands(id: string): string {
  return [
    '`mine` lists the recordings that hold your voice',
    `\`my track ${id}\` sends you a private link to your own track`,
    `\`forget ${id}\` deletes your track and takes you out of the mix`,
    `\`reuse on ${id}\` or \`reuse off ${id}\` says whether it may be published or reused`,
    '`notify off`: no more of these messages',
  ].join(' · ');
}

/** The DM at a stop: which room, which host, how long they were recorded, when it is deleted, what they can do. */
export function stopNotice(r: OwnRecording): string {
  const length = r.recordedMs === undefined ? '' : ` for ${formatDuration(r.recordedMs)}`;
  const deletion = r.deletesAt === undefined ? '' : ` It is deleted ${discordTime(r.deletesAt, 'D')}.`;
  return [
    `🎙️ You were recorded${length} in ${roomOf(r)}, in a room hosted by **${escapeMarkdown(r.hostName)}** (recording \`${r.id}\`, ${discordTime(r.startedAt, 'f')}).`,
    `The recording went to the host only.${deletion}`,
    `What you can do, by DM to me: ${speakerCommands(r.id)}.`,
  ].join('\n');
}

/** How many recordings `mine` lists, so its answer stays within Discord's 2,000 characters, whatever the names. */
const SHOWN = 7;

export function mineList(recordings: readonly OwnRecording[]): string {
  if (recordings.length === 0) return NO_RECORDINGS_OF_YOURS;
  const lines = recordings.slice(0, SHOWN).map((r) => {
    const fate = r.deletesAt === undefined ? 'still being recorded or prepared' : `deleted ${discordTime(r.deletesAt, 'D')}`;
    return `• \`${r.id}\` · ${discordTime(r.startedAt, 'f')} · ${roomOf(r)} · hosted by ${clipped(r.hostName)} · ${fate}`;
  });
  const more = recordings.length > SHOWN ? `\n…and ${recordings.length - SHOWN} older.` : '';
  return `**Recordings that hold your voice** (newest first):\n${lines.join('\n')}${more}\nDM me \`my track <id>\` for a private link to your own track.`;
}

export function stillRecording(id: string): string {
  return `Recording \`${id}\` is still going on. Your track can be fetched once it stops; ask again then.`;
}

export function trackLinkText(r: OwnRecording, url: string, expiresAt: number): string {
  const deletion = r.deletesAt === undefined ? '' : ` The recording is deleted ${discordTime(r.deletesAt, 'D')}.`;
  return [
    `Here's a private link to your own track in recording \`${r.id}\` (hosted by ${escapeMarkdown(r.hostName)}, ${discordTime(r.startedAt, 'f')}):`,
    url,
    `It opens only your track and your own consent, and works until ${discordTime(expiresAt, 'f')}; anyone who has it can hear your track.${deletion}`,
  ].join('\n');
}
