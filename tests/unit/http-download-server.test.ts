import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startDownloadServer, type DownloadServer } from '../../src/http/download-server.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import type { ConsentEventView, RecordingSource, RecordingView } from '../../src/http/recording-source.ts';
import { silentLogger } from '../../src/log.ts';
import { call } from '../helpers/http-call.ts';
import { parseLof, readRpp } from '../helpers/project-files.ts';
import { readZip } from '../helpers/zip-reader.ts';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const T0 = Date.UTC(2025, 2, 1, 18, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const XSS_NAME = '<script>alert("x")</script>';

function speaker(n: number, name: string, userId: string, extra: Partial<RecordingView['speakers'][number]> = {}) {
  return { userId, name, trackFile: `tracks/${n}-x-${userId}.ogg`, consentedAt: T0 + n * MIN, includeInMix: true, ...extra };
}

const READY: RecordingView = {
  id: 'abcdefghij',
  hostName: 'Hostess',
  startedAt: T0,
  stoppedAt: T0 + HOUR,
  state: 'ready',
  speakers: [
    speaker(1, 'Ålice', '111'),
    speaker(2, XSS_NAME, '222'),
    // Withdrew, and the host chose to delete withdrawn tracks: the file is gone.
    speaker(3, 'Zed', '333', { withdrawnAt: T0 + 20 * MIN, includeInMix: false }),
    // Withdrew, track kept but left out of the mix.
    speaker(4, 'Dave', '444', { withdrawnAt: T0 + 30 * MIN, includeInMix: false }),
  ],
  mix: { file: 'mix.ogg', format: 'ogg', durationMs: HOUR },
  // Added out of time order, as a restart's recovery may leave them.
  notes: [
    { at: 30 * MIN, by: '222', byName: XSS_NAME, text: '<script>alert(1)</script> --> & co' },
    { at: 61_500, by: '111', byName: 'Ålice', text: 'Intro done' },
  ],
};

const EVENTS: ConsentEventView[] = [
  { userId: '111', name: 'Ålice', event: 'granted', at: T0 + MIN },
  { userId: '222', name: XSS_NAME, event: 'granted', at: T0 + 2 * MIN },
  { userId: '333', name: 'Zed', event: 'granted', at: T0 + 3 * MIN },
  { userId: '444', name: 'Dave', event: 'granted', at: T0 + 4 * MIN },
  { userId: '333', name: 'Zed', event: 'withdrawn', at: T0 + 20 * MIN },
  { userId: '444', name: 'Dave', event: 'withdrawn', at: T0 + 30 * MIN },
];

const recordings = new Map<string, RecordingView>([
  [READY.id, READY],
  ['mixingabcd', { ...READY, id: 'mixingabcd', state: 'mixing', mix: undefined }],
  ['failedabcd', { ...READY, id: 'failedabcd', state: 'failed', mix: undefined, notes: undefined }],
  ['deletedabc', { ...READY, id: 'deletedabc', state: 'deleted', speakers: [], mix: undefined }],
  [
    'hostilemet',
    {
      ...READY,
      id: 'hostilemet',
      speakers: [speaker(1, 'Eve', '555', { trackFile: '../../secret.txt' })],
      mix: { file: '../../../secret.txt', format: 'ogg', durationMs: 1 },
      notes: undefined,
    },
  ],
]);

const source: RecordingSource = {
  getRecording: async (id) => recordings.get(id),
  consentEvents: async (id) => (id === READY.id ? EVENTS : []),
};

let dataDir: string;
let root: string;
let server: DownloadServer;
let clock = T0 + 2 * HOUR;
const files = {
  mix: randomBytes(10_000),
  alice: randomBytes(5_000),
  xss: randomBytes(3_000),
  dave: randomBytes(2_000),
};

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomrec-http-'));
  dataDir = path.join(root, 'data');
  for (const id of [READY.id, 'mixingabcd', 'failedabcd']) {
    const dir = path.join(dataDir, 'recordings', id);
    await mkdir(path.join(dir, 'tracks'), { recursive: true });
    if (id === READY.id) await writeFile(path.join(dir, 'mix.ogg'), files.mix);
    await writeFile(path.join(dir, 'tracks/1-x-111.ogg'), files.alice);
    await writeFile(path.join(dir, 'tracks/2-x-222.ogg'), files.xss);
    await writeFile(path.join(dir, 'tracks/4-x-444.ogg'), files.dave);
  }
  await writeFile(path.join(dataDir, 'secret.txt'), 'TOPSECRET');
  await writeFile(path.join(root, 'secret.txt'), 'TOPSECRET');
  server = await startDownloadServer({
    source,
    dataDir,
    signer: createLinkSigner({ secret: SECRET }),
    host: '127.0.0.1',
    port: 0,
    publicUrl: 'https://rec.example.org/',
    retentionDays: 30,
    log: silentLogger(),
    now: () => clock,
    // Every test here comes from one address; the limit on refused links has tests of its own.
    refusedLinks: { limit: Infinity },
  });
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** The path part of a fresh link for `id`. */
function linkPath(id = READY.id): string {
  const link = server.linkFor(id);
  expect(link.url.startsWith('https://rec.example.org/r/')).toBe(true);
  return new URL(link.url).pathname;
}

function section(html: string, from: string, to: string): string {
  return html.slice(html.indexOf(from), html.indexOf(to));
}

describe('download page', () => {
  test('lists the mix, the tracks present and the consent receipt, with the deletion date', async () => {
    const reply = await call(server.port, `${linkPath()}/`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = reply.body.toString('utf8');
    expect(html).toContain('<audio id="mix" controls preload="metadata" src="mix"></audio>');
    expect(html).toContain('Hostess');
    expect(html).toContain('Deleted on</dt><dd>2025-03-31 19:00:00 UTC');
    expect(html).toContain('href="all.zip"');
    const tracks = section(html, '<h2>Tracks</h2>', '<h2>Consent receipt</h2>');
    expect(tracks).toContain('href="tracks/1"');
    expect(tracks).toContain('01 Ålice');
    expect(tracks).toContain('04 Dave');
    expect(tracks).toContain('withdrew 2025-03-01 18:30:00 UTC, not in the mix');
    expect(tracks).not.toContain('Zed'); // withdrawn and deleted: not offered
    const receipt = section(html, '<h2>Consent receipt</h2>', '</body>');
    expect(receipt).toContain('<td>2025-03-01 18:20:00 UTC</td><td>Zed</td><td>withdrew</td>');
    expect(receipt).toContain('<td>2025-03-01 18:01:00 UTC</td><td>Ålice</td><td>opted in</td>');
  });

  test('a speaker name or a note with markup is escaped everywhere', async () => {
    const html = (await call(server.port, `${linkPath()}/`)).body.toString('utf8');
    expect(html).not.toContain('<script');
    expect(html).toContain('&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62; --&#62; &#38; co');
  });

  test('lists the notes in time order, each time a link that reloads the page with the player starting there', async () => {
    const html = (await call(server.port, `${linkPath()}/`)).body.toString('utf8');
    const notes = section(html, '<h2>Notes</h2>', '<h2>Consent receipt</h2>');
    const items = [...notes.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]);
    expect(items).toEqual([
      // 61.5 s is 1:01, as the player's clock shows it there.
      '<a href="?t=61.500#mix">1:01</a> Intro done <span class="muted">Ålice</span>',
      '<a href="?t=1800.000#mix">30:00</a> &#60;script&#62;alert(1)&#60;/script&#62; --&#62; &#38; co <span class="muted">&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;</span>',
    ]);
    for (const key of ['labels.txt', 'chapters.vtt', 'chapters.json']) expect(notes).toContain(`href="${key}" download`);
    const seeked = (await call(server.port, `${linkPath()}/?t=61.500`)).body.toString('utf8');
    expect(seeked).toContain('<audio id="mix" controls preload="metadata" src="mix#t=61.500"></audio>');
    for (const t of ['-1', 'x', '', 'Infinity', '1e999']) {
      expect((await call(server.port, `${linkPath()}/?t=${t}`)).body.toString('utf8')).toContain('src="mix"></audio>');
    }
  });

  test('while mixing the notes are listed without links (no player yet); without notes, no notes and no files', async () => {
    const mixing = (await call(server.port, `${linkPath('mixingabcd')}/`)).body.toString('utf8');
    expect(section(mixing, '<h2>Notes</h2>', '<h2>Consent receipt</h2>')).toContain('<li>1:01 Intro done');
    expect(mixing).not.toContain('?t=');
    const page = linkPath('failedabcd');
    const failed = (await call(server.port, `${page}/`)).body.toString('utf8');
    expect(failed).not.toContain('Notes');
    for (const key of ['labels.txt', 'chapters.vtt', 'chapters.json']) expect((await call(server.port, `${page}/${key}`)).status).toBe(404);
    const zip = readZip((await call(server.port, `${page}/all.zip`)).body);
    // The projects need no notes: they open the tracks.
    expect([...zip.keys()].filter((name) => !name.startsWith('tracks/'))).toEqual([
      'roomrec-2025-03-01-1800-audacity.lof',
      'roomrec-2025-03-01-1800-reaper.rpp',
      'receipt.txt',
    ]);
  });

  test('every link on the page works, with or without the trailing slash (a format not made yet: 202, its progress)', async () => {
    for (const page of [linkPath(), `${linkPath()}/`]) {
      const html = (await call(server.port, page)).body.toString('utf8');
      const hrefs = [...html.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1] ?? '');
      expect(hrefs.length).toBeGreaterThanOrEqual(6);
      for (const href of hrefs) {
        const target = new URL(href.replaceAll('&#38;', '&'), `http://x${page}`);
        const reply = await call(server.port, target.pathname + target.search, { method: 'HEAD' });
        const made = !/\.(?:ogg|flac|wav|mp3)$|(?:^|\/)all-\w+\.zip$/.test(href);
        expect([href, reply.status]).toEqual([href, made ? 200 : 202]);
      }
    }
  });

  test('security headers on every response', async () => {
    for (const target of [`${linkPath()}/`, `${linkPath()}/mix`, '/r/forged/', '/nope']) {
      const { headers } = await call(server.port, target);
      expect(headers['cache-control']).toBe('private, no-store');
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['referrer-policy']).toBe('no-referrer');
      expect(headers['content-security-policy']).toMatch(/^default-src 'none'; media-src 'self'; style-src 'sha256-/);
      expect(headers['content-security-policy']).not.toContain('unsafe');
    }
  });

  test('while mixing the page says so and refreshes itself; the mix is not offered yet', async () => {
    const page = linkPath('mixingabcd');
    const html = (await call(server.port, `${page}/`)).body.toString('utf8');
    expect(html).toContain('<meta http-equiv="refresh" content="10">');
    expect(html).toContain('The mix is being made');
    expect(html).not.toContain('<audio id="mix"');
    expect((await call(server.port, `${page}/mix`)).status).toBe(404);
    expect((await call(server.port, `${page}/tracks/1`)).status).toBe(200);
  });

  test('a failed mix is reported without a refresh, tracks still offered', async () => {
    const html = (await call(server.port, `${linkPath('failedabcd')}/`)).body.toString('utf8');
    expect(html).toContain('The mix could not be made');
    expect(html).not.toContain('http-equiv="refresh"');
    expect(html).toContain('href="tracks/1"');
  });

  test('receipt.txt lists every consent event in order', async () => {
    const reply = await call(server.port, `${linkPath()}/receipt.txt`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
    const text = reply.body.toString('utf8');
    const lines = text.split('\n').filter((l) => / (granted|withdrawn) /.test(l));
    expect(lines).toEqual([
      '  2025-03-01 18:01:00 UTC  granted    Ålice (111)',
      `  2025-03-01 18:02:00 UTC  granted    ${XSS_NAME} (222)`,
      '  2025-03-01 18:03:00 UTC  granted    Zed (333)',
      '  2025-03-01 18:04:00 UTC  granted    Dave (444)',
      '  2025-03-01 18:20:00 UTC  withdrawn  Zed (333)',
      '  2025-03-01 18:30:00 UTC  withdrawn  Dave (444)',
    ]);
    expect(text).toContain('Deleted on: 2025-03-31 19:00:00 UTC');
  });
});

describe('files', () => {
  test('the mix, whole, with type, length and an inline disposition (attachment with ?download)', async () => {
    const reply = await call(server.port, `${linkPath()}/mix`);
    expect(reply.status).toBe(200);
    expect(reply.body.equals(files.mix)).toBe(true);
    expect(reply.headers['content-type']).toBe('audio/ogg; codecs=opus');
    expect(reply.headers['content-length']).toBe('10000');
    expect(reply.headers['accept-ranges']).toBe('bytes');
    expect(reply.headers['content-disposition']).toBe('inline; filename="roomrec-2025-03-01-1800-mix.ogg"');
    const download = await call(server.port, `${linkPath()}/mix?download`);
    expect(download.headers['content-disposition']).toBe('attachment; filename="roomrec-2025-03-01-1800-mix.ogg"');
  });

  test.each([
    ['bytes=0-99', 0, 100],
    ['bytes=-100', 9_900, 10_000],
    ['bytes=9000-', 9_000, 10_000],
    ['bytes=9990-20000', 9_990, 10_000],
  ])('Range %s returns exactly those bytes', async (range, from, to) => {
    const reply = await call(server.port, `${linkPath()}/mix`, { headers: { Range: range } });
    expect(reply.status).toBe(206);
    expect(reply.headers['content-range']).toBe(`bytes ${from}-${to - 1}/10000`);
    expect(reply.headers['content-length']).toBe(String(to - from));
    expect(reply.body.equals(files.mix.subarray(from, to))).toBe(true);
  });

  test('an unsatisfiable range is 416 with the size', async () => {
    const reply = await call(server.port, `${linkPath()}/mix`, { headers: { Range: 'bytes=10000-' } });
    expect(reply.status).toBe(416);
    expect(reply.headers['content-range']).toBe('bytes */10000');
    expect(reply.body.length).toBe(0);
  });

  test('If-Range: the range applies only to the same file version', async () => {
    const first = await call(server.port, `${linkPath()}/mix`, { method: 'HEAD' });
    const etag = String(first.headers.etag);
    const same = await call(server.port, `${linkPath()}/mix`, { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
    expect(same.status).toBe(206);
    const stale = await call(server.port, `${linkPath()}/mix`, { headers: { Range: 'bytes=0-9', 'If-Range': '"old"' } });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(files.mix)).toBe(true);
  });

  test('HEAD gives the headers of GET and no body', async () => {
    const head = await call(server.port, `${linkPath()}/mix`, { method: 'HEAD', headers: { Range: 'bytes=0-99' } });
    expect(head.status).toBe(206);
    expect(head.headers['content-length']).toBe('100');
    expect(head.body.length).toBe(0);
    const page = await call(server.port, `${linkPath()}/`, { method: 'HEAD' });
    expect(page.status).toBe(200);
    expect(Number(page.headers['content-length'])).toBeGreaterThan(500);
    expect(page.body.length).toBe(0);
  });

  test('tracks are served by number with a safe, RFC 6266 filename', async () => {
    const alice = await call(server.port, `${linkPath()}/tracks/1`);
    expect(alice.status).toBe(200);
    expect(alice.body.equals(files.alice)).toBe(true);
    expect(alice.headers['content-disposition']).toBe(`attachment; filename="01-_lice.ogg"; filename*=UTF-8''01-%C3%85lice.ogg`);
    const xss = await call(server.port, `${linkPath()}/tracks/2`);
    expect(xss.body.equals(files.xss)).toBe(true);
    expect(xss.headers['content-disposition']).toBe('attachment; filename="02-_script_alert(_x_)__script_.ogg"');
    expect((await call(server.port, `${linkPath()}/tracks/4`)).body.equals(files.dave)).toBe(true);
  });

  test.each([
    [
      'labels.txt',
      'text/plain; charset=utf-8',
      '61.500000\t61.500000\tIntro done (Ålice)\n1800.000000\t1800.000000\t<script>alert(1)</script> --> & co (<script>alert("x")</script>)\n',
    ],
    [
      'chapters.vtt',
      'text/vtt; charset=utf-8',
      'WEBVTT\n\n1\n00:01:01.500 --> 00:30:00.000\nIntro done\n\n2\n00:30:00.000 --> 01:00:00.000\n&lt;script&gt;alert(1)&lt;/script&gt; --&gt; &amp; co\n',
    ],
    [
      'chapters.json',
      'application/json+chapters',
      `${JSON.stringify(
        {
          version: '1.2.0',
          chapters: [
            { startTime: 61.5, title: 'Intro done' },
            { startTime: 1800, title: '<script>alert(1)</script> --> & co' },
          ],
        },
        null,
        2,
      )}\n`,
    ],
  ])('the notes as %s, a download made from the metadata', async (key, contentType, body) => {
    const reply = await call(server.port, `${linkPath()}/${key}`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(contentType);
    expect(reply.headers['content-disposition']).toBe(`attachment; filename="roomrec-2025-03-01-1800-${key}"`);
    expect(reply.body.toString('utf8')).toBe(body);
  });

  test('a deleted withdrawn track and tracks that do not exist are 404', async () => {
    for (const key of ['tracks/3', 'tracks/5', 'tracks/0', 'tracks/01', 'tracks/1/x', 'tracks/', 'nope']) {
      expect([key, (await call(server.port, `${linkPath()}/${key}`)).status]).toEqual([key, 404]);
    }
  });

  test('the zip holds every present track, the mix, the notes and the receipt, byte for byte', async () => {
    const reply = await call(server.port, `${linkPath()}/all.zip`);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/zip');
    expect(reply.headers['content-disposition']).toBe('attachment; filename="roomrec-2025-03-01-1800.zip"');
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length);
    const entries = readZip(reply.body);
    expect([...entries.keys()].sort()).toEqual([
      'receipt.txt',
      'roomrec-2025-03-01-1800-audacity.lof',
      'roomrec-2025-03-01-1800-chapters.json',
      'roomrec-2025-03-01-1800-chapters.vtt',
      'roomrec-2025-03-01-1800-labels.txt',
      'roomrec-2025-03-01-1800-mix.ogg',
      'roomrec-2025-03-01-1800-reaper.rpp',
      'tracks/01-Ålice.ogg',
      'tracks/02-_script_alert(_x_)__script_.ogg',
      'tracks/04-Dave.ogg',
    ]);
    expect(entries.get('roomrec-2025-03-01-1800-mix.ogg')?.equals(files.mix)).toBe(true);
    expect(entries.get('tracks/01-Ålice.ogg')?.equals(files.alice)).toBe(true);
    expect(entries.get('tracks/04-Dave.ogg')?.equals(files.dave)).toBe(true);
    const receipt = await call(server.port, `${linkPath()}/receipt.txt`);
    expect(entries.get('receipt.txt')?.toString('utf8')).toBe(receipt.body.toString('utf8'));
    for (const key of ['labels.txt', 'chapters.vtt', 'chapters.json', 'audacity.lof', 'reaper.rpp']) {
      const file = await call(server.port, `${linkPath()}/${key}`);
      expect(entries.get(`roomrec-2025-03-01-1800-${key}`)?.equals(file.body)).toBe(true);
    }

    const head = await call(server.port, `${linkPath()}/all.zip`, { method: 'HEAD' });
    expect(head.headers['content-length']).toBe(reply.headers['content-length']);
    expect(head.body.length).toBe(0);
  });
});

/** Every entry's SHA-256, read by Python's zipfile (a reader independent of ours), which checks every CRC too. */
function unzipWithPython(zip: Buffer): Record<string, string> {
  const script = [
    'import hashlib, io, json, sys, zipfile',
    'z = zipfile.ZipFile(io.BytesIO(sys.stdin.buffer.read()))',
    'assert z.testzip() is None',
    'print(json.dumps({i.filename: hashlib.sha256(z.read(i)).hexdigest() for i in z.infolist()}))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: zip }).toString('utf8')) as Record<string, string>;
}
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the zip resumes', () => {
  test('the same archive on every request, cut anywhere, resumes into the whole archive, which unzips to every file', async () => {
    const page = linkPath();
    const full = await call(server.port, `${page}/all.zip`);
    const size = full.body.length;
    expect((await call(server.port, `${page}/all.zip`)).body.equals(full.body)).toBe(true);
    expect(full.headers['accept-ranges']).toBe('bytes');
    const etag = String(full.headers.etag);
    // Inside the first local header, inside an audio entry, inside the central directory, inside its end record.
    for (const cut of [1, Math.floor(size * 0.6), size - 200, size - 5]) {
      const first = await call(server.port, `${page}/all.zip`, { headers: { Range: `bytes=0-${cut - 1}` } });
      expect(first.status).toBe(206);
      expect(first.headers['content-range']).toBe(`bytes 0-${cut - 1}/${size}`);
      const rest = await call(server.port, `${page}/all.zip`, { headers: { Range: `bytes=${cut}-`, 'If-Range': etag } });
      expect(rest.status).toBe(206);
      expect(rest.headers['content-range']).toBe(`bytes ${cut}-${size - 1}/${size}`);
      expect(Number(rest.headers['content-length'])).toBe(size - cut);
      expect(Buffer.concat([first.body, rest.body]).equals(full.body)).toBe(true);
    }
    const receipt = (await call(server.port, `${page}/receipt.txt`)).body;
    const notesFile = async (key: string) => [`roomrec-2025-03-01-1800-${key}`, sha256((await call(server.port, `${page}/${key}`)).body)];
    const made = ['labels.txt', 'chapters.vtt', 'chapters.json', 'audacity.lof', 'reaper.rpp'];
    const notes = Object.fromEntries(await Promise.all(made.map(notesFile)));
    expect(Object.keys(notes)).toHaveLength(5);
    expect(unzipWithPython(full.body)).toEqual({
      ...notes,
      'tracks/01-Ålice.ogg': sha256(files.alice),
      'tracks/02-_script_alert(_x_)__script_.ogg': sha256(files.xss),
      'tracks/04-Dave.ogg': sha256(files.dave),
      'roomrec-2025-03-01-1800-mix.ogg': sha256(files.mix),
      'receipt.txt': sha256(receipt),
    });
  });

  test('a range in the middle is exactly those bytes; HEAD of a range has its length and no body', async () => {
    const page = linkPath();
    const full = (await call(server.port, `${page}/all.zip`)).body;
    const middle = await call(server.port, `${page}/all.zip`, { headers: { Range: 'bytes=100-5099' } });
    expect(middle.status).toBe(206);
    expect(middle.body.equals(full.subarray(100, 5100))).toBe(true);
    const head = await call(server.port, `${page}/all.zip`, { method: 'HEAD', headers: { Range: 'bytes=-10' } });
    expect(head.status).toBe(206);
    expect(head.headers['content-range']).toBe(`bytes ${full.length - 10}-${full.length - 1}/${full.length}`);
    expect(head.headers['content-length']).toBe('10');
    expect(head.body.length).toBe(0);
    const beyond = await call(server.port, `${page}/all.zip`, { headers: { Range: `bytes=${full.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${full.length}`);
  });

  test('once a file in it has changed, a resume gets the whole new archive, not a splice of two', async () => {
    const page = linkPath();
    const before = await call(server.port, `${page}/all.zip`, { method: 'HEAD' });
    const alice = path.join(dataDir, 'recordings', READY.id, 'tracks/1-x-111.ogg');
    const { mtime } = await stat(alice);
    await utimes(alice, mtime, new Date(mtime.getTime() + 60_000));
    try {
      const resumed = await call(server.port, `${page}/all.zip`, {
        headers: { Range: 'bytes=100-', 'If-Range': String(before.headers.etag) },
      });
      expect(resumed.status).toBe(200);
      expect(resumed.headers.etag).not.toBe(before.headers.etag);
      expect(resumed.body.length).toBe(Number(before.headers['content-length']));
    } finally {
      await utimes(alice, mtime, mtime);
    }
  });
});

describe('editor projects', () => {
  test('the page offers both, says how to open them, and both open exactly the tracks in the zip, by their names there', async () => {
    const page = linkPath();
    const html = (await call(server.port, `${page}/`)).body.toString('utf8');
    const section = html.slice(html.indexOf('<h2>Editor projects</h2>'), html.indexOf('<h2>Consent receipt</h2>'));
    expect(section).toContain('href="audacity.lof" download');
    expect(section).toContain('href="reaper.rpp" download');
    expect(section).toContain('File &gt; Open the .lof, then File &gt; Import &gt; Labels');
    const names = Object.keys(unzipWithPython((await call(server.port, `${page}/all.zip`)).body));
    const tracksInZip = names.filter((name) => name.startsWith('tracks/'));
    expect(tracksInZip).toHaveLength(3);

    const lof = await call(server.port, `${page}/audacity.lof`);
    expect(lof.headers['content-disposition']).toBe('attachment; filename="roomrec-2025-03-01-1800-audacity.lof"');
    expect(parseLof(lof.body.toString('utf8'))).toEqual(tracksInZip.map((file) => ({ file, offset: 0 })));

    const rpp = readRpp((await call(server.port, `${page}/reaper.rpp`)).body.toString('utf8'));
    expect(rpp.tracks).toEqual([
      { name: 'Ålice', position: 0, length: 3600, source: 'OPUS', file: tracksInZip[0] },
      { name: XSS_NAME, position: 0, length: 3600, source: 'OPUS', file: tracksInZip[1] },
      { name: 'Dave', position: 0, length: 3600, source: 'OPUS', file: tracksInZip[2] },
    ]);
    expect(rpp.markers.map((m) => m.name)).toEqual(['Intro done (Ålice)', `<script>alert(1)</script> --> & co (${XSS_NAME})`]);
    const notes = [...(READY.notes ?? [])].sort((x, y) => x.at - y.at);
    rpp.markers.forEach((m, i) => expect(Math.abs(m.at - (notes[i]?.at ?? NaN))).toBeLessThan(1));
  });

  test('none while recording (no length yet), nor without a track', async () => {
    recordings.set('recordingx', { ...READY, id: 'recordingx', state: 'recording', stoppedAt: undefined, mix: undefined });
    recordings.set('notracksxx', { ...READY, id: 'notracksxx', speakers: [speaker(3, 'Zed', '333')] });
    for (const id of ['recordingx', 'notracksxx']) {
      const page = linkPath(id);
      expect((await call(server.port, `${page}/`)).body.toString('utf8')).not.toContain('Editor projects');
      for (const key of ['audacity.lof', 'reaper.rpp'])
        expect([id, key, (await call(server.port, `${page}/${key}`)).status]).toEqual([id, key, 404]);
    }
  });
});

describe('refusals', () => {
  const REVEALING = ['abcdefghij', 'Ålice', 'Dave', 'Hostess', 'Zed', 'script'];

  function expectSilent(body: Buffer): void {
    const text = body.toString('utf8');
    for (const secret of REVEALING) expect(text).not.toContain(secret);
  }

  test('forged, tampered, foreign, malformed and expired links all get the same 403', async () => {
    const valid = linkPath().slice('/r/'.length);
    const bytes = Buffer.from(valid, 'base64url');
    const retargeted = Buffer.concat([bytes.subarray(0, 16), Buffer.from('mixingabcd'), bytes.subarray(26)]);
    const foreign = createLinkSigner({ secret: `${SECRET}-other` }).issue(READY.id, clock).token;
    const expired = createLinkSigner({ secret: SECRET }).issue(READY.id, clock - 25 * HOUR).token;
    const tokens = [randomBytes(58).toString('base64url'), retargeted.toString('base64url'), foreign, 'abc', `${valid}x`, expired];
    const bodies = new Set<string>();
    for (const token of tokens) {
      for (const rest of ['', '/', '/mix', '/all.zip', '/tracks/1', '/receipt.txt', '/chapters.vtt']) {
        const reply = await call(server.port, `/r/${token}${rest}`);
        expect([token, rest, reply.status]).toEqual([token, rest, 403]);
        expect(reply.headers['content-type']).toBe('text/html; charset=utf-8');
        expectSilent(reply.body);
        bodies.add(reply.body.toString('utf8'));
      }
    }
    expect(bodies.size).toBe(1);
  });

  test('a link stops working when it expires (injected clock)', async () => {
    const page = linkPath();
    expect((await call(server.port, page)).status).toBe(200);
    const saved = clock;
    clock += 24 * HOUR;
    try {
      expect((await call(server.port, page)).status).toBe(403);
    } finally {
      clock = saved;
    }
  });

  test('a valid link to a deleted recording is 410, tombstone or no metadata at all', async () => {
    for (const id of ['deletedabc', 'neverexist']) {
      for (const rest of ['/', '/mix', '/all.zip', '/labels.txt']) {
        const reply = await call(server.port, `${linkPath(id)}${rest}`);
        expect(reply.status).toBe(410);
        expectSilent(reply.body);
        expect(reply.body.toString('utf8')).not.toContain(id);
      }
    }
  });

  test.each([
    '/%2e%2e/%2e%2e/secret.txt',
    '/..%2f..%2fsecret.txt',
    '/..%2F..%2F..%2Fsecret.txt',
    '/../../secret.txt',
    '/tracks/..%2f..%2f..%2fsecret.txt',
    '/tracks/%2e%2e%2f%2e%2e%2fsecret.txt',
    '/tracks/1/../../../../secret.txt',
    '/tracks/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt',
    '/tracks/1%00',
    '/mix%2f..%2f..%2fsecret.txt',
    '//etc/passwd',
    '/%2Fetc%2Fpasswd',
    '/tracks/%2Fetc%2Fpasswd',
    '/..\\..\\secret.txt',
  ])('no path escapes the recording: %s', async (suffix) => {
    const reply = await call(server.port, `${linkPath()}${suffix}`);
    expect(reply.status).toBe(404);
    expect(reply.body.toString('utf8')).not.toContain('TOPSECRET');
  });

  test.each([
    ['/../secret.txt', 404],
    ['/r/../secret.txt', 403],
    ['/r/%2e%2e/secret.txt', 403],
    ['/%2e%2e/secret.txt', 404],
    ['/etc/passwd', 404],
    ['/secret.txt', 404],
    ['/recordings/abcdefghij/mix.ogg', 404],
  ])('outside a link nothing is served: %s', async (target, status) => {
    const reply = await call(server.port, target);
    expect(reply.status).toBe(status);
    expect(reply.body.toString('utf8')).not.toContain('TOPSECRET');
  });

  test('metadata naming a file outside the recording folder is refused, not followed', async () => {
    const page = linkPath('hostilemet');
    const html = await call(server.port, `${page}/`);
    expect(html.status).toBe(200);
    expect(html.body.toString('utf8')).toContain('(file unavailable)');
    for (const rest of ['/tracks/1', '/mix']) {
      const reply = await call(server.port, `${page}${rest}`);
      expect(reply.status).toBe(404);
      expect(reply.body.toString('utf8')).not.toContain('TOPSECRET');
    }
    const zip = readZip((await call(server.port, `${page}/all.zip`)).body);
    expect([...zip.keys()]).toEqual(['receipt.txt']);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s is 405 with Allow', async (method) => {
    const reply = await call(server.port, `${linkPath()}/mix`, { method });
    expect(reply.status).toBe(405);
    expect(reply.headers.allow).toBe('GET, HEAD');
  });

  test('unknown paths are 404, /healthz is ok', async () => {
    expect((await call(server.port, '/')).status).toBe(404);
    expect((await call(server.port, '/r')).status).toBe(404);
    const health = await call(server.port, '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.toString()).toBe('ok\n');
  });
});
