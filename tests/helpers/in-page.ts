// What the browser tests read inside the page, run there over CDP (page.evaluate), not by the page: its CSP allows
// no script. The project compiles without the DOM library (nothing else runs in a browser), so the few DOM
// members these functions use are typed here and reached through globalThis, inside each function: puppeteer
// sends a function's source to the page, so it may use nothing from this module at run time.
import type { Page } from 'puppeteer-core';

type Media = {
  readyState: number;
  duration: number;
  currentTime: number;
  currentSrc: string;
  error: { message: string } | null;
  addEventListener(type: 'loadedmetadata' | 'error', listener: () => void, options: { once: true }): void;
};
type Anchor = { getAttribute(name: 'href'): string | null };
type AudioBufferLike = { length: number; sampleRate: number; numberOfChannels: number; getChannelData(channel: number): Float32Array };
type InPage = {
  document: {
    querySelector(selector: string): unknown;
    querySelectorAll(selector: string): Iterable<unknown>;
    documentElement: { scrollWidth: number };
    baseURI: string;
  };
  innerWidth: number;
  OfflineAudioContext: new (
    channels: number,
    length: number,
    sampleRate: number,
  ) => {
    decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike>;
  };
};

/** The mix player once it has its metadata (loadedmetadata), where the browser put it: its length and position; fails if it cannot load. */
export function mixPlayer(page: Page): Promise<{ duration: number; currentTime: number; src: string }> {
  return page.evaluate(async () => {
    const mix = (globalThis as unknown as InPage).document.querySelector('audio#mix') as Media | null;
    if (!mix) throw new Error('the page has no mix player');
    // HAVE_METADATA
    if (mix.readyState < 1) {
      await new Promise<void>((resolve, reject) => {
        mix.addEventListener('loadedmetadata', resolve, { once: true });
        mix.addEventListener('error', () => reject(new Error(`the mix player failed: ${mix.error?.message ?? 'no reason given'}`)), {
          once: true,
        });
      });
    }
    return { duration: mix.duration, currentTime: mix.currentTime, src: mix.currentSrc };
  });
}

/** Every link on the page (the timeline's, in SVG, too): its href as written, and resolved against the page. */
export function pageLinks(page: Page): Promise<{ attribute: string; url: string }[]> {
  return page.evaluate(() => {
    const { document } = globalThis as unknown as InPage;
    return [...document.querySelectorAll('a[href]')].map((a) => {
      const attribute = (a as Anchor).getAttribute('href') ?? '';
      return { attribute, url: new URL(attribute, document.baseURI).href };
    });
  });
}

/** How wide the page lays out against the window: wider means the reader scrolls sideways. */
export function layoutWidth(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => {
    const { document, innerWidth } = globalThis as unknown as InPage;
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth };
  });
}

/**
 * Audio bytes decoded by the browser's own decoders (Web Audio's decodeAudioData, at 48 kHz), as a host's browser
 * would play them: the length in samples and the peak. Any format the browser plays; a file it cannot decode fails.
 */
export async function decodeInBrowser(page: Page, bytes: Buffer): Promise<{ seconds: number; peak: number }> {
  return page.evaluate(async (base64) => {
    const data = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const decoded = await new (globalThis as unknown as InPage).OfflineAudioContext(2, 1, 48_000).decodeAudioData(data.buffer);
    let peak = 0;
    for (let c = 0; c < decoded.numberOfChannels; c++) for (const v of decoded.getChannelData(c)) peak = Math.max(peak, Math.abs(v));
    return { seconds: decoded.length / decoded.sampleRate, peak };
  }, bytes.toString('base64'));
}
