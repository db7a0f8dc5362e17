import { afterEach, describe, expect, test } from 'vitest';
import type { Client } from 'discord.js';
import { entersState, joinVoiceChannel, VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';
import { VoiceCloseCodes } from 'discord-api-types/voice/v8';
import { joinVoice, loginClient, startDiscordSim, speechFromPcm, tonePcm, type DiscordSim, type Speech } from '../../discord-sim/index.ts';
import { until } from '../helpers/until.ts';

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

async function connect(s: DiscordSim): Promise<VoiceConnection> {
  client = await loginClient(s);
  connection = await joinVoice(client, s);
  return connection;
}

/** Collects what the receiver yields for a user until `count` frames (or `ms` without one: the test then fails on them). */
function collect(conn: VoiceConnection, userId: string, count: number, ms = 3000): Promise<{ frames: Buffer[]; error: Error | null }> {
  const stream = conn.receiver.subscribe(userId);
  const frames: Buffer[] = [];
  return new Promise((resolve) => {
    let timer = setTimeout(done, ms);
    function done() {
      stream.removeAllListeners('data');
      resolve({ frames, error: null });
    }
    stream.on('data', (frame: Buffer) => {
      frames.push(frame);
      clearTimeout(timer);
      if (frames.length >= count) return done();
      timer = setTimeout(done, ms);
    });
    stream.on('error', (error: Error) => {
      clearTimeout(timer);
      resolve({ frames, error });
    });
  });
}

/**
 * Listens to a user, subscribing again whenever @discordjs/voice destroys the stream (it does on any packet it
 * cannot decrypt), which is what roomrec's receive adapter must do. The frames and errors seen so far are read
 * at any time; `stop` detaches.
 */
function listen(conn: VoiceConnection, userId: string) {
  const frames: Buffer[] = [];
  const errors: Error[] = [];
  let current = conn.receiver.subscribe(userId);
  let stopped = false;
  function attach() {
    current.on('data', (frame: Buffer) => frames.push(frame));
    current.once('error', (error: Error) => errors.push(error));
    current.once('close', () => {
      if (stopped) return;
      current = conn.receiver.subscribe(userId);
      attach();
    });
  }
  attach();
  return {
    frames,
    errors,
    stop() {
      stopped = true;
      current.removeAllListeners();
    },
  };
}

/** Resolves once a listener has had `frames` frames and `errors` errors, then stops it. */
async function heard(listener: ReturnType<typeof listen>, counts: { frames: number; errors: number }) {
  try {
    await until(
      () => (listener.frames.length >= counts.frames && listener.errors.length >= counts.errors ? true : undefined),
      `${counts.frames} frames and ${counts.errors} stream errors (have ${listener.frames.length} and ${listener.errors.length})`,
    );
  } finally {
    listener.stop();
  }
  return { frames: listener.frames, errors: listener.errors };
}

const tone = (seconds: number, frequency = 440): Speech => speechFromPcm(tonePcm({ seconds, frequency, silenceAfter: 0.2 }));

describe('@discordjs/voice against the stand-in voice server', () => {
  test('the receiver yields exactly the Opus frames a simulated user sent, in order', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    const conn = await connect(sim);
    sim.joinVoice(alice.id);
    await sim.dave.settled();
    const speech = speechFromPcm(tonePcm({ seconds: 1, frequency: 440, sampleRate: 44_100, silenceAfter: 0.5 }));
    const received = collect(conn, alice.id, speech.frames.length);
    const utterance = sim.speak(alice.id, speech);
    await utterance.done;
    const { frames, error } = await received;
    expect(error).toBeNull();
    expect(utterance.frames.length).toBe(50 + 5); // 1 s of tone + 5 trailing silence frames, nothing for the rest
    expect(frames.map((f) => f.toString('hex'))).toEqual(utterance.frames.map((f) => f.opus.toString('hex')));
  });

  test('with loss, duplicates, reordering and jitter the receiver yields the surviving frames in arrival order', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    const conn = await connect(sim);
    sim.joinVoice(alice.id);
    await sim.dave.settled();
    const listener = listen(conn, alice.id);
    const utterance = sim.speak(alice.id, tone(2), { faults: { loss: 0.1, duplicate: 0.1, reorder: 0.1, jitterMs: 15, seed: 7 } });
    await utterance.done;
    // Every packet that reached the bot and yields a frame (a replayed DAVE frame yields none).
    const { frames, errors } = await heard(listener, { frames: sim.speakers.decodableArrivals(alice.id).length, errors: 0 });
    expect(errors).toEqual([]);
    const fates = utterance.frames.map((f) => f.fate);
    expect(fates.filter((f) => f === 'lost').length).toBeGreaterThan(0);
    const arrivals = sim.speakers.wire.filter((w) => w.frame.userId === alice.id);
    expect(arrivals.some((w) => w.payload === 'duplicate')).toBe(true);
    const order = arrivals.map((w) => w.frame.index);
    expect(order.some((index, i) => i > 0 && index < (order[i - 1] ?? 0))).toBe(true); // something overtook something
    expect(frames.map((f) => f.toString('hex'))).toEqual(sim.speakers.decodableArrivals(alice.id).map((f) => f.toString('hex')));
  });

  test('the same seed gives the same faults', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const { planDeliveries } = await import('../../discord-sim/faults.ts');
    const faults = { loss: 0.2, duplicate: 0.2, reorder: 0.2, jitterMs: 30, malformed: 0.05, undecryptable: 0.05, seed: 42 };
    expect(planDeliveries(200, faults)).toEqual(planDeliveries(200, faults));
    expect(planDeliveries(200, faults)).not.toEqual(planDeliveries(200, { ...faults, seed: 43 }));
  });

  test('a malformed or undecryptable packet destroys the @discordjs/voice stream; resubscribing recovers the rest', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    const conn = await connect(sim);
    sim.joinVoice(alice.id);
    await sim.dave.settled();
    const listener = listen(conn, alice.id);
    const utterance = sim.speak(alice.id, tone(2), { faults: { malformed: 0.05, undecryptable: 0.05, seed: 3 } });
    await utterance.done;
    const bad = utterance.frames.filter((f) => f.fate === 'malformed' || f.fate === 'undecryptable').length;
    const { frames, errors } = await heard(listener, { frames: sim.speakers.decodableArrivals(alice.id).length, errors: bad });
    expect(utterance.frames.some((f) => f.fate === 'malformed')).toBe(true);
    expect(utterance.frames.some((f) => f.fate === 'undecryptable')).toBe(true);
    // One stream error per damaged packet: the library turns each into stream.destroy(error).
    expect(errors.length).toBe(bad);
    expect(frames.map((f) => f.toString('hex'))).toEqual(sim.speakers.decodableArrivals(alice.id).map((f) => f.toString('hex')));
  });

  test('packets from an SSRC never announced by op 5 are dropped by the receiver', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }, { username: 'bob' }] });
    const alice = sim.userByName('alice');
    const bob = sim.userByName('bob');
    const conn = await connect(sim);
    sim.setSsrcAnnounced(bob.id, false);
    sim.joinVoice(alice.id);
    sim.joinVoice(bob.id);
    await sim.dave.settled();
    const fromBob = listen(conn, bob.id);
    const fromAlice = listen(conn, alice.id);
    const speech = tone(0.5);
    // Alice a little after Bob: her last packet follows his on the one socket to the bot, so once all of hers
    // are in, all of his have come too.
    await Promise.all([sim.speak(bob.id, speech).done, sim.speak(alice.id, speech, { at: sim.clock() + 100 }).done]);
    const wire = sim.speakers.wire;
    const lastOf = (userId: string) => wire.findLastIndex((w) => w.frame.userId === userId);
    expect(lastOf(alice.id)).toBeGreaterThan(lastOf(bob.id));
    await heard(fromAlice, { frames: speech.frames.length, errors: 0 });
    fromBob.stop();
    expect(fromBob.frames).toEqual([]);
    expect(sim.speakers.wire.filter((w) => w.frame.userId === bob.id).length).toBe(speech.frames.length); // they were sent
    expect(fromAlice.frames.length).toBe(speech.frames.length);
  });

  test('a self-deafened bot is sent no audio, as on Discord', async () => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    client = await loginClient(sim);
    const s = sim;
    const deafened = s.waitFor((e) => e.kind === 'voice' && e.event === 'session-description', 30_000);
    const guild = client.guilds.cache.get(s.guildId);
    if (!guild) throw new Error('guild missing');
    // joinVoiceChannel's default is selfDeaf: true — exactly the mistake this test guards against
    connection = joinVoiceChannel({ channelId: s.voiceChannelId, guildId: s.guildId, adapterCreator: guild.voiceAdapterCreator });
    await deafened;
    await entersState(connection, VoiceConnectionStatus.Ready, 30_000);
    expect(s.botVoiceSession()?.selfDeaf).toBe(true);
    sim.joinVoice(alice.id);
    await sim.dave.settled();
    const received = listen(connection, alice.id);
    await sim.speak(alice.id, tone(0.3)).done;
    // Nothing can arrive: the stand-in put no packet of hers on the wire to the bot.
    expect(sim.speakers.wire.filter((w) => w.frame.userId === alice.id)).toEqual([]);
    received.stop();
    expect(received.frames).toEqual([]);
  });

  test.each([
    ['4015 voice server crashed (resume)', VoiceCloseCodes.VoiceServerCrashed as number | 'drop', 'resumed'],
    ['a dropped TCP connection (resume)', 'drop' as const, 'resumed'],
    ['4006 session no longer valid (rejoin through the main gateway)', VoiceCloseCodes.SessionNoLongerValid, 'session-description'],
  ])('survives a forced voice disconnect: %s', async (_name, how, recoveryEvent) => {
    sim = await startDiscordSim({ users: [{ username: 'alice' }] });
    const alice = sim.userByName('alice');
    const conn = await connect(sim);
    sim.joinVoice(alice.id);
    await sim.dave.settled();
    const s = sim;
    const recovered = s.waitFor((e) => e.kind === 'voice' && e.event === recoveryEvent, 30_000);
    s.disconnectBotVoice(how);
    await recovered;
    await entersState(conn, VoiceConnectionStatus.Ready, 30_000);
    // A rejoin is a new DAVE session: the bot is heard once it is back in the group (a resume keeps it there).
    await s.dave.settled();
    const speech = tone(0.5);
    const received = collect(conn, alice.id, speech.frames.length);
    const utterance = s.speak(alice.id, speech);
    await utterance.done;
    const { frames, error } = await received;
    expect(error).toBeNull();
    expect(frames.map((f) => f.toString('hex'))).toEqual(utterance.frames.map((f) => f.opus.toString('hex')));
  });
});
