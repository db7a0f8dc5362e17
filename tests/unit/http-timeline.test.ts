// The download page's timeline of who spoke when, drawn from real tracks: a lane per speaker where their track
// holds sound, the notes as marks, links that seek the player, per-track players and what each track lost.
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startDownloadServer, type DownloadServer } from '../../src/http/download-server.ts';
import { createLinkSigner } from '../../src/http/link-signing.ts';
import type { RecordingView } from '../../src/http/recording-source.ts';
import { silentLogger } from '../../src/log.ts';
import { concatPcm, tone } from '../helpers/audio.ts';
import { writeTrack } from '../helpers/mix-fixtures.ts';

const T0 = Date.UTC(2025, 2, 1, 18, 0, 0);
const DURATION = 8_000;
const silence = (ms: number) => new Int16Array(Math.round(ms * 48) * 2);
const NO_LOSS = { received: 400, lost: 0, late: 0, duplicate: 3, undecryptable: 0, silenceFilledSeconds: 2 };

const RECORDING: RecordingView = {
  id: 'timelineab',
  hostName: 'Host',
  startedAt: T0,
  stoppedAt: T0 + DURATION,
  state: 'ready',
  speakers: [
    { userId: '111', name: 'Ålice', trackFile: 'tracks/1-a.ogg', consentedAt: T0, includeInMix: true, stats: NO_LOSS },
    {
      userId: '222',
      name: 'Bob <b>',
      trackFile: 'tracks/2-b.ogg',
      consentedAt: T0,
      includeInMix: true,
      stats: { ...NO_LOSS, lost: 12, late: 2 },
    },
  ],
  mix: { file: 'mix.ogg', format: 'ogg', durationMs: DURATION },
  notes: [{ at: 4_250, by: '111', byName: 'Ålice', text: 'Bob starts' }],
};

let root: string;
let server: DownloadServer;
const recordings = new Map([[RECORDING.id, RECORDING]]);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'roomrec-timeline-'));
  const dir = path.join(root, 'recordings', RECORDING.id);
  await mkdir(path.join(dir, 'tracks'), { recursive: true });
  // Alice speaks 0.5–2.5 s and 6–7 s; Bob 4.5–5.5 s.
  await writeTrack(
    path.join(dir, 'tracks/1-a.ogg'),
    concatPcm(silence(500), tone(300, 2000), silence(3500), tone(400, 1000), silence(1000)),
  );
  await writeTrack(path.join(dir, 'tracks/2-b.ogg'), concatPcm(silence(4500), tone(500, 1000), silence(2500)));
  await copyFile(path.join(dir, 'tracks/1-a.ogg'), path.join(dir, 'mix.ogg'));
  server = await startDownloadServer({
    source: { getRecording: (id) => recordings.get(id), consentEvents: () => [] },
    dataDir: root,
    signer: createLinkSigner({ secret: 'test-secret-0123456789-abcdefghijklmnop' }),
    host: '127.0.0.1',
    port: 0,
    retentionDays: 30,
    log: silentLogger(),
    now: () => T0 + DURATION,
  });
});

afterAll(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

async function page(id = RECORDING.id): Promise<string> {
  return (await fetch(`${server.linkFor(id).url}/`)).text();
}

/** Each lane's name and its segments' starts (seconds, from their links) and titles. */
function lanes(html: string) {
  const svg = /<svg[^>]*>([\s\S]*?)<\/svg>/.exec(html)?.[1] ?? '';
  return [...svg.matchAll(/<g class="lane"><text[^>]*>(.*?)<\/text>(.*?)<\/g>/g)].map((m) => ({
    name: m[1],
    starts: [...(m[2] ?? '').matchAll(/<a href="\?t=([\d.]+)#mix"><rect class="speech"/g)].map((s) => Number(s[1])),
    titles: [...(m[2] ?? '').matchAll(/<title>(.*?)<\/title>/g)].map((t) => t[1]),
  }));
}

test('a lane per speaker, each segment where their track holds sound (within 20 ms), a link that seeks the player there', async () => {
  const html = await page();
  expect(html).not.toContain('<script');
  expect(lanes(html)).toEqual([
    { name: 'Ålice', starts: [expect.any(Number), expect.any(Number)], titles: ['Ålice 0:00.4–0:02.4', 'Ålice 0:05.9–0:06.9'] },
    { name: 'Bob &#60;b&#62;', starts: [expect.any(Number)], titles: ['Bob &#60;b&#62; 0:04.4–0:05.4'] },
  ]);
  const [alice, bob] = lanes(html);
  [0.5, 6].forEach((at, i) => expect(Math.abs((alice?.starts[i] ?? NaN) - at)).toBeLessThanOrEqual(0.02));
  expect(Math.abs((bob?.starts[0] ?? NaN) - 4.5)).toBeLessThanOrEqual(0.02);
  // A lane spans the picture's width as the recording spans its length: Bob's segment starts at 4.5 / 8 of it.
  const x = Number(/<rect class="speech" x="([\d.]+)"[^>]*><title>Bob/.exec(html)?.[1]);
  expect(Math.abs(x - (4.5 / 8) * 600)).toBeLessThanOrEqual(1.5);
});

test('each note is a mark that seeks the player, titled with its time and text; a text list follows the picture', async () => {
  const html = await page();
  const marks = [...html.matchAll(/<a href="\?t=([\d.]+)#mix"><g class="note"><title>(.*?)<\/title>/g)].map((m) => [m[1], m[2]]);
  expect(marks).toEqual([['4.250', '0:04 Bob starts']]);
  const list = html.slice(html.indexOf('<details>'), html.indexOf('</details>'));
  expect(list).toContain('Ålice: 0:03 of sound in 2 stretches');
  expect(list).toMatch(/<li>Bob &#60;b&#62;: 0:01 of sound in 1 stretch<br><a href="\?t=4\.4\d\d#mix">0:04\.4–0:05\.4<\/a><\/li>/);
});

test('a player per track, and what a track lost only where something was', async () => {
  const html = await page();
  const tracks = html.slice(html.indexOf('<h2>Tracks</h2>'), html.indexOf('<h2>Consent receipt</h2>'));
  expect([...tracks.matchAll(/<audio controls preload="none" src="[^"]*tracks\/(\d)"><\/audio>/g)].map((m) => m[1])).toEqual(['1', '2']);
  const items = [...tracks.matchAll(/<li>([\s\S]*?)<\/li>/g)].map((m) => m[1] ?? '');
  expect(items[0]).not.toContain('class="lost"');
  expect(items[1]).toContain('<span class="lost">Incomplete: 12 frames lost (0.24 s), 2 arrived too late to be placed.</span>');
});

test('while recording there is no timeline (the tracks are still growing)', async () => {
  recordings.set('recordingb', { ...RECORDING, id: 'recordingb', state: 'recording', stoppedAt: undefined, mix: undefined });
  expect(await page('recordingb')).not.toContain('Who spoke when');
});
