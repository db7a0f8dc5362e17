// How a stop reaches the host, within seconds whatever the mix costs. Normally the mix is done at once (the live
// mix kept up) and the host gets one DM with the link. A stop right after a withdrawal or a bot restart re-mixes
// the whole room (33 s for an hour): when the mix is not done `earlyAfterMs` after the stop, the link goes out as
// soon as the tracks are closed (the recording is 'mixing'; the download page says the mix is coming and
// refreshes itself, the tracks are already there), and one short DM follows when the mix is ready or has failed.
//
//   stop ──close tracks──▶ mixing ─────────────── mix done ──▶ ready
//        │                                             │
//        └─ earlyAfterMs: still mixing? ──▶ link DM    └──▶ "mix ready" DM   (else: the one link DM here)
import type { Logger } from '../log.ts';
import type { StopOutcome, StopProgress } from '../recording/stop-pipeline.ts';
import type { Recording } from '../storage/store.ts';
import type { Timers } from './coalescing-editor.ts';
import { dmClosedNotice, dmFailedNotice } from './stop-notice.ts';
import type { Library } from './services.ts';

/** What became of a link DM: sent; refused because the host's DMs are closed; or failed otherwise. */
export type DeliveryResult = 'sent' | 'dm-closed' | 'failed';

export type StopDeliveryDeps = {
  /** Send the link early when the recording is not ready this long after the stop. */
  earlyAfterMs: number;
  timers: Timers;
  /** The stored recording now ('mixing' once the tracks are closed). */
  current(): Promise<Recording | undefined>;
  /** DMs the link: `early` with the mix still being made, `final` once ready or failed. Never throws. */
  sendLink(recording: Recording, when: 'early' | 'final'): Promise<DeliveryResult>;
  /** The short DM after an early link: the mix is ready, or failed. Never throws. */
  sendMixFinished(recording: Recording): Promise<void>;
  /** The early link has been dealt with (for the progress message and `/record status`). */
  onEarlyLink?(result: DeliveryResult, recording: Recording): void;
};

export type StopDelivery = {
  outcome: StopOutcome;
  /** Whether the host got a link by DM (early or final). */
  linkSent: boolean;
  /** Whether the link went out before the mix was done. */
  early: boolean;
};

/**
 * Runs a stop (`run` is the stop pipeline, given a progress callback) and tells the host. Resolves once the
 * stop is over and every message about it has been sent.
 */
export async function stopAndDeliver(
  run: (onProgress: (p: StopProgress) => void) => Promise<StopOutcome>,
  deps: StopDeliveryDeps,
  onProgress?: (p: StopProgress) => void,
): Promise<StopDelivery> {
  let tracksClosed!: () => void;
  const closed = new Promise<void>((resolve) => (tracksClosed = resolve));
  const stopped = run((p) => {
    if (p.tracksClosed) tracksClosed();
    onProgress?.(p);
  });
  let timer: unknown;
  const due = new Promise<void>((resolve) => (timer = deps.timers.setTimeout(resolve, deps.earlyAfterMs)));
  const first = await Promise.race([stopped.then(() => 'stopped' as const), due.then(() => closed).then(() => 'early' as const)]).finally(
    () => deps.timers.clearTimeout(timer),
  );

  if (first === 'early') {
    // Unreadable, finished in the meantime, or gone: the usual single DM below, once the stop is over.
    const recording = await deps.current().catch(() => undefined);
    if (recording?.state === 'mixing') {
      const result = await deps.sendLink(recording, 'early');
      deps.onEarlyLink?.(result, recording);
      const outcome = await stopped;
      if (result === 'sent') {
        await deps.sendMixFinished(outcome.recording);
        return { outcome, linkSent: true, early: true };
      }
      // Closed DMs were already pointed out in the room's chat; any other failure is worth one more try.
      if (result === 'dm-closed') return { outcome, linkSent: false, early: true };
      return { outcome, linkSent: (await deps.sendLink(outcome.recording, 'final')) === 'sent', early: true };
    }
  }
  const outcome = await stopped;
  return { outcome, linkSent: (await deps.sendLink(outcome.recording, 'final')) === 'sent', early: false };
}

/** Posts in the room's chat; false when there is no chat to post in. */
export type RoomChat = (text: string, mention: string) => Promise<boolean>;

/**
 * DMs the host a fresh link; when that fails, tells them in the room's chat, never with the link: closed DMs
 * (what to change), or another error (logged; how to get the link anyway). A failure never fails the stop.
 */
export async function deliverLink(
  deps: { library: Pick<Library, 'sendLink'>; chat: RoomChat; log: Logger },
  recording: Recording,
  intro: string,
): Promise<DeliveryResult> {
  const { log } = deps;
  let result: DeliveryResult;
  try {
    result = (await deps.library.sendLink(recording, intro)).status;
  } catch (error) {
    log.error({ err: error, recordingId: recording.id, hostId: recording.hostId }, 'could not DM the host the link');
    result = 'failed';
  }
  if (result === 'sent') return result;
  const notice = result === 'dm-closed' ? dmClosedNotice(recording.hostId) : dmFailedNotice(recording);
  try {
    const posted = await deps.chat(notice, recording.hostId);
    if (!posted) log.warn({ recordingId: recording.id, result }, 'no room chat to tell the host the link was not sent');
  } catch (error) {
    log.error({ err: error, recordingId: recording.id, result }, 'could not tell the host in the room chat that the link was not sent');
  }
  return result;
}
