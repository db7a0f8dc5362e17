// Start-up checks of the bot: which PUBLIC_URLs get the clear-text warning, and which files in a recording's
// folder are unfinished mix outputs that a restart removes.
import { describe, expect, test } from 'vitest';
import { publicUrlWarning } from '../../src/config.ts';
import { isLeftoverMixFile } from '../../src/storage/leftover-mix-files.ts';

describe('PUBLIC_URL warning', () => {
  test.each(['http://rec.example.org', 'http://192.168.1.20:8080', 'http://10.0.0.5', 'http://rec.example.org:80/base'])(
    '%s: warned, with what to do',
    (url) => {
      const warning = publicUrlWarning(url);
      expect(warning).toContain(url);
      expect(warning).toMatch(/clear text/);
      expect(warning).toMatch(/TLS reverse proxy/);
      expect(warning).toMatch(/https:\/\//);
    },
  );

  test.each([
    'https://rec.example.org',
    'http://localhost:8080',
    'http://127.0.0.1:8080',
    'http://127.0.1.1',
    'http://[::1]:8080',
    'http://rec.localhost',
  ])('%s: no warning', (url) => {
    expect(publicUrlWarning(url)).toBeUndefined();
  });
});

describe('unfinished mix files', () => {
  test.each([
    'mix.ogg.partial-1234',
    'mix.mp3.live-partial-77',
    'mix.flac.partial-1',
    'mix.wav.live-partial-9',
    'mix-levelled.ogg.partial-5',
  ])('%s is a leftover', (name) => {
    expect(isLeftoverMixFile(name)).toBe(true);
  });

  test.each(['mix.ogg', 'mix-levelled.ogg', 'receipt.txt', 'meta.json', 'tracks', 'recording.zip', 'notes.partial', 'partial-1234'])(
    '%s is kept',
    (name) => {
      expect(isLeftoverMixFile(name)).toBe(false);
    },
  );
});
