// What the host is told when a recording ends, and the progress line shown while a long room is prepared.
// Pure text, so every wording is visible (and tested) in one place.
import type { StopProgress } from '../recording/stop-pipeline.ts';
import type { StopReason } from '../recording/recording-state.ts';
import type { Recording } from '../storage/store.ts';
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
    case 'shutdown':
      return 'stopped because the bot was shut down';
    case 'interrupted':
      return 'stopped because the bot restarted and could not rejoin the room';
  }
}

/** The first lines of the DM that carries the link. */
export function readyIntro(recording: Recording, reason: StopReason, stoppedBy: string | undefined, limits: StopLimits): string {
  const included = recording.speakers.filter((s) => s.includeInMix).map((s) => s.name);
  const withdrawn = recording.speakers.filter((s) => !s.includeInMix).map((s) => s.name);
  const lines = [
    `🎙️ Your recording \`${recording.id}\` of <#${recording.channelId}> is ready (${whyItStopped(reason, stoppedBy, limits)}).`,
    included.length > 0
      ? `Recorded: ${nameList(included)}.`
      : 'Nobody opted in, so there is no audio in it, only the consent receipt.',
  ];
  if (withdrawn.length > 0) lines.push(`Withdrew consent, left out of the mix: ${nameList(withdrawn)}.`);
  if (recording.state === 'failed') {
    lines.push(`⚠️ The mix could not be made (${recording.error ?? 'unknown error'}); the separate tracks are on the page.`);
  }
  return lines.join('\n');
}

export function dmClosedNotice(hostId: string): string {
  return (
    `<@${hostId}>, your recording is ready, but I can't send you direct messages (they're closed for me). ` +
    'Allow DMs from server members (server name → Privacy Settings), then DM me `download` and I will send you the link.'
  );
}

/** In the room's chat when a recording interrupted by a restart could not be finished: no link, what to do. */
export function unfinishableNotice(recording: Recording, reason: string): string {
  return (
    `<@${recording.hostId}>, your recording \`${recording.id}\` was interrupted by a bot restart and I couldn't finish it (${reason}). ` +
    `Whatever was saved is kept: DM me \`download ${recording.id}\` for the link, or delete it with \`/recordings delete ${recording.id}\`.`
  );
}

const PHASE_TEXT: Record<StopProgress['phase'], string> = {
  'closing-tracks': 'closing the tracks',
  mixing: 'mixing',
  'writing-receipt': 'writing the consent receipt',
  done: 'done',
};

export function progressLine(progress: StopProgress): string {
  const percent =
    progress.phase === 'mixing' && progress.total !== undefined && progress.total > 0 && progress.done !== undefined
      ? ` ${Math.min(100, Math.floor((progress.done / progress.total) * 100))}%`
      : '';
  return `⏳ Preparing the recording: ${PHASE_TEXT[progress.phase]}${percent}…`;
}

export function progressDoneLine(recording: Recording, dmSent: boolean): string {
  const what = recording.state === 'failed' ? '⚠️ Recording saved, but the mix failed.' : '✅ Recording ready.';
  return `${what} ${dmSent ? `The link went to <@${recording.hostId}> by DM.` : `<@${recording.hostId}> can DM me \`download\` for the link.`}`;
}
