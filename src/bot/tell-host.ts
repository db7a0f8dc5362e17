// Runs a stop (or a finish after a restart) and tells the host: one link DM when the recording is ready in
// time, else the link at once and a short DM when the mix is done (stop-delivery.ts); DMs closed or failing →
// a mention in the room's chat without the link. Shared by live rooms and restart recovery.
import type { VoiceBasedChannel } from 'discord.js';
import type { Logger } from '../log.ts';
import type { Clock } from '../recording/clock.ts';
import type { DiskFullSpan } from '../recording/disk-full.ts';
import type { StopReason } from '../recording/recording-state.ts';
import type { StopOutcome, StopProgress } from '../recording/stop-pipeline.ts';
import type { Recording, Store } from '../storage/store.ts';
import type { Timers } from './coalescing-editor.ts';
import type { Library } from './services.ts';
import { deliverLink, stopAndDeliver, type DeliveryResult } from './stop-delivery.ts';
import { mixFinishedNote, preparingIntro, readyIntro, type StopLimits } from './stop-notice.ts';

export type TellHostDeps = {
  store: Store;
  library: Library;
  log: Logger;
  /** Monotonic, for stop → link timings. */
  clock: Clock;
  limits: StopLimits;
  /** The link goes out before the mix when the recording is not ready this long after the stop was asked for. */
  earlyLinkAfterMs: number;
  timers: Timers;
  /** A stop is over and the host has been told: the recording is ready or failed (the webhook's event). */
  onFinished?: (recording: Recording) => void;
};

export type StopAndTell = {
  recordingId: string;
  /** When the stop was asked for (monotonic): the early link is timed from there. */
  since: number;
  run: (onProgress: (p: StopProgress) => void) => Promise<StopOutcome>;
  /** `diskFull`: when the disk was full while the room recorded (read once the stop is done). */
  intro: { reason: StopReason; stoppedBy: string | undefined; diskFull?: () => readonly DiskFullSpan[] };
  channel: VoiceBasedChannel | undefined;
  onProgress?: (p: StopProgress) => void;
  onEarlyLink?: (result: DeliveryResult, recording: Recording) => void;
};

export type Told = { outcome: StopOutcome; linkSent: boolean; linkBeforeMix: boolean; linkAt: number };

export async function stopAndTell(deps: TellHostDeps, opts: StopAndTell): Promise<Told> {
  const { library, log, clock, limits } = deps;
  const { reason, stoppedBy } = opts.intro;
  let linkAt: number | undefined;
  const delivery = await stopAndDeliver(
    opts.run,
    {
      earlyAfterMs: Math.max(0, deps.earlyLinkAfterMs - (clock.now() - opts.since)),
      timers: deps.timers,
      current: () => deps.store.getRecording(opts.recordingId),
      sendLink: async (recording, when) => {
        const diskFull = opts.intro.diskFull?.() ?? [];
        const intro =
          when === 'early'
            ? preparingIntro(recording, reason, stoppedBy, limits, diskFull)
            : readyIntro(recording, reason, stoppedBy, limits, diskFull);
        const result = await deliverLink({ library, log, chat: chatIn(opts.channel) }, recording, intro);
        linkAt ??= clock.now();
        return result;
      },
      sendMixFinished: async (recording) => {
        await library.tellHost(recording, mixFinishedNote(recording)).then(
          (outcome) => {
            if (outcome.status !== 'sent') log.warn({ recordingId: recording.id }, 'could not DM the host that the mix is done');
          },
          (error: unknown) => log.error({ err: error, recordingId: recording.id }, 'could not DM the host that the mix is done'),
        );
      },
      ...(opts.onEarlyLink ? { onEarlyLink: opts.onEarlyLink } : {}),
    },
    opts.onProgress,
  );
  deps.onFinished?.(delivery.outcome.recording);
  return { outcome: delivery.outcome, linkSent: delivery.linkSent, linkBeforeMix: delivery.early, linkAt: linkAt ?? clock.now() };
}

/** Posts in the room's chat, mentioning only the host; false when the bot cannot post there. */
function chatIn(channel: VoiceBasedChannel | undefined): (content: string, mention: string) => Promise<boolean> {
  return async (content, mention) => {
    if (!channel?.isSendable()) return false;
    await channel.send({ content, allowedMentions: { users: [mention] } });
    return true;
  };
}
