// What the host is told when a recording ends, and the progress line shown while a long room is prepared.
// Pure text, so every wording is visible (and tested) in one place.
import type { DiskFullSpan } from '../recording/disk-full.ts';
import type { StopProgress } from '../recording/stop-pipeline.ts';
import type { StopReason } from '../recording/recording-state.ts';
import type { Recording } from '../storage/store.ts';
import { formatDuration } from '../text/format.ts';
import { nameList, plural } from './format.ts';

export type StopLimits = { emptyRoomMinutes: number; maxHours: number };

export function whyItStopped(reason: StopReason, stoppedBy: string | undefined, limits: StopLimits): string {
  switch (reason) {
    case 'command':
      return stoppedBy ? `stopped by <@${stoppedBy}>` : 'stopped';
    case 'empty-room':
      return `stopped by itself: nobody was in the room for ${plural(limits.emptyRoomMinutes, 'minute')}`;
    case 'max-duration':
      return `stopped by itself: it reached the maximum length of ${plural(limits.maxHours, 'hour')}`;
    case 'voice-lost':
      return "stopped by itself: I lost the voice connection and couldn't rejoin";
    case 'e2ee-lost':
      return "stopped by itself: I could no longer take part in the room's end-to-end encryption (DAVE) and couldn't rejoin it, so I could not hear anyone";
    case 'shutdown':
      return 'stopped because the bot was shut down';
    case 'interrupted':
      return 'stopped because the bot restarted and could not rejoin the room';
  }
}

/** Who is in the recording and who withdrew: shared by the link DMs. */
function speakerLines(recording: Recording): string[] {
  const included = recording.speakers.filter((s) => s.includeInMix).map((s) => s.name);
  const withdrawn = recording.speakers.filter((s) => !s.includeInMix).map((s) => s.name);
  const lines = [
    included.length > 0 ? `Recorded: ${nameList(included)}.` : 'Nobody opted in, so there is no audio in it, only the consent receipt.',
  ];
  if (withdrawn.length > 0) lines.push(`Withdrew consent, left out of the mix: ${nameList(withdrawn)}.`);
  return lines;
}

/** In the room's chat as soon as the disk fills while recording. */
export function diskFullNotice(hostId: string): string {
  return (
    `⚠️ <@${hostId}>, the disk is full: recording is paused. What is already recorded is safe; the next few seconds are ` +
    "kept in memory, then the recording holds silence. It resumes by itself when space is freed on the bot's disk."
  );
}

/** In the room's chat when the disk has room again. */
export function diskOkNotice(span: DiskFullSpan): string {
  const at = formatDuration(span.toMs ?? span.fromMs);
  return `✅ There is room on the disk again: recording resumed at ${at}. From ${formatDuration(span.fromMs)} to ${at} it holds silence.`;
}

/** The DM's line about a full disk, when there was one: when (recording time), and what it cost. */
function diskFullLine(spans: readonly DiskFullSpan[]): string[] {
  if (spans.length === 0) return [];
  const when = spans.map((s) => `${formatDuration(s.fromMs)}–${s.toMs === undefined ? 'the end' : formatDuration(s.toMs)}`);
  return [
    `⚠️ Part of the recording was lost to a full disk: ${when.join(', ')} (from its start) is silence in the tracks and the mix, ` +
      'bar the first few seconds of each stretch.',
  ];
}

/** What the link DM opens with: the recording, why it stopped, and when the disk was full while it recorded. */
type IntroArgs = [
  recording: Recording,
  reason: StopReason,
  stoppedBy: string | undefined,
  limits: StopLimits,
  diskFull?: readonly DiskFullSpan[],
];

/** "Your recording … <verb> (why)", who is in it, and what a full disk cost. */
function opening(verb: string, [recording, reason, stoppedBy, limits, diskFull = []]: IntroArgs): string[] {
  return [
    `🎙️ Your recording \`${recording.id}\` of <#${recording.channelId}> ${verb} (${whyItStopped(reason, stoppedBy, limits)}).`,
    ...speakerLines(recording),
    ...diskFullLine(diskFull),
  ];
}

/** The first lines of the DM that carries the link. */
export function readyIntro(...args: IntroArgs): string {
  const recording = args[0];
  const lines = opening(recording.state === 'failed' ? 'has stopped' : 'is ready', args);
  if (recording.state === 'failed') {
    lines.push(`⚠️ The mix could not be made (${recording.error ?? 'unknown error'}); the separate tracks are on the page.`);
  }
  return lines.join('\n');
}

const MIX_PENDING =
  '⏳ The mix is still being prepared. The separate tracks are complete and on the page already; the page shows the mix by itself when it is done.';

/**
 * The first lines of a link sent before the mix is done (the tracks are closed, the recording is 'mixing'): a
 * stop right after a withdrawal or a restart re-mixes the whole room, and the host should not wait for it.
 */
export function preparingIntro(...args: IntroArgs): string {
  return [...opening('has stopped', args), `${MIX_PENDING} I'll DM you again when it's ready.`].join('\n');
}

/** A fresh link asked for (DM `download`) while the mix is being made. */
export function preparingFreshLinkIntro(recording: Recording): string {
  return `Here's a fresh link to your recording \`${recording.id}\`.\n${MIX_PENDING}`;
}

/** The one short DM after a link that went out before the mix was done. */
export function mixFinishedNote(recording: Recording): string {
  if (recording.state === 'failed') {
    return (
      `⚠️ The mix of your recording \`${recording.id}\` could not be made (${recording.error ?? 'unknown error'}). ` +
      'The separate tracks are complete: they stay on the page I sent you.'
    );
  }
  return `✅ The mix of your recording \`${recording.id}\` is ready: the page I sent you plays it now (it refreshes by itself).`;
}

export function dmClosedNotice(hostId: string): string {
  return (
    `<@${hostId}>, your recording is saved, but I can't send you direct messages (they're closed for me). ` +
    'Allow DMs from server members (server name → Privacy Settings), then DM me `download` and I will send you the link.'
  );
}

/** In the room's chat when the link DM failed for another reason than closed DMs: no link, what to do. */
export function dmFailedNotice(recording: Recording): string {
  return (
    `<@${recording.hostId}>, your recording \`${recording.id}\` has stopped, but sending you the link by direct message failed. ` +
    `DM me \`download ${recording.id}\` or use \`/recordings download ${recording.id}\` to get it.`
  );
}

/** In the room's chat when a recording interrupted by a restart could not be finished: no link, what to do. */
export function unfinishableNotice(recording: Recording, reason: string): string {
  return (
    `<@${recording.hostId}>, your recording \`${recording.id}\` was interrupted by a bot restart and I couldn't finish it (${reason}). ` +
    `Whatever was saved is kept: DM me \`download ${recording.id}\` for the link, or delete it with \`/recordings delete ${recording.id}\`.`
  );
}

/** Where a stop is, e.g. "mixing 42%": the running step says what it is doing and, if it can, how far it got. */
function progressWhere(progress: StopProgress): string {
  const percent =
    progress.total !== undefined && progress.total > 0 && progress.done !== undefined
      ? ` ${Math.min(100, Math.floor((progress.done / progress.total) * 100))}%`
      : '';
  return `${progress.doing}${percent}`;
}

/** The progress message's line; once the link went out early, it also says so (the mix is what is left). */
export function progressLine(progress: StopProgress, linkAlreadySent = false): string {
  const link = linkAlreadySent ? ' The link already went out by DM; the mix follows on the same page.' : '';
  return `⏳ Preparing the recording: ${progressWhere(progress)}…${link}`;
}

export function progressDoneLine(recording: Recording, dmSent: boolean): string {
  const what = recording.state === 'failed' ? '⚠️ Recording saved, but the mix failed.' : '✅ Recording ready.';
  return `${what} ${dmSent ? `The link went to <@${recording.hostId}> by DM.` : `<@${recording.hostId}> can DM me \`download\` for the link.`}`;
}

/** `/record status` while a room is stopping: where the stop is, and whether the host has the link yet. */
export function stoppingStatusLine(room: { channelId: string; hostId: string; progress?: StopProgress; linkSent: boolean }): string {
  const where = room.progress ? `${progressWhere(room.progress)}…` : 'stopping…';
  const link = room.linkSent
    ? `The link already went to <@${room.hostId}> by DM; the mix follows on the same page.`
    : `<@${room.hostId}> gets the link by DM when it's ready.`;
  return `⏹️ Stopped recording <#${room.channelId}>; preparing it: ${where}\n${link}`;
}
