// The four ways @discordjs/voice 0.19.2 fails under DAVE (../shared/dave/README.md, issue 8), each reproduced
// against the real library and the stand-in's DAVE voice server, and each contained by our patch
// (patches/@discordjs+voice+0.19.2.patch) or by the voice adapter (src/recording/voice-receive.ts, room-voice.ts).
// Without the patch: (a) ends the test process with an uncaught exception, (b) destroys the receive stream and
// never hears the speaker again, (d) never reaches a final state (the library rejoins in a loop).
import { afterEach, describe, expect, test } from 'vitest';
import type { Client } from 'discord.js';
import { VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { connectVoice, joinVoice, loginClient, speechFromPcm, startDiscordSim, tonePcm, type DiscordSim } from '../../discord-sim/index.ts';
import { DAVE_REQUIRED_MESSAGE, logVoiceErrors, watchVoice, type VoiceChange } from '../../src/recording/room-voice.ts';
import { silentLogger } from '../../src/log.ts';
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

const tone = (seconds: number) => speechFromPcm(tonePcm({ seconds, frequency: 330, silenceAfter: 0.1 }));

describe('@discordjs/voice under DAVE: failures reproduced and contained', () => {
  test('(a) a proposal naming a user the bot was not told about (op 11 late) is reported, not a process exit, and the group recovers', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }, { username: 'bob' }] });
    const alice = sim.userByName('alice').id;
    const bob = sim.userByName('bob').id;
    sim.joinVoice(alice);
    client = await loginClient(sim);
    connection = await joinVoice(client, sim);
    const errors: Error[] = [];
    connection.on('error', (e) => errors.push(e));
    await sim.dave.settled();

    sim.joinVoice(bob, undefined, { clientsConnectLate: true });
    // The bot cannot follow the commit that adds bob (it rejected the proposal), says so with op 31, and is re-added.
    await sim.waitFor((e) => e.kind === 'dave' && e.event === 'invalid-commit-welcome', 30_000, true);
    await sim.dave.settled();
    expect(errors.map((e) => e.message).join('\n')).toMatch(/UnexpectedUser/);
    expect(sim.dave.group()?.members()).toEqual(expect.arrayContaining([alice, bob, sim.botUserId]));
    expect(connection.voicePrivacyCode).toBe(sim.dave.group()?.privacyCode());

    const heard = receiveThroughAdapter(connection, bob);
    const utterance = sim.speak(bob, tone(0.6));
    await utterance.done;
    await heard.allArrived(utterance.frames.length);
    heard.close();
    expect(heard.packets.map((p) => p.rtp?.sequence)).toEqual(utterance.frames.map((f) => f.sequence));
  });

  test('(b) with transition id 0, a bot whose group fell behind recovers through op 31 instead of losing the speaker for good', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }, { username: 'carol' }], dave: { zeroTransitionIds: true } });
    const alice = sim.userByName('alice').id;
    const carol = sim.userByName('carol').id;
    sim.joinVoice(alice);
    client = await loginClient(sim);
    connection = await joinVoice(client, sim);
    logVoiceErrors(connection, silentLogger());
    await sim.dave.settled();
    const heard = receiveThroughAdapter(connection, alice);

    // The bot misses the commit that adds carol: from then on alice encrypts with keys the bot does not have.
    sim.dave.group()?.faults.skipCommitFor.add(sim.botUserId);
    sim.joinVoice(carol);
    await sim.waitFor((e) => e.kind === 'dave' && e.event === 'commit-withheld', 5000, true);
    const utterance = sim.speak(alice, tone(3));
    await sim.waitFor((e) => e.kind === 'dave' && e.event === 'invalid-commit-welcome', 30_000, true);
    await sim.dave.settled();
    await utterance.done;
    await heard.allArrived(utterance.frames.length);
    heard.close();

    const stats = heard.subscription.stats();
    // More than the library's tolerance (36) failed before it asked to be re-added; none destroyed the stream.
    expect(stats.undecryptable).toBeGreaterThan(36);
    expect(stats.malformed).toBe(0);
    expect(stats.resubscribes).toBe(0);
    // After the recovery alice is heard again, each frame with its own RTP header: what was received is, in
    // order, the end of what she sent, and every frame she sent is accounted for.
    const sent = utterance.frames.map((f) => f.sequence);
    const got = heard.packets.map((p) => p.rtp?.sequence);
    expect(got.length).toBeGreaterThan(50);
    expect(got.at(-1)).toBe(sent.at(-1));
    expect(got.every((seq, i) => i === 0 || sent.indexOf(seq as number) > sent.indexOf(got[i - 1] as number))).toBe(true);
    expect(stats.delivered + stats.undecryptable).toBe(sent.length);
  });

  test('(d) 4017 "E2EE/DAVE protocol required" is final: one attempt, then the room is told why, in plain words', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    client = await loginClient(sim);
    // A client that offers no DAVE, as a bot without @snazzah/davey would.
    connection = connectVoice(client, sim, { dave: false });
    logVoiceErrors(connection, silentLogger());
    const changes: VoiceChange[] = [];
    const lost = new Promise<VoiceChange>((resolve) => {
      watchVoice(connection as VoiceConnection, {
        log: silentLogger(),
        onChange: (change) => {
          changes.push(change);
          if (change.status === 'lost') resolve(change);
        },
      });
    });
    expect(await lost).toEqual({ status: 'lost', error: DAVE_REQUIRED_MESSAGE, daveRequired: true });
    expect(DAVE_REQUIRED_MESSAGE).toMatch(/end-to-end encryption/);
    expect(connection.state.status).toBe(VoiceConnectionStatus.Destroyed);
    expect(sim.log.entries.filter((e) => e.kind === 'voice' && e.event === 'dave-required')).toHaveLength(1);
    expect(
      sim.log.entries.filter((e) => e.kind === 'gateway-in' && e.op === 4 && (e.d as { channel_id?: unknown }).channel_id),
    ).toHaveLength(1);
  });
});
