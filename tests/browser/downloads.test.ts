// The browser tests' download helper (tests/helpers/browser-downloads.ts) against a local server that answers as
// the download server does for a file made on demand: 202 and a progress page that refreshes itself, until the
// file is made. So that every format the page offers is covered the day it answers that way.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { browserDownloads, type BrowserDownloads } from '../helpers/browser-downloads.ts';
import { CHROMIUM, CHROMIUM_SKIP_REASON, launchChromium } from '../helpers/chromium.ts';

/** Answers to each file's URL before it is made. */
const MAKING = 2;
const FILE = Buffer.from('fLaC and then some bytes');

describe.skipIf(!CHROMIUM)(`the browser tests' downloads ${CHROMIUM_SKIP_REASON}`.trim(), () => {
  let dir: string;
  let server: Server;
  let browser: Browser;
  let page: Page;
  let downloads: BrowserDownloads;
  let origin: string;
  const asked = new Map<string, number>();

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'roomrec-browser-downloads-'));
    server = createServer((req, res) => {
      const url = req.url ?? '/';
      const n = (asked.get(url) ?? 0) + 1;
      asked.set(url, n);
      if (url === '/') {
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(
          '<a href="made-on-demand.flac">follow</a> <a href="made-on-demand-too.flac" download>save</a> <a href="ready.flac" download>ready</a> <a href="shown.txt">shown</a>',
        );
      } else if (url === '/shown.txt') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('a page, not a download');
      } else if (url !== '/ready.flac' && n <= MAKING) {
        res.writeHead(202, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end('<meta http-equiv="refresh" content="1"><p>Making the file…</p>');
      } else {
        res.writeHead(200, { 'Content-Type': 'audio/flac', 'Content-Disposition': 'attachment; filename="x.flac"' });
        res.end(FILE);
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    browser = await launchChromium(CHROMIUM ?? '');
    page = await browser.newPage();
    downloads = await browserDownloads(browser, page, dir);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a file made on demand: its progress page is followed, refresh after refresh, to the file', async () => {
    const file = await downloads.download(origin, 'made-on-demand.flac');
    expect(file.statuses).toEqual([...Array<number>(MAKING).fill(202), 200]);
    expect(file.fileName).toBe('x.flac');
    expect(await readFile(file.path)).toEqual(FILE);
  });

  test('a file ready at once', async () => {
    const file = await downloads.download(origin, 'ready.flac');
    expect(file.statuses).toEqual([200]);
    expect(await readFile(file.path)).toEqual(FILE);
  });

  test('a `download` link that answers 202 fails: the browser saves the progress page, not the file', async () => {
    await expect(downloads.download(origin, 'made-on-demand-too.flac')).rejects.toThrow(/answered 202 to a download link/);
  });

  test('a link the browser shows rather than saves fails at once', async () => {
    await expect(downloads.download(origin, 'shown.txt')).rejects.toThrow(/shown in the tab, not downloaded/);
  });
});
