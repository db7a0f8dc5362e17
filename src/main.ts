// Composition root: configuration is read once here, everything is built here and handed its dependencies.
// `npm start` runs it against Discord; scripts/demo.ts and the end-to-end tests call startBot() with overrides
// (the local Discord stand-in's API, a data directory, clocks).
import { Events, type Client } from 'discord.js';
import { commands } from '../commands/index.ts';
import { createDiscordClient, DiscordLoginError, explainLoginError } from './bot/client.ts';
import { freeBytesAt } from './bot/disk-space.ts';
import { createDmHandler } from './bot/dm.ts';
import { createReuseChanges } from './recording/reuse-change.ts';
import { createIndicator, REC_PREFIX } from './bot/indicator.ts';
import { createLibrary, issueLink } from './bot/library.ts';
import { createRooms, type RoomManager } from './bot/rooms.ts';
import { createSpeakerLibrary } from './bot/speaker-library.ts';
import { createInteractionRouter } from './bot/router.ts';
import { ConfigError, envWithDotenv, loadBotConfig, publicUrlWarning, type BotConfig } from './config.ts';
import { startDownloadServer, type DownloadServer } from './http/download-server.ts';
import { createLinkSigner } from './http/link-signing.ts';
import { startRetentionJob, type RetentionJob, type Scheduler } from './jobs/retention-job.ts';
import { createLogger, type Logger } from './log.ts';
import { monotonicClock, type Clock } from './recording/clock.ts';
import type { RoomDeps } from './recording/room-recorder.ts';
import type { MixFunction } from './recording/stop-pipeline.ts';
import type { Timers } from './bot/coalescing-editor.ts';
import { BackgroundWork } from './recording/background-work.ts';
import { createForgetSpeaker } from './recording/forget-speaker.ts';
import { mixTracks } from './audio/mixer.ts';
import { removeLeftoverMixFiles } from './storage/leftover-mix-files.ts';
import { openStore, type Recording, type Store } from './storage/store.ts';
import { finishedType } from './webhook/event.ts';
import type { RetryPolicy } from './webhook/retry-policy.ts';
import { createWebhook, type Webhook } from './webhook/webhook.ts';

const HOUR_MS = 3_600_000;

export type StartBotOptions = {
  /** Already-validated configuration; otherwise read from the environment (and .env) once. */
  config?: BotConfig;
  /** Discord REST base URL (the local stand-in); Discord's own when absent. */
  discordApi?: string;
  /**
   * Listen on this port (0: any free one) and hand out links to the address actually listened on, instead of
   * HTTP_PORT / PUBLIC_URL. For the demo and tests.
   */
  httpPort?: number;
  /** Epoch milliseconds: recording start/stop times, link expiry, retention. */
  now?: () => number;
  /** Monotonic milliseconds: audio placement and timings. */
  clock?: Clock;
  log?: Logger;
  /** Retention's cron scheduler (tests pass one that never fires and call retention.runNow()). */
  retentionScheduler?: Scheduler;
  /** The mixer used at stop (tests inject a slow or failing one); replaces the live mix. Default: the project's. */
  mix?: MixFunction;
  /** How long after a stop the link goes out even though the mix is not done. Default 3 s. */
  earlyLinkAfterMs?: number;
  /** The timers that wait for that moment (tests pass manual ones, so a slow machine never decides the path). */
  earlyLinkTimers?: Timers;
  /** Free bytes on the data folder's file system, read by `/record start`. Default: statfs (tests fake a full disk). */
  freeDiskBytes?: () => Promise<number>;
  /** The tracks' file-system write (tests make it fail with ENOSPC for a while). Default: the real one. */
  trackWrite?: RoomDeps['trackWrite'];
  /** The webhook's retry timing (tests make it short). Default: retry-policy.ts. */
  webhookPolicy?: Partial<RetryPolicy>;
};

export type Bot = {
  readonly config: BotConfig;
  readonly client: Client;
  readonly store: Store;
  readonly server: DownloadServer;
  readonly rooms: RoomManager;
  readonly retention: RetentionJob;
  /** Undefined without WEBHOOK_URL. */
  readonly webhook: Webhook | undefined;
  readonly log: Logger;
  /** What is made once a recording is ready (the levelled mix); `idle()` waits for it. */
  readonly background: BackgroundWork;
  /** Graceful: every room is stopped, mixed and its host told; then everything closes. */
  stop(): Promise<void>;
};

export async function startBot(options: StartBotOptions = {}): Promise<Bot> {
  const config = options.config ?? loadBotConfig(envWithDotenv());
  const log = options.log ?? createLogger({ level: config.logLevel, name: 'roomrec' });
  // Whatever start-up opened is closed again if it fails, so a bad token or no network ends the process
  // instead of leaving the HTTP server and the cron job holding it open.
  const opened: { what: string; close: () => Promise<unknown> }[] = [];
  try {
    return await assemble(options, config, log, (what, close) => opened.push({ what, close }));
  } catch (error) {
    for (const { what, close } of opened.reverse()) {
      await close().catch((closeError: unknown) => log.warn({ err: closeError }, `could not close the ${what} after a failed start`));
    }
    throw error;
  }
}

async function assemble(
  options: StartBotOptions,
  config: BotConfig,
  log: Logger,
  opened: (what: string, close: () => Promise<unknown>) => void,
): Promise<Bot> {
  const now = options.now ?? Date.now;
  const clock = options.clock ?? monotonicClock;

  // Links point at PUBLIC_URL unless the caller chose the address (demo, tests: loopback).
  const insecure = options.httpPort === undefined ? publicUrlWarning(config.http.publicUrl) : undefined;
  if (insecure) log.warn({ publicUrl: config.http.publicUrl }, insecure);

  const store = await openStore({ dataDir: config.dataDir, keyvUrl: config.keyv.url, log: log.child({ part: 'store' }), now });
  opened('store', () => store.close());
  const rebuilt = await store.rebuildIndexFromDisk();
  const signer = createLinkSigner({ secret: config.links.secret, ttlMs: config.links.ttlHours * HOUR_MS });
  const server = await startDownloadServer({
    source: store,
    dataDir: config.dataDir,
    signer,
    host: options.httpPort === undefined ? config.http.host : '127.0.0.1',
    port: options.httpPort ?? config.http.port,
    publicUrl: options.httpPort === undefined ? config.http.publicUrl : undefined,
    retentionDays: config.retention.days,
    log: log.child({ part: 'http' }),
    now,
    trustProxy: config.http.trustProxy,
  });
  opened('download server', () => server.close());
  const webhook = config.webhook
    ? createWebhook({
        ...config.webhook,
        store,
        log: log.child({ part: 'webhook' }),
        now,
        issueLink: (recording) => issueLink({ store, linkFor: (id, at) => server.linkFor(id, at), now }, recording),
        ...(options.webhookPolicy ? { policy: options.webhookPolicy } : {}),
      })
    : undefined;
  if (webhook) opened('webhook', () => webhook.close());
  // Fire and forget: notify() stores the event and never rejects; delivery never holds up its caller.
  const notifyFinished = webhook && ((recording: Recording) => void webhook.notify(finishedType(recording), recording));
  const onDeleted = webhook && ((recording: Recording) => void webhook.notify('recording.deleted', recording));
  await webhook?.resume();
  const background = new BackgroundWork();
  opened('work after the stops', () => background.close());
  // What is still being made from a recording's audio (the levelled mix, formats on request) is let finish or
  // dropped before its files change: a forget, or a deletion (whose folder would otherwise get files back).
  const quiesce = async (recordingId: string) => {
    await background.idle();
    await server.dropFormats(recordingId);
  };
  const retention = startRetentionJob({
    beforeDelete: quiesce,
    store,
    policy: { retentionDays: config.retention.days },
    cron: config.retention.cron,
    log: log.child({ part: 'retention' }),
    clock: now,
    ...(onDeleted ? { onDeleted } : {}),
    ...(options.retentionScheduler ? { schedule: options.retentionScheduler } : {}),
  });
  opened('retention job', () => retention.stop());

  const client = createDiscordClient({ api: options.discordApi });
  opened('Discord client', () => client.destroy());
  const botLog = log.child({ part: 'bot' });
  const library = createLibrary({
    client,
    store,
    linkFor: (id, at) => server.linkFor(id, at),
    retentionDays: config.retention.days,
    now,
    log: botLog,
    isLive: (id) => rooms.isLive(id),
    beforeDelete: quiesce,
    ...(onDeleted ? { onDeleted } : {}),
  });
  const speakers = createSpeakerLibrary({
    client,
    store,
    linkForSpeaker: (id, speakerId, at) => server.linkFor(id, at, speakerId),
    retentionDays: config.retention.days,
    now,
    log: botLog,
  });
  const forget = createForgetSpeaker({
    store,
    log: botLog,
    config,
    mix: options.mix ?? mixTracks,
    now,
    // The levelled mix and any format being made read the track that is about to go.
    quiesce,
    tellHost: (recording, text) => library.tellHost(recording, text),
  });
  // A stop is over and the host has been told (never before their link), live or after a restart's finish from
  // disk: the webhook hears of it; then, in the background so neither the stop nor the room's last messages wait,
  // "forget me" requests that waited for the stop are carried out and the speakers still in it are told.
  const onFinished = (recording: Recording) => {
    notifyFinished?.(recording);
    // Not background work itself while it waits: a forget waits for the background to be idle (quiesce).
    void forget
      .complete(recording.id)
      .then(() => store.getRecording(recording.id))
      .then((current) => current && background.add(speakers.tellSpeakers(current)))
      .catch((error: unknown) => botLog.error({ err: error, recordingId: recording.id }, 'could not finish what follows a stop'));
  };
  const rooms = createRooms({
    client,
    store,
    library,
    recorder: {
      store,
      clock,
      background,
      wallNow: now,
      log: log.child({ part: 'recording' }),
      config,
      ...(options.mix ? { mix: options.mix } : {}),
      ...(options.trackWrite ? { trackWrite: options.trackWrite } : {}),
    },
    retentionDays: config.retention.days,
    limits: { emptyRoomMinutes: config.recording.emptyRoomMinutes, maxHours: config.recording.maxHours },
    now,
    clock,
    log: botLog,
    ...(options.earlyLinkAfterMs === undefined ? {} : { earlyLinkAfterMs: options.earlyLinkAfterMs }),
    ...(options.earlyLinkTimers ? { timers: options.earlyLinkTimers } : {}),
    onFinished,
  });
  opened('rooms', async () => rooms.dispose());
  const route = createInteractionRouter({
    commands,
    services: {
      rooms,
      library,
      speakers,
      retentionDays: config.retention.days,
      linkTtlHours: config.links.ttlHours,
      freeDiskBytes: options.freeDiskBytes ?? (() => freeBytesAt(config.dataDir)),
      minFreeDiskMb: config.disk.minFreeMb,
      now,
      log: botLog,
    },
    log: botLog,
  });
  const reuseChanges = createReuseChanges({ store, log: botLog, retentionDays: config.retention.days, now });
  const onDm = createDmHandler({
    store,
    library,
    speakers,
    log: botLog,
    forget: { speaker: forget, now, confirmAll: new Map() },
    reuse: {
      live: (recordingId, userId, reuse) => rooms.setReuse(recordingId, userId, reuse),
      stopped: (recording, userId, reuse) => reuseChanges.change(recording, userId, reuse),
    },
  });
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  client.on(Events.MessageCreate, (message) => void onDm(message));
  client.on(Events.Error, (error) => botLog.error({ err: error }, 'discord client error'));
  client.on(Events.Warn, (message) => botLog.warn({ message }, 'discord client warning'));

  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  try {
    await client.login(config.discord.token);
  } catch (error) {
    throw explainLoginError(error, options.discordApi);
  }
  await ready;
  botLog.info({ user: client.user?.tag, guilds: client.guilds.cache.size, restored: rebuilt.restored.length }, 'logged in');
  // Before anything is resumed: no mix is being written yet, so every unfinished mix file is a leftover.
  await removeLeftoverMixFiles({ layout: store.layout, isLive: (id) => rooms.isLive(id), log: log.child({ part: 'store' }) }).catch(
    (error: unknown) => log.warn({ err: error }, 'could not remove unfinished mix files left by an earlier run'),
  );
  await rooms.resumeAll();
  // Requests a previous process stored but did not finish (it died or stopped in the middle of one).
  await forget.completeAll();
  await clearStaleIndicators(client, rooms, botLog);

  let stopping: Promise<void> | undefined;
  return {
    config,
    client,
    store,
    server,
    rooms,
    retention,
    webhook,
    log,
    background,
    stop() {
      stopping ??= (async () => {
        await rooms.stopAll('shutdown');
        // What is cut off here (a levelled mix) stays marked as being made; the next start makes it again.
        await background.close();
        rooms.dispose();
        await client.destroy();
        await retention.stop();
        await webhook?.close();
        await server.close();
        await store.close();
      })();
      return stopping;
    },
  };
}

/** A crash leaves "🔴 REC" on the bot's nickname in guilds where nothing was resumed: take it off. */
async function clearStaleIndicators(client: Client, rooms: RoomManager, log: Logger): Promise<void> {
  for (const guild of client.guilds.cache.values()) {
    if (rooms.current(guild.id) || !guild.members.me?.nickname?.startsWith(REC_PREFIX)) continue;
    const channelId = guild.members.me.voice.channelId ?? '';
    await createIndicator({ guild, voiceChannelId: channelId, log }).off();
  }
}

/** `npm start`: a start-up failure is one clear line on stderr and a non-zero exit, never a hang. */
export async function main(options: StartBotOptions = {}): Promise<void> {
  let bot: Bot;
  try {
    bot = await startBot(options);
  } catch (error) {
    const known = error instanceof ConfigError || error instanceof DiscordLoginError;
    console.error(known ? `roomrec cannot start: ${error.message}` : error);
    process.exitCode = 1;
    return;
  }
  const shutdown = (signal: string) => {
    bot.log.info({ signal }, 'shutting down: stopping recordings and sending links');
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        bot.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (import.meta.main) await main();
