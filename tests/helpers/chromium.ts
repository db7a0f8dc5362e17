// The machine's Chromium, for the browser tests and `npm run screenshot`. puppeteer-core never downloads a
// browser: where none is installed the browser suites skip and say why (.ci/run installs Debian's `chromium`).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

/** CHROMIUM_PATH when set (used as given: a wrong one fails the launch, loudly), else the first of NAMES found. */
function findChromium(env: NodeJS.ProcessEnv): string | undefined {
  if (env.CHROMIUM_PATH) return env.CHROMIUM_PATH;
  const dirs = ['/usr/bin', ...(env.PATH ?? '').split(path.delimiter).filter(Boolean)];
  return NAMES.flatMap((name) => dirs.map((dir) => path.join(dir, name))).find((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export const CHROMIUM: string | undefined = findChromium(process.env);

export const CHROMIUM_SKIP_REASON = CHROMIUM
  ? ''
  : 'skipped: no Chromium found (set CHROMIUM_PATH, or apt-get install chromium; .ci/run installs it)';

/** A desktop window, and a phone's (an iPhone SE's CSS pixels). */
export const DESKTOP = { width: 1000, height: 800 };
export const PHONE = { width: 375, height: 667, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };

/** Headless; as root Chromium refuses to start without --no-sandbox (it cannot drop privileges for its sandbox). */
export function launchChromium(executablePath: string): Promise<Browser> {
  const root = process.getuid?.() === 0;
  return puppeteer.launch({ executablePath, headless: true, args: root ? ['--no-sandbox'] : [], defaultViewport: DESKTOP });
}
