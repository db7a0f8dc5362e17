// The download server: node:http, no framework. Everything a link opens lives under /r/<token>/:
//
//   /r/<token>/              download page (also /r/<token>)
//   /r/<token>/mix           the mix (inline for the player; ?download for a save dialog)
//   /r/<token>/tracks/<n>    speaker n's track, numbered as on the page
//   /r/<token>/mix.<format>  the mix as flac, wav, mp3 or ogg; tracks/<n>.<format>: a track (made on request,
//                            format-jobs.ts; until then a page that shows how far it is and refreshes itself)
//   /r/<token>/all.zip       every track + the mix + the notes' files + receipt.txt, streamed
//   /r/<token>/all-flac.zip  the same with the audio in FLAC (also all-wav.zip, all-mp3.zip), once all is made
//   /r/<token>/labels.txt    the notes as Audacity labels; chapters.vtt, chapters.json: as chapters (catalog.ts)
//   /r/<token>/audacity.lof  the tracks as an Audacity list of files; reaper.rpp: as a REAPER project
//   /r/<token>/receipt.txt   the consent receipt
//   /healthz                 liveness
//
// The URL selects an entry of the recording's catalog by key; no part of it is ever used as a file path. Files
// come only from the metadata, resolved inside the data directory by the storage layout. Slow and stalled
// connections are bounded by connections.ts, clients that send bad link after bad link by refused-links.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLayout } from '../storage/layout.ts';
import type { Logger } from '../log.ts';
import { speechSpans, type Span } from '../audio/speech-spans.ts';
import type { MixFormat } from '../audio/encoders/encoder.ts';
import {
  catalogOf,
  formatFilesOf,
  formatName,
  projectFilesOf,
  publishableFilesOf,
  readyMixes,
  recordingDurationMs,
  ZIP_FORMATS,
  zipFileName,
  zipFormatsOf,
  zipKey,
  zipTrackName,
  type Asset,
  type Catalog,
  type FormatContext,
  type FormatFile,
  type MadeFile,
} from './catalog.ts';
import { createFormatJobs, type FormatJobs } from './format-jobs.ts';
import { forgetAnswer, REMAKING_RETRY_SECONDS } from './forgotten-routes.ts';
import { addressKey, clientAddress } from './client-address.ts';
import { DEFAULT_CONNECTION_LIMITS, limitConnections, serverOptions, type ConnectionLimits } from './connections.ts';
import { contentDisposition } from './content-disposition.ts';
import type { LinkClaims, LinkSigner } from './link-signing.ts';
import {
  CONTENT_SECURITY_POLICY,
  downloadPage,
  formatFailedPage,
  messagePage,
  preparingPage,
  type FormatLink,
  type FormatStatus,
  type PresentTrack,
} from './page.ts';
import { buildReceipt, type ReceiptInput } from '../recording/receipt.ts';
import type { RecordingSource, RecordingView } from './recording-source.ts';
import { createRefusedLinks, DEFAULT_REFUSED_LINK_LIMIT, type RefusedLinkLimit, type RefusedLinks } from './refused-links.ts';
import { deletionTime } from '../storage/retention.ts';
import { speakerPage } from './speaker-page.ts';
import { speakerFileName, speakerTarget, speakerTrackKey, speakerTrackOf } from './speaker-route.ts';
import { sendFile, statOf, type FileVersion } from './send-file.ts';
import type { TimelineLane } from './timeline.ts';
import { sendZip, type ZipEntry } from './zip.ts';

const REFRESH_SECONDS = 10;
/** How often the page of a format being made asks again (and its Retry-After). */
const PREPARING_REFRESH_SECONDS = 2;
/** How often windows of refused links and connections that are over get their summary line. */
const LOG_SWEEP_MS = 60_000;
const TOKEN_SEGMENT = /^[A-Za-z0-9_-]{1,400}$/;
const TRACK_KEY = /^tracks\/([1-9]\d{0,3})$/;

export type DownloadServerOptions = {
  source: RecordingSource;
  dataDir: string;
  signer: LinkSigner;
  /** Address to listen on; loopback in tests. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Origin (and optional path prefix) that hosts' browsers use; defaults to the listening address. */
  publicUrl?: string | undefined;
  retentionDays: number;
  log: Logger;
  now: () => number;
  /**
   * Behind a reverse proxy (HTTP_TRUST_PROXY): the client's address is the last entry of X-Forwarded-For, which
   * the proxy appends. Otherwise the header is ignored (anyone can send it) and the socket's peer is the client.
   */
  trustProxy?: boolean;
  connections?: Partial<ConnectionLimits>;
  refusedLinks?: Partial<RefusedLinkLimit>;
  /** Formats made at once on request (format-jobs.ts); the rest wait their turn. */
  formatConcurrency?: number;
};

export type IssuedDownloadLink = {
  url: string;
  linkId: string;
  recordingId: string;
  issuedAt: number;
  expiresAt: number;
};

export type DownloadServer = {
  url: string;
  port: number;
  /**
   * A fresh signed link; record `linkId`/`expiresAt` in the store (`recordLink`) to know what was handed out.
   * With `speakerId`, a link that opens only that speaker's own track (speaker-route.ts).
   */
  linkFor(recordingId: string, now?: number, speakerId?: string): IssuedDownloadLink;
  /** Stops making formats of a recording whose audio is about to change (format-jobs.ts dropRecording). */
  dropFormats(recordingId: string): Promise<void>;
  close(): Promise<void>;
};

function linkUrl(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/r/${token}`;
}

export async function startDownloadServer(options: DownloadServerOptions): Promise<DownloadServer> {
  const { log, now } = options;
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.connections };
  const refusals = createRefusedLinks({ ...DEFAULT_REFUSED_LINK_LIMIT, ...options.refusedLinks }, log);
  const jobs = createFormatJobs({ log, ...(options.formatConcurrency === undefined ? {} : { concurrency: options.formatConcurrency }) });
  const handler = createHandler(options, refusals, jobs);
  const server = createServer(serverOptions(limits), (req, res) => {
    handler(req, res).catch((error: unknown) => {
      log.error({ err: error }, 'download request failed');
      if (res.headersSent) res.destroy();
      else sendPage(req, res, 500, 'Something went wrong', 'The server could not answer this request. Try again in a moment.');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log.error({ err: error }, 'download server error'));
  const sweepDrops = limitConnections(server, limits, log, now);
  const sweep = (at: number) => {
    refusals.sweep(at);
    sweepDrops(at);
  };
  const sweeper = setInterval(() => sweep(now()), LOG_SWEEP_MS).unref();
  const port = (server.address() as AddressInfo).port;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${hostForUrl}:${port}`;
  const publicUrl = (options.publicUrl ?? url).replace(/\/+$/, '');
  log.info({ url, publicUrl }, 'download server listening');
  return {
    url,
    port,
    linkFor(recordingId, now = options.now(), speakerId) {
      const issued = options.signer.issue(recordingId, now, speakerId);
      return {
        url: linkUrl(publicUrl, issued.token),
        linkId: issued.linkId,
        recordingId: issued.recordingId,
        issuedAt: issued.issuedAt,
        expiresAt: issued.expiresAt,
      };
    },
    dropFormats: (recordingId) => jobs.dropRecording(recordingId),
    close: async () => {
      await new Promise<void>((resolve, reject) => {
        clearInterval(sweeper);
        sweep(Infinity);
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      await jobs.close();
    },
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** A request that carried a valid link to a recording that still exists. */
type RouteRequest = {
  req: IncomingMessage;
  res: ServerResponse;
  recording: RecordingView;
  claims: LinkClaims;
  query: string;
  /** Prefix turning a route key into a URL relative to the page ('' when the page URL ends in '/'). */
  base: string;
};

function createHandler(options: DownloadServerOptions, refusals: RefusedLinks, jobs: FormatJobs): Handler {
  const { source, signer, log, now, retentionDays } = options;
  const trustProxy = options.trustProxy ?? false;
  const layout = createLayout(options.dataDir);
  const spans = createSpanCache(log);
  const locate = (recording: RecordingView, file: string): string | undefined => {
    try {
      return layout.file(recording.id, file);
    } catch (error) {
      // Metadata naming a file outside the recording's folder is corrupt or hostile: that one file is refused.
      log.error({ err: error, recordingId: recording.id }, 'metadata names a file outside the data directory');
      return undefined;
    }
  };

  return async (req, res) => {
    setSecurityHeaders(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      sendPage(req, res, 405, 'Method not allowed', 'Only GET and HEAD are supported.');
      return;
    }
    const target = req.url ?? '/';
    const queryAt = target.indexOf('?');
    const pathname = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? '' : target.slice(queryAt + 1);
    if (pathname === '/healthz') {
      sendText(req, res, 200, 'text/plain; charset=utf-8', 'ok\n');
      return;
    }
    // Raw, undecoded segments: an encoded '/' or '..' stays inside its segment and simply matches no route.
    const segments = pathname.split('/');
    if (segments[0] !== '' || segments[1] !== 'r' || segments[2] === undefined) {
      sendPage(req, res, 404, 'Not found', 'There is nothing at this address.');
      return;
    }
    const token = segments[2];
    const client = addressKey(clientAddress(req.headers['x-forwarded-for'], req.socket.remoteAddress, trustProxy));
    const wait = refusals.retryAfter(client, now());
    if (wait !== undefined) {
      const minutes = Math.ceil(wait / 60);
      res.setHeader('Retry-After', wait);
      sendPage(
        req,
        res,
        429,
        'Too many links that do not work',
        `Too many invalid links came from your address. Try again in ${minutes} min.`,
      );
      return;
    }
    const verdict = TOKEN_SEGMENT.test(token) ? signer.verify(token, now()) : { ok: false as const, reason: 'malformed' as const };
    if (!verdict.ok) {
      refusals.refused(client, verdict.reason, now());
      sendPage(
        req,
        res,
        403,
        'This link does not work',
        'The link is invalid or has expired. Ask the bot for a fresh one: send it a direct message saying "download".',
      );
      return;
    }
    const { claims } = verdict;
    const recording = await source.getRecording(claims.recordingId);
    if (!recording || recording.state === 'deleted' || recording.id !== claims.recordingId) {
      log.info({ linkId: claims.linkId }, 'download link for a deleted recording');
      sendPage(req, res, 410, 'This recording was deleted', 'Recordings are deleted after the retention period or by their host.');
      return;
    }
    const rest = segments.slice(3).join('/');
    const request: RouteRequest = { req, res, recording, claims, query, base: segments.length === 3 ? `${token}/` : '' };
    const served = claims.speakerId === undefined ? await route(rest, request) : await routeSpeaker(rest, request, claims.speakerId);
    if (!served) sendPage(req, res, 404, 'Not found', 'This recording has no such file.');
  };

  /**
   * A speaker's link: their page, their track and its formats, nothing else (speaker-route.ts). Their track
   * gone (or never there) answers 410 on those paths, as a deleted recording does.
   */
  async function routeSpeaker(rest: string, r: RouteRequest, speakerId: string): Promise<boolean> {
    const target = speakerTarget(rest);
    if (!target) return false;
    const catalog = catalogOf(r.recording, locate);
    const track = speakerTrackOf(catalog, speakerId);
    const file = await statOf(track?.path);
    if (!track?.path || !file) {
      log.info({ linkId: r.claims.linkId }, "speaker's link to a track that is gone");
      sendPage(r.req, r.res, 410, 'Your track is gone', 'This recording no longer holds your track.');
      return true;
    }
    const own = (format: MixFormat) => speakerFileName(track, format);
    const formats = formatFilesOf(await formatContext(r.recording, catalog), locate).filter((f) => f.asset === track && !f.stored && f.job);
    if (target.kind === 'page') {
      const html = speakerPage({
        recording: r.recording,
        speakerName: track.speaker.name,
        track: { fileName: own(track.format), size: file.size },
        formats: await Promise.all(formats.map(async (f) => ({ ...(await formatLink(r.recording, f)), key: speakerTrackKey(f.format) }))),
        events: (await source.consentEvents(r.recording.id)).filter((e) => e.userId === speakerId),
        ...pageDates(r),
      });
      sendText(r.req, r.res, 200, 'text/html; charset=utf-8', html);
      return true;
    }
    if (target.format === undefined || target.format === track.format) {
      return sendFile(r.req, r.res, { ...track, path: track.path, fileName: own(track.format), disposition: 'attachment', log });
    }
    const format = formats.find((f) => f.format === target.format);
    return format ? serveFormat(r, { ...format, fileName: own(format.format) }, rest) : false;
  }

  /** Returns false when the path names nothing this recording offers. */
  async function route(rest: string, r: RouteRequest): Promise<boolean> {
    const forget = forgetAnswer(rest, r.recording);
    if (forget) {
      if (forget.status === 503) r.res.setHeader('Retry-After', REMAKING_RETRY_SECONDS);
      sendPage(r.req, r.res, forget.status, forget.title, forget.text);
      return true;
    }
    const catalog = catalogOf(r.recording, locate);
    if (rest === '') {
      await servePage(r, catalog);
      return true;
    }
    if (rest === 'receipt.txt') {
      const receipt = buildReceipt(await receiptInput(r.recording));
      r.res.setHeader('Content-Disposition', contentDisposition('inline', 'receipt.txt'));
      sendText(r.req, r.res, 200, 'text/plain; charset=utf-8', receipt);
      return true;
    }
    if (rest === 'all.zip') {
      await serveZip(r, catalog);
      return true;
    }
    const zipFormat = ZIP_FORMATS.find((f) => zipKey(f) === rest);
    if (zipFormat) return serveFormatZip(r, await formatContext(r.recording, catalog), zipFormat, rest);
    const context = await formatContext(r.recording, catalog);
    const formatFile = [...formatFilesOf(context, locate), ...publishableFilesOf(context, locate)].find((f) => f.key === rest);
    if (formatFile) return serveFormat(r, formatFile, rest);
    const made = [...catalog.notes, ...(await projectFiles(r.recording, catalog))].find((file) => file.key === rest);
    if (made) {
      r.res.setHeader('Content-Disposition', contentDisposition('attachment', made.fileName));
      sendText(r.req, r.res, 200, made.contentType, made.body);
      return true;
    }
    const mix = readyMixes(r.recording, catalog).find((m) => m.key === rest);
    if (mix) {
      if (!mix.path) return false;
      const disposition = new URLSearchParams(r.query).has('download') ? 'attachment' : 'inline';
      return sendFile(r.req, r.res, { ...mix, path: mix.path, disposition, log });
    }
    const track = TRACK_KEY.exec(rest);
    if (track) {
      const asset = catalog.tracks.find((t) => t.key === `tracks/${track[1]}`);
      if (!asset?.path) return false;
      return sendFile(r.req, r.res, { ...asset, path: asset.path, disposition: 'attachment', log });
    }
    return false;
  }

  async function servePage(r: RouteRequest, catalog: Catalog): Promise<void> {
    const context = await formatContext(r.recording, catalog);
    const formats = formatFilesOf(context, locate).filter((f) => !f.stored && f.job);
    const linksOf = async (key: string) => Promise.all(formats.filter((f) => f.asset.key === key).map((f) => formatLink(r.recording, f)));
    const withFormats = async (asset: Asset | undefined) => {
      const mix = await presentMix(asset);
      return mix && { ...mix, formats: await linksOf(mix.asset.key) };
    };
    const tracks = await Promise.all((await presentTracks(catalog)).map(async (t) => ({ ...t, formats: await linksOf(t.asset.key) })));
    const zipFormats = await Promise.all(
      zipFormatsOf(context).map(async (format): Promise<FormatLink> => {
        const members = formats.filter((f) => f.format === format);
        return {
          key: zipKey(format),
          name: formatName(format),
          status: zipStatus(await Promise.all(members.map((m) => formatStatus(r.recording, m)))),
        };
      }),
    );
    const ready = readyMixes(r.recording, catalog);
    const html = downloadPage({
      recording: r.recording,
      events: await source.consentEvents(r.recording.id),
      mix: await withFormats(ready.find((m) => m === catalog.mix)),
      levelledMix: await withFormats(ready.find((m) => m === catalog.levelledMix)),
      publishableMix: await Promise.all(publishableFilesOf(context, locate).map((f) => formatLink(r.recording, f))),
      tracks,
      zipFormats,
      timeline: await timeline(r.recording, catalog),
      notesFiles: catalog.notes,
      projectFiles: await projectFiles(r.recording, catalog),
      seekMs: seekOf(r.query),
      ...pageDates(r),
    });
    sendText(r.req, r.res, 200, 'text/html; charset=utf-8', html);
  }

  async function serveZip(r: RouteRequest, catalog: Catalog): Promise<void> {
    const entries: ZipEntry[] = [];
    for (const { asset, file } of await presentTracks(catalog)) {
      if (asset.path !== undefined && file !== undefined) entries.push({ name: zipTrackName(asset), path: asset.path, ...file });
    }
    for (const mix of readyMixes(r.recording, catalog)) {
      const mixFile = await statOf(mix.path);
      if (mix.path !== undefined && mixFile !== undefined) entries.push({ name: mix.fileName, path: mix.path, ...mixFile });
    }
    for (const file of [...catalog.notes, ...(await projectFiles(r.recording, catalog))]) {
      entries.push({ name: file.fileName, data: Buffer.from(file.body, 'utf8') });
    }
    const receipt = buildReceipt(await receiptInput(r.recording));
    entries.push({ name: 'receipt.txt', data: Buffer.from(receipt, 'utf8') });
    // The recording's own time, so the archive is the same bytes on every request and a download can resume.
    const mtime = new Date(r.recording.stoppedAt ?? r.recording.startedAt);
    await sendZip(r.req, r.res, { entries, mtime, fileName: zipFileName(r.recording) }, log);
  }

  /** A mix with its size, when its file exists. */
  async function presentMix(asset: Asset | undefined): Promise<{ asset: Asset; size: number } | undefined> {
    const size = (await statOf(asset?.path))?.size;
    return asset && size !== undefined ? { asset, size } : undefined;
  }

  /** The keys of the catalog's audio files that exist: what every format is made from. */
  async function formatContext(recording: RecordingView, catalog: Catalog): Promise<FormatContext> {
    const present = new Set((await presentTracks(catalog)).filter((t) => t.file !== undefined).map((t) => t.asset.key));
    for (const mix of [catalog.mix, catalog.levelledMix]) if (mix && (await statOf(mix.path))) present.add(mix.key);
    return { recording, catalog, present };
  }

  function jobKey(recording: RecordingView, file: FormatFile): string {
    return `${recording.id}/${file.key}`;
  }

  /**
   * Where a format stands: made (its file is there), or what its job is doing. With `start` (a GET of its URL),
   * a format that is neither made nor being made is started, and a failed one again with `retry`.
   */
  async function formatStatus(
    recording: RecordingView,
    file: FormatFile,
    start?: { retry: boolean },
  ): Promise<FormatStatus & { version?: FileVersion }> {
    const made = await statOf(file.path);
    if (made || !file.job) return made ? { state: 'ready', size: made.size, version: made } : { state: 'absent' };
    const key = jobKey(recording, file);
    // Done, but its file has gone since (removed by hand): it is made again when asked.
    if (jobs.stateOf(key).state === 'done') jobs.forget(key);
    const job = start ? jobs.request(key, file.job, { ...start, recordingId: recording.id }) : jobs.stateOf(key);
    // Finished between the look at the disk and now.
    if (job.state === 'done') return formatStatus(recording, file);
    return job;
  }

  async function formatLink(recording: RecordingView, file: FormatFile): Promise<FormatLink> {
    return { key: file.key, name: formatName(file.format), status: await formatStatus(recording, file) };
  }

  /** One format of one file: the file once made, else the page that says how far it is (or that it failed). */
  async function serveFormat(r: RouteRequest, file: FormatFile, rest: string): Promise<boolean> {
    if (file.path === undefined) return false;
    const send = () => sendFile(r.req, r.res, { ...file, path: file.path!, disposition: 'attachment', log });
    if (file.stored) return send();
    // One that cannot be made now (the mix of a recording whose tracks are gone) is not offered: 404, unless made.
    if (!file.job) return send();
    const status = await formatStatus(r.recording, file, startOf(r));
    if (status.state === 'ready' && (await send())) return true;
    answerPending(r, [status], `${formatName(file.format)} of ${file.asset.title}`, rest);
    return true;
  }

  /** The zip of one format: sent once every member is made (asking for it starts them), else its progress. */
  async function serveFormatZip(r: RouteRequest, context: FormatContext, format: MixFormat, rest: string): Promise<boolean> {
    if (!zipFormatsOf(context).includes(format)) return false;
    const members = formatFilesOf(context, locate).filter((f) => f.format === format && (f.stored || f.job));
    const start = startOf(r);
    const statuses = await Promise.all(members.map((m) => formatStatus(r.recording, m, start)));
    if (statuses.some((s) => s.state !== 'ready')) {
      answerPending(r, statuses, `the ${formatName(format)} zip`, rest);
      return true;
    }
    const entries: ZipEntry[] = [];
    members.forEach((member, i) => {
      const { version } = statuses[i]!;
      if (member.path === undefined || version === undefined) return;
      const name = member.asset.kind === 'track' ? zipTrackName(member.asset, format) : member.fileName;
      entries.push({ name, path: member.path, ...version });
    });
    // The tracks first, then the mix, as in all.zip.
    entries.sort((a, b) => Number(!a.name.startsWith('tracks/')) - Number(!b.name.startsWith('tracks/')));
    for (const file of [...context.catalog.notes, ...projectFilesOf(r.recording, context.catalog, context.present, format)]) {
      entries.push({ name: file.fileName, data: Buffer.from(file.body, 'utf8') });
    }
    entries.push({ name: 'receipt.txt', data: Buffer.from(buildReceipt(await receiptInput(r.recording)), 'utf8') });
    const mtime = new Date(r.recording.stoppedAt ?? r.recording.startedAt);
    await sendZip(r.req, r.res, { entries, mtime, fileName: zipFileName(r.recording, format) }, log);
    return true;
  }

  /** 500 when any failed (with a link that tries again), else 202 with how far it is. */
  function answerPending(r: RouteRequest, statuses: readonly FormatStatus[], what: string, rest: string): void {
    // Relative to this URL: `tracks/1.flac` is one folder down from the page.
    const back = '../'.repeat(rest.split('/').length - 1) || './';
    const self = rest.split('/').pop() ?? rest;
    if (statuses.some((s) => s.state === 'failed')) {
      sendText(r.req, r.res, 500, 'text/html; charset=utf-8', formatFailedPage(what, `${self}?retry`, back));
      return;
    }
    const status = zipStatus(statuses);
    const percent = status.state === 'preparing' ? status.percent : 0;
    r.res.setHeader('Retry-After', PREPARING_REFRESH_SECONDS);
    const queued = statuses.some((s) => s.state === 'queued' || s.state === 'absent') && !statuses.some((s) => s.state === 'preparing');
    sendText(
      r.req,
      r.res,
      202,
      'text/html; charset=utf-8',
      preparingPage(what, { percent, queued }, PREPARING_REFRESH_SECONDS, self, back),
    );
  }

  /**
   * Tracks whose files exist, with their sizes. A withdrawn speaker's track is deleted when the host chose so;
   * then it is simply not listed. A missing track of anyone else is listed as unavailable, because its absence
   * is a fault the host should see.
   */
  async function presentTracks(catalog: Catalog): Promise<(PresentTrack & { file: FileVersion | undefined })[]> {
    const present = [];
    for (const asset of catalog.tracks) {
      const file = await statOf(asset.path);
      if (file === undefined && asset.speaker.withdrawnAt !== undefined) continue;
      present.push({ asset, size: file?.size, file });
    }
    return present;
  }

  /**
   * Each present track's lane of who spoke when, once the recording has stopped (a growing track would be
   * scanned on every refresh). A scan reads the whole track (about 0.4 s for an hour, docs/architecture.md), so
   * it is kept per file version; a file that changed is scanned again.
   */
  async function timeline(recording: RecordingView, catalog: Catalog): Promise<TimelineLane[]> {
    if (recordingDurationMs(recording) === undefined) return [];
    const lanes: TimelineLane[] = [];
    for (const { asset, file } of await presentTracks(catalog)) {
      if (asset.path === undefined || file === undefined) continue;
      lanes.push({ name: asset.speaker.name, spans: await spans.of(asset.path, file, recording.id) });
    }
    return lanes;
  }

  /** The editor projects, naming the tracks the zip holds: those whose files exist. */
  async function projectFiles(recording: RecordingView, catalog: Catalog): Promise<MadeFile[]> {
    const present = new Set((await presentTracks(catalog)).filter((t) => t.file !== undefined).map((t) => t.asset.key));
    return projectFilesOf(recording, catalog, present);
  }

  async function receiptInput(recording: RecordingView): Promise<ReceiptInput> {
    return { recording, events: await source.consentEvents(recording.id), deletionAt: deletionAt(recording), retentionDays };
  }

  /** What both pages say of the recording's deletion and the link, and how they refer to the files under it. */
  function pageDates(r: RouteRequest) {
    return {
      deletionAt: deletionAt(r.recording),
      retentionDays,
      linkExpiresAt: r.claims.expiresAt,
      base: r.base,
      refreshSeconds: REFRESH_SECONDS,
    };
  }

  function deletionAt(recording: RecordingView): number {
    return deletionTime(recording, retentionDays);
  }
}

const SPAN_CACHE_ENTRIES = 256;

/** Speech spans per track file version, the oldest dropped first beyond SPAN_CACHE_ENTRIES. */
function createSpanCache(log: Logger) {
  const cache = new Map<string, { version: string; spans: Span[] | undefined }>();
  return {
    async of(file: string, { size, mtimeMs }: FileVersion, recordingId: string): Promise<Span[] | undefined> {
      const version = `${size}/${mtimeMs}`;
      const hit = cache.get(file);
      if (hit?.version === version) return hit.spans;
      let found: Span[] | undefined;
      try {
        found = await speechSpans(file);
      } catch (error) {
        // A damaged track still downloads; only its lane says it could not be read.
        log.warn({ err: error, recordingId }, 'could not read a track for the timeline');
      }
      cache.delete(file);
      cache.set(file, { version, spans: found });
      if (cache.size > SPAN_CACHE_ENTRIES) cache.delete(cache.keys().next().value ?? '');
      return found;
    },
  };
}

/** `?t=<seconds>` of a note's link: where the page's player starts. */
function seekOf(query: string): number | undefined {
  const t = new URLSearchParams(query).get('t');
  const seconds = t === null || t.trim() === '' ? NaN : Number(t);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.round(seconds * 1000) : undefined;
}

/** A GET of a format's URL starts making it (HEAD only looks); `?retry` starts a failed one again. */
function startOf(r: RouteRequest): { retry: boolean } | undefined {
  return r.req.method === 'GET' ? { retry: new URLSearchParams(r.query).has('retry') } : undefined;
}

/** Several formats as one (a zip's members): ready when all are, failed when any is, else how far in all. */
function zipStatus(statuses: readonly FormatStatus[]): FormatStatus {
  if (statuses.some((s) => s.state === 'failed')) return { state: 'failed' };
  if (statuses.every((s) => s.state === 'ready')) {
    return { state: 'ready', size: statuses.reduce((n, s) => n + (s.state === 'ready' ? s.size : 0), 0) };
  }
  if (statuses.every((s) => s.state === 'absent' || s.state === 'ready')) return { state: 'absent' };
  const percents = statuses.map((s) => (s.state === 'ready' ? 100 : s.state === 'preparing' ? s.percent : 0));
  const percent = Math.min(99, Math.floor(percents.reduce((a, b) => a + b, 0) / Math.max(1, percents.length)));
  return statuses.some((s) => s.state === 'preparing') || percent > 0 ? { state: 'preparing', percent } : { state: 'queued' };
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Cache-Control', 'private, no-store');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  // The token is in the URL: never send it onwards.
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendPage(req: IncomingMessage, res: ServerResponse, status: number, title: string, text: string): void {
  sendText(req, res, status, 'text/html; charset=utf-8', messagePage(title, text));
}

function sendText(req: IncomingMessage, res: ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}
