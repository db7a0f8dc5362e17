import { afterEach, describe, expect, test } from 'vitest';
import type { Client } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import { joinVoice, loginClient, startDiscordSim, speechFromPcm, tonePcm, type DiscordSim } from '../discord-sim/index.ts';

let sim: DiscordSim | null = null;
let client: Client | null = null;
let connection: VoiceConnection | null = null;
afterEach(async () => {
  connection?.destroy();
  await client?.destroy();
  await sim?.close();
  connection = null;
  client = null;
  sim = null;
});

describe('DAVE on the stand-in with the real @discordjs/voice', () => {
  test('smoke: bot joins the group and decrypts a speaker', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }, { username: 'bob' }] });
    const alice = sim.userByName('alice').id;
    sim.joinVoice(alice);
    client = await loginClient(sim);
    connection = await joinVoice(client, sim);
    connection.on('debug', (m) => console.log('[bot]', m));
    await sim.waitFor((e) => e.kind === 'dave' && e.event === 'executed', 5000, true);
    console.log(sim.log.entries.filter((e) => e.kind === 'dave').map((e) => JSON.stringify(e)));
    console.log('bot code', connection.voicePrivacyCode, 'sim code', sim.dave.group()?.privacyCode());
    const stream = connection.receiver.subscribe(alice);
    const frames: Buffer[] = [];
    stream.on('data', (f: Buffer) => frames.push(f));
    const u = sim.speak(alice, speechFromPcm(tonePcm({ seconds: 1, frequency: 440, silenceAfter: 0.2 })));
    await u.done;
    await new Promise((r) => setTimeout(r, 300));
    const sent = u.frames.map((f) => f.opus.toString('hex'));
    console.log('frames', frames.length, 'sent', sent.length, 'match', frames.filter((f) => sent.includes(f.toString('hex'))).length);
    expect(frames.length).toBeGreaterThan(0);
  });
});
