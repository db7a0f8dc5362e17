// A DAVE room with churn: `talkers` speak without pause while `churners` join and leave one after another, each
// join and leave an MLS transition, and the bot receives every talker through the product's own adapter.
// Counts, per transition, the talkers' frames sent within ±`windowMs` of it and how many of those reached the
// track side, by RTP sequence. Shared by tests/e2e/dave-transitions.test.ts and scripts/bench/dave-transitions.ts.
import type { Client } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import { joinVoice, loginClient, speechFromPcm, startDiscordSim, tonePcm, type DiscordSim } from '../../discord-sim/index.ts';
import { createVoiceReceive, type ReceiveStats } from '../../src/recording/voice-receive.ts';
import { logVoiceErrors } from '../../src/recording/room-voice.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from './until.ts';

export interface TransitionLoss {
  at: number;
  epoch: number;
  /** talkers' frames sent within the window */
  sent: number;
  /** ... of which the bot handed to the track side */
  received: number;
}

export interface ChurnResult {
  transitions: TransitionLoss[];
  sent: number;
  received: number;
  stats: ReceiveStats;
  privacyCodeMatches: boolean;
}

export async function churnRoom(opts: { talkers: number; churners: number; dwellMs: number; windowMs?: number }): Promise<ChurnResult> {
  const windowMs = opts.windowMs ?? 200;
  const talkerNames = Array.from({ length: opts.talkers }, (_, i) => `talker${i}`);
  const churnerNames = Array.from({ length: opts.churners }, (_, i) => `churner${i}`);
  const sim: DiscordSim = await startDiscordSim({ users: [...talkerNames, ...churnerNames].map((username) => ({ username })) });
  let client: Client | undefined;
  let connection: VoiceConnection | undefined;
  try {
    const talkers = talkerNames.map((n) => sim.userByName(n).id);
    for (const id of talkers) sim.joinVoice(id);
    client = await loginClient(sim);
    connection = await joinVoice(client, sim);
    logVoiceErrors(connection, silentLogger());
    await sim.dave.settled();
    const voice = createVoiceReceive(connection, { clock: { now: () => performance.now() }, log: silentLogger() });
    const received = new Map<string, Set<number>>(talkers.map((id) => [id, new Set()]));
    for (const id of talkers) voice.subscribe(id, (p) => p.rtp && received.get(id)?.add(p.rtp.sequence));

    const speechMs = opts.churners * 2 * opts.dwellMs + 1000;
    const speech = speechFromPcm(tonePcm({ seconds: speechMs / 1000, frequency: 300, silenceAfter: 0 }));
    const utterances = talkers.map((id) => sim.speak(id, speech));
    const firstExecuted = sim.log.entries.length;
    for (const name of churnerNames) {
      const id = sim.userByName(name).id;
      sim.joinVoice(id);
      await sim.dave.settled();
      await until(() => (performance.now() > sim.log.entries.at(-1)!.at + opts.dwellMs ? true : undefined), 'dwell', opts.dwellMs + 5000);
      sim.leaveVoice(id);
      await sim.dave.settled();
      await until(() => (performance.now() > sim.log.entries.at(-1)!.at + opts.dwellMs ? true : undefined), 'dwell', opts.dwellMs + 5000);
    }
    await Promise.all(utterances.map((u) => u.done));
    const frames = utterances.flatMap((u) => u.frames);
    await until(() => {
      const s = voice.stats();
      return s.delivered + s.undecryptable + s.malformed >= frames.length ? true : undefined;
    }, 'every frame accounted for', 10_000).catch(() => undefined);
    const stats = voice.stats();
    voice.close();

    const executed = sim.log.entries.slice(firstExecuted).filter((e): e is Extract<typeof e, { kind: 'dave' }> => e.kind === 'dave' && e.event === 'executed');
    const transitions = executed.map((e) => {
      const near = frames.filter((f) => f.arrivals.some((t) => Math.abs(t - e.at) <= windowMs));
      return {
        at: e.at,
        epoch: Number(e.detail.epoch),
        sent: near.length,
        received: near.filter((f) => received.get(f.userId)?.has(f.sequence)).length,
      };
    });
    const receivedCount = frames.filter((f) => received.get(f.userId)?.has(f.sequence)).length;
    return {
      transitions,
      sent: frames.length,
      received: receivedCount,
      stats,
      privacyCodeMatches: connection.voicePrivacyCode === sim.dave.group()?.privacyCode(),
    };
  } finally {
    connection?.destroy();
    await client?.destroy();
    await sim.close();
  }
}
