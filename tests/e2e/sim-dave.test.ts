// The stand-in's DAVE with the real @discordjs/voice: the bot joins the call's MLS group, shows the same voice
// privacy code as the speakers, and the product's receive adapter gets every speaker's frames decrypted.
import { afterEach, describe, expect, test } from 'vitest';
import type { Client } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import { joinVoice, loginClient, speechFromPcm, startDiscordSim, tonePcm, type DiscordSim, type Speech } from '../../discord-sim/index.ts';
import { receiveThroughAdapter } from '../helpers/adapter-receive.ts';
import { closeVoiceTest } from '../helpers/voice-teardown.ts';

let sim: DiscordSim | null = null;
let client: Client | null = null;
let connection: VoiceConnection | null = null;
afterEach(async () => {
  await closeVoiceTest({ connection, client, sim });
  connection = null;
  client = null;
  sim = null;
});

async function room(users: string[]): Promise<{ s: DiscordSim; conn: VoiceConnection; ids: string[] }> {
  const s = await startDiscordSim({ users: users.map((username) => ({ username })) });
  sim = s;
  const ids = users.map((u) => s.userByName(u).id);
  for (const id of ids) s.joinVoice(id);
  client = await loginClient(s);
  connection = await joinVoice(client, s);
  await s.dave.settled();
  return { s, conn: connection, ids };
}

async function heard(
  conn: VoiceConnection,
  userId: string,
  speak: () => { frames: unknown[]; done: Promise<void> },
  datagrams?: () => number,
) {
  const receiver = receiveThroughAdapter(conn, userId);
  const utterance = speak();
  await utterance.done;
  await receiver.allArrived(datagrams?.() ?? utterance.frames.length);
  receiver.close();
  return Object.assign(receiver.packets, { stats: receiver.subscription.stats() });
}

describe('DAVE on the stand-in with the real @discordjs/voice', () => {
  test("the bot joins the group with the speakers' privacy code; their encrypted frames arrive decrypted, byte for byte", async () => {
    const { s, conn, ids } = await room(['alice', 'bob']);
    const [alice] = ids as [string, string];
    expect(s.dave.group()?.members()).toEqual(expect.arrayContaining([...ids, s.botUserId]));
    expect(conn.voicePrivacyCode).toMatch(/^\d{30}$/);
    expect(conn.voicePrivacyCode).toBe(s.dave.group()?.privacyCode());
    const speech = speechFromPcm(tonePcm({ seconds: 1, frequency: 440, silenceAfter: 0.2 }));
    const packets = await heard(conn, alice, () => s.speak(alice, speech));
    // What went over the wire was end-to-end encrypted: not one payload equals the Opus frame it carries.
    const wire = s.speakers.wire.filter((w) => w.frame.userId === alice && !w.frame.trailingSilence);
    expect(wire.length).toBeGreaterThan(0);
    expect(wire.every((w) => w.e2ee)).toBe(true);
    expect(packets.map((p) => p.opus.toString('hex'))).toEqual(speech.frames.map((f) => f.opus.toString('hex')));
  });

  test("a network duplicate, which DAVE's replay protection refuses, is counted as a duplicate, not as undecryptable", async () => {
    const { s, conn, ids } = await room(['alice']);
    const [alice] = ids as [string];
    const speech = speechFromPcm(tonePcm({ seconds: 1, frequency: 440, silenceAfter: 0.2 }));
    const wire = () => s.speakers.wire.filter((w) => w.frame.userId === alice);
    const packets = await heard(
      conn,
      alice,
      () => s.speak(alice, speech, { faults: { duplicate: 0.2, seed: 11 } }),
      () => wire().length,
    );
    const duplicates = wire().filter((w) => w.payload === 'duplicate' && w.e2ee).length;
    // The trailing silence frames travel unencrypted, so a repeat of one is delivered (placement drops it).
    const plainRepeats = wire().filter((w) => w.payload === 'duplicate' && !w.e2ee).length;
    expect(duplicates).toBeGreaterThan(3);
    expect(packets.stats).toMatchObject({ replayed: duplicates, undecryptable: 0, delivered: speech.frames.length + plainRepeats });
  });

  test('a decrypted Opus frame that happens to end like a DAVE trailer (…FA FA) is kept, not taken for ciphertext', async () => {
    const { s, conn, ids } = await room(['alice']);
    const [alice] = ids as [string];
    // A valid 20 ms CELT frame (TOC 0xfc) whose last bytes look like DAVE's supplemental size and marker.
    const tricky = Buffer.concat([Buffer.from([0xfc]), Buffer.alloc(40, 0x5a), Buffer.from([0x20, 0xfa, 0xfa])]);
    const speech: Speech = {
      frames: [0, 1, 2].map((k) => ({ offset: k * 960, opus: tricky, trailingSilence: false })),
      durationSamples: 3 * 960,
    };
    const packets = await heard(conn, alice, () => s.speak(alice, speech));
    expect(packets.map((p) => p.opus.toString('hex'))).toEqual([tricky, tricky, tricky].map((f) => f.toString('hex')));
  });
});
