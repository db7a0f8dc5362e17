import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, envWithDotenv, loadBotConfig, loadConfig, loadDeployConfig } from '../../src/config.ts';

const SECRET = 'b1946ac92492d2347c6235b4d2611184b1946ac92492d2347c6235b4d2611184';

function problemsOf(load: () => unknown): readonly string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig (no Discord needed)', () => {
  test('an empty environment gives the documented defaults', () => {
    const config = loadConfig({});
    expect(config.dataDir).toBe(path.resolve('data'));
    expect(config.keyv).toEqual({
      backend: 'sqlite',
      file: path.resolve('data', 'roomrec.sqlite'),
      url: `sqlite://${path.resolve('data', 'roomrec.sqlite')}`,
    });
    expect(config.retention).toEqual({ days: 30, cron: '0 * * * *' });
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080, publicUrl: 'http://localhost:8080', trustProxy: false });
    expect(config.links).toEqual({ secret: undefined, ttlHours: 24 });
    expect(config.recording).toEqual({ maxHours: 6, emptyRoomMinutes: 2, deleteWithdrawnTracks: false });
    expect(config.mix.format).toBe('ogg');
    expect(config.logLevel).toBe('info');
  });

  test('blank values count as unset', () => {
    const config = loadConfig({ HTTP_PORT: '', RETENTION_DAYS: '  ', KEYV_URL: '', MIX_FORMAT: '' });
    expect(config.http.port).toBe(8080);
    expect(config.retention.days).toBe(30);
    expect(config.keyv.backend).toBe('sqlite');
  });

  test.each([
    ['redis://127.0.0.1:6379', 'redis'],
    ['rediss://user:pw@cache.example.org:6380', 'redis'],
  ])('KEYV_URL %s selects %s', (url, backend) => {
    expect(loadConfig({ KEYV_URL: url }).keyv).toEqual({ backend, url });
  });

  test('KEYV_URL sqlite://path selects that SQLite file', () => {
    expect(loadConfig({ KEYV_URL: 'sqlite://meta/db.sqlite' }).keyv).toEqual({
      backend: 'sqlite',
      file: path.resolve('meta/db.sqlite'),
      url: `sqlite://${path.resolve('meta/db.sqlite')}`,
    });
  });

  test('the SQLite file follows DATA_DIR', () => {
    const config = loadConfig({ DATA_DIR: '/srv/roomrec' });
    expect(config.keyv).toMatchObject({ backend: 'sqlite', file: '/srv/roomrec/roomrec.sqlite' });
  });

  test('an unknown KEYV_URL scheme is refused with the accepted ones', () => {
    const [problem] = problemsOf(() => loadConfig({ KEYV_URL: 'mongodb://db' }));
    expect(problem).toMatch(/^KEYV_URL must start with redis:\/\/, rediss:\/\/ or sqlite:\/\//);
    expect(problem).toContain('Example: KEYV_URL=redis://127.0.0.1:6379');
  });

  test('a bad RETENTION_CRON names the variable, the faulty field and an example', () => {
    const problems = problemsOf(() => loadConfig({ RETENTION_CRON: '61 * * * *' }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^RETENTION_CRON is not a valid cron expression \(minute: /);
    expect(problems[0]).toContain("Example: RETENTION_CRON='0 * * * *'");
  });

  test('a six-field cron (with seconds) is accepted', () => {
    expect(loadConfig({ RETENTION_CRON: '30 15 3 * * *' }).retention.cron).toBe('30 15 3 * * *');
  });

  test('every problem is listed at once, one line per variable', () => {
    const problems = problemsOf(() =>
      loadConfig({
        HTTP_PORT: 'eighty',
        RETENTION_DAYS: '0',
        MIX_FORMAT: 'aac',
        LOG_LEVEL: 'loud',
        PUBLIC_URL: 'ftp://files.example.org',
        DELETE_WITHDRAWN_TRACKS: 'maybe',
      }),
    );
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(
      ['DELETE_WITHDRAWN_TRACKS', 'HTTP_PORT', 'LOG_LEVEL', 'MIX_FORMAT', 'PUBLIC_URL', 'RETENTION_DAYS'].sort(),
    );
    expect(problems.find((p) => p.startsWith('MIX_FORMAT'))).toContain('must be one of ogg, mp3, flac, wav');
  });

  test('PUBLIC_URL loses its trailing slash and, naming a real host, makes the server listen on all interfaces', () => {
    const config = loadConfig({ PUBLIC_URL: 'https://rec.example.org/' });
    expect(config.http.publicUrl).toBe('https://rec.example.org');
    expect(config.http.host).toBe('0.0.0.0');
    expect(loadConfig({ PUBLIC_URL: 'https://rec.example.org', HTTP_HOST: '127.0.0.1' }).http.host).toBe('127.0.0.1');
  });

  test('HTTP_TRUST_PROXY is off unless set, and says what it is for when it is not a boolean', () => {
    expect(loadConfig({ HTTP_TRUST_PROXY: 'true' }).http.trustProxy).toBe(true);
    expect(problemsOf(() => loadConfig({ HTTP_TRUST_PROXY: 'nginx' }))).toEqual([
      expect.stringMatching(/^HTTP_TRUST_PROXY must be true or false: .*X-Forwarded-For.*Example: HTTP_TRUST_PROXY=true$/),
    ]);
  });

  test('the webhook is off without WEBHOOK_URL; with it, its URL is kept as given and WEBHOOK_SECRET is required', () => {
    expect(loadConfig({}).webhook).toBeUndefined();
    expect(loadConfig({ WEBHOOK_SECRET: 'x'.repeat(16) }).webhook).toBeUndefined();
    expect(loadConfig({ WEBHOOK_URL: 'https://hooks.example.org/roomrec/', WEBHOOK_SECRET: 'a'.repeat(16) }).webhook).toEqual({
      url: 'https://hooks.example.org/roomrec/',
      secret: 'a'.repeat(16),
    });
    const missing = problemsOf(() => loadConfig({ WEBHOOK_URL: 'https://hooks.example.org/roomrec' }));
    expect(missing).toEqual([expect.stringMatching(/^WEBHOOK_SECRET is missing: .*required with WEBHOOK_URL.*openssl rand -hex 32/)]);
  });

  test('a bad WEBHOOK_URL and a short WEBHOOK_SECRET are reported together, the secret never echoed', () => {
    const problems = problemsOf(() => loadConfig({ WEBHOOK_URL: 'ftp://hooks.example.org', WEBHOOK_SECRET: 'hunter2-short' }));
    expect(problems).toEqual([
      expect.stringMatching(/^WEBHOOK_URL must be an http:\/\/ or https:\/\/ URL/),
      expect.stringMatching(/^WEBHOOK_SECRET is too short \(at least 16 characters\)/),
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  test('the default PUBLIC_URL follows HTTP_PORT', () => {
    expect(loadConfig({ HTTP_PORT: '9000' }).http.publicUrl).toBe('http://localhost:9000');
  });

  test('MIX_LEVELLING is on unless turned off, and says what it is for when it is neither', () => {
    expect(loadConfig({}).mix.levelling).toBe(true);
    expect(loadConfig({ MIX_LEVELLING: ' OFF ' }).mix.levelling).toBe(false);
    expect(loadConfig({ MIX_LEVELLING: 'false' }).mix.levelling).toBe(false);
    expect(loadConfig({ MIX_LEVELLING: 'on' }).mix.levelling).toBe(true);
    expect(loadConfig({ MIX_LEVELLING: '' }).mix.levelling).toBe(true);
    expect(problemsOf(() => loadConfig({ MIX_LEVELLING: 'loud' }))).toEqual([
      expect.stringMatching(/^MIX_LEVELLING must be on or off: .*same loudness.*Example: MIX_LEVELLING=off$/),
    ]);
  });

  test('booleans accept true/false/1/0/yes/no', () => {
    expect(loadConfig({ DELETE_WITHDRAWN_TRACKS: 'yes' }).recording.deleteWithdrawnTracks).toBe(true);
    expect(loadConfig({ DELETE_WITHDRAWN_TRACKS: '0' }).recording.deleteWithdrawnTracks).toBe(false);
  });
});

describe('loadBotConfig', () => {
  test('a missing token and link secret are both reported, each saying what to do', () => {
    const problems = problemsOf(() => loadBotConfig({}));
    expect(problems).toHaveLength(2);
    const token = problems.find((p) => p.startsWith('DISCORD_TOKEN'));
    const secret = problems.find((p) => p.startsWith('LINK_SECRET'));
    expect(token).toMatch(/^DISCORD_TOKEN is missing: .*developer portal.*Bot.*Reset Token/);
    expect(secret).toMatch(/^LINK_SECRET is missing: .*openssl rand -hex 32/);
  });

  test('the ConfigError message lists every problem', () => {
    expect(() => loadBotConfig({ RETENTION_CRON: 'nope' })).toThrow(
      /Configuration has 3 problem\(s\):\n {2}- DISCORD_TOKEN is missing[\s\S]*RETENTION_CRON[\s\S]*LINK_SECRET/,
    );
  });

  test('a short link secret is refused with how to generate one', () => {
    const problems = problemsOf(() => loadBotConfig({ DISCORD_TOKEN: 'token', LINK_SECRET: 'hunter2' }));
    expect(problems).toEqual([expect.stringMatching(/^LINK_SECRET is too short \(at least 32 characters\).*openssl rand -hex 32/)]);
  });

  test('a placeholder link secret is refused', () => {
    const problems = problemsOf(() => loadBotConfig({ DISCORD_TOKEN: 'token', LINK_SECRET: 'x'.repeat(40) }));
    expect(problems).toEqual([expect.stringMatching(/^LINK_SECRET looks like a placeholder/)]);
  });

  test('with token and secret the bot config is typed as having both', () => {
    const config = loadBotConfig({ DISCORD_TOKEN: ' token ', LINK_SECRET: SECRET });
    expect(config.discord.token).toBe('token');
    expect(config.links.secret).toBe(SECRET);
  });
});

describe('loadDeployConfig', () => {
  test('needs the token and a numeric application id', () => {
    const problems = problemsOf(() => loadDeployConfig({ DISCORD_CLIENT_ID: 'my-app' }));
    expect(problems.map((p) => p.split(' ')[0]).sort()).toEqual(['DISCORD_CLIENT_ID', 'DISCORD_TOKEN']);
    expect(problems.find((p) => p.startsWith('DISCORD_CLIENT_ID'))).toContain('numeric Discord id');
    const config = loadDeployConfig({ DISCORD_TOKEN: 't', DISCORD_CLIENT_ID: '123456789012345678' });
    expect(config.discord.clientId).toBe('123456789012345678');
  });
});

describe('envWithDotenv', () => {
  test('reads a .env file; the real environment wins', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'roomrec-env-'));
    const file = path.join(dir, '.env');
    await writeFile(file, '# comment\nHTTP_PORT=9999\nRETENTION_DAYS=7\nRETENTION_CRON="*/5 * * * *"\n');
    const config = loadConfig(envWithDotenv({ HTTP_PORT: '7000' }, file));
    expect(config.http.port).toBe(7000);
    expect(config.retention).toEqual({ days: 7, cron: '*/5 * * * *' });
  });

  test('a missing file leaves the environment as it is', () => {
    const env = { HTTP_PORT: '7000' };
    expect(envWithDotenv(env, '/nonexistent/.env')).toBe(env);
  });

  test('.env.example parses as a valid configuration', () => {
    const config = loadConfig(envWithDotenv({}, path.resolve(import.meta.dirname, '../../.env.example')));
    expect(config.retention.cron).toBe('0 * * * *');
    expect(config.http.port).toBe(8080);
  });
});
