// Downloads as a host's browser makes them: the page's own link clicked, the file saved by Chromium (CDP
// Browser.setDownloadBehavior, into a folder of the test's), and the HTTP status of every answer to that URL seen
// on the way (CDP Fetch at the response stage, which also sees the requests of `download` links, where the
// Network domain does not).
//
// A file made on demand answers 202 with a progress page that refreshes itself until the file is made, then the
// file. Followed as a navigation, that is the progress page shown, reloaded by its own refresh, then the download:
// the helper waits on those answers. A `download` link that answers 202 makes the browser save the progress page
// as the file, which is what the host would get: that fails, naming the link.
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';

export type Downloaded = {
  url: string;
  /** The name the browser was told to save it as (Content-Disposition). */
  fileName: string;
  path: string;
  /** The status of each answer to `url`, in order: 202 while it was being made. */
  statuses: number[];
};

type Pending = {
  url: string;
  statuses: number[];
  guid?: string;
  fileName?: string;
  resolve(file: Downloaded): void;
  reject(error: Error): void;
};

export type BrowserDownloads = {
  /** Opens `pageUrl` (unless the tab is there), clicks the link whose href attribute is `href`, waits for its file. */
  download(pageUrl: string, href: string): Promise<Downloaded>;
};

/** `timeoutMs` bounds one download that never comes (a hang), set far above any honest one on a busy machine. */
export async function browserDownloads(browser: Browser, page: Page, dir: string, timeoutMs = 90_000): Promise<BrowserDownloads> {
  let pending: Pending | undefined;
  /** Fails the download under way; with none, the error is thrown, to surface as an unhandled rejection. */
  const fail = (error: unknown) => {
    const failure = error instanceof Error ? error : new Error(String(error));
    if (!pending) throw failure;
    pending.reject(failure);
  };

  const browserSession = await browser.target().createCDPSession();
  await browserSession.send('Browser.setDownloadBehavior', { behavior: 'allowAndName', downloadPath: dir, eventsEnabled: true });
  browserSession.on('Browser.downloadWillBegin', (event) => {
    if (!pending || event.url !== pending.url) return;
    if (pending.statuses.at(-1) === 202) {
      fail(new Error(`${event.url} answered 202 to a download link: the browser saved the progress page as ${event.suggestedFilename}`));
      return;
    }
    pending.guid = event.guid;
    pending.fileName = event.suggestedFilename;
  });
  browserSession.on('Browser.downloadProgress', (event) => {
    if (!pending || event.guid !== pending.guid) return;
    if (event.state === 'canceled') fail(new Error(`the browser cancelled the download of ${pending.url}`));
    if (event.state !== 'completed') return;
    const { url, statuses, fileName = '' } = pending;
    pending.resolve({ url, fileName, path: event.filePath ?? path.join(dir, event.guid), statuses });
  });

  const pageSession = await page.createCDPSession();
  await pageSession.send('Fetch.enable', { patterns: [{ urlPattern: '*', resourceType: 'Document', requestStage: 'Response' }] });
  pageSession.on('Fetch.requestPaused', (event) => {
    if (pending && event.request.url === pending.url && event.responseStatusCode !== undefined)
      pending.statuses.push(event.responseStatusCode);
    pageSession.send('Fetch.continueResponse', { requestId: event.requestId }).catch(fail);
  });
  // A link the browser shows instead of saving: no download will come.
  page.on('load', () => {
    if (pending && page.url() === pending.url && pending.statuses.at(-1) !== 202) {
      fail(new Error(`${pending.url} was shown in the tab, not downloaded (answers: ${pending.statuses.join(', ')})`));
    }
  });

  return {
    async download(pageUrl, href) {
      if (page.url() !== pageUrl) await page.goto(pageUrl);
      const url = new URL(href, pageUrl).href;
      const file = new Promise<Downloaded>((resolve, reject) => {
        const statuses: number[] = [];
        const timer = setTimeout(
          () => fail(new Error(`no download of ${url} within ${timeoutMs} ms (answers: ${statuses.join(', ')})`)),
          timeoutMs,
        );
        const settled =
          <T>(then: (value: T) => void) =>
          (value: T) => {
            clearTimeout(timer);
            pending = undefined;
            then(value);
          };
        pending = { url, statuses, resolve: settled(resolve), reject: settled(reject) };
      });
      // Together: the file can fail while the click is still being made.
      const [downloaded] = await Promise.all([file, page.click(`a[href="${href}"]`)]);
      return downloaded;
    },
  };
}
