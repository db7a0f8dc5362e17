// npm run screenshot: the README's pictures of the download page, docs/page.png (desktop) and
// docs/page-phone.png, from a room the real bot records over the stand-in (scripts/demo/notes.json: three
// speakers, one who never opts in, three notes), opened in the machine's Chromium (CHROMIUM_PATH, or chromium,
// chromium-browser, google-chrome). About 20 seconds, offline.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHROMIUM, CHROMIUM_SKIP_REASON, DESKTOP, launchChromium, PHONE } from '../tests/helpers/chromium.ts';
import { runScenario } from './demo/run-scenario.ts';

const ROOT = path.join(import.meta.dirname, '..');

if (!CHROMIUM) {
  console.error(CHROMIUM_SKIP_REASON.replace(/^skipped: /, ''));
  process.exit(1);
}
console.log('recording a room over the stand-in (scripts/demo/notes.json)…');
const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-screenshot-'));
const session = await runScenario({ scenarioFile: path.join(ROOT, 'scripts', 'demo', 'notes.json'), outDir: dir });
const browser = await launchChromium(CHROMIUM);
try {
  const link = session.result.downloadUrl;
  if (!link) throw new Error('the scenario ended without a download link');
  const page = await browser.newPage();
  for (const [viewport, file] of [
    [DESKTOP, 'page.png'],
    // One device pixel per CSS pixel: half the bytes in the repository, and the README shows it small.
    [{ ...PHONE, deviceScaleFactor: 1 }, 'page-phone.png'],
  ] as const) {
    await page.setViewport(viewport);
    // Network idle: the mix player has its metadata, so it shows the recording's length.
    await page.goto(link, { waitUntil: 'networkidle0' });
    const out = path.join(ROOT, 'docs', file);
    await page.screenshot({ path: out, fullPage: true });
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  }
} finally {
  await browser.close();
  await session.close();
  await rm(dir, { recursive: true, force: true });
}
