// A DAVE room with churn: `talkers` speak without pause while `churners` join and leave one after another, each
// join and leave an MLS transition, and the bot receives every talker through the product's own adapter.
// Counts, per transition, the talkers' frames sent within ±`windowMs` of it and how many of those reached the
// track side, by RTP sequence. Shared by tests/e2e/dave-transitions.test.ts and scripts/bench/dave.ts.
//
// Paced by what the stand-in reports, not by the clock alone: each churner stays until the stand-in has sent
// every talker's frames for `dwellMs` past the transition, and the talkers go on (one second after another)
// until the last churner has left, however long the transitions took.
import type { Client } from 'discord.js';
import type { VoiceConnection } from '@discordjs/voice';
import {
  joinVoice,
  loginClient,
  speechFromPcm,
  startDiscordSim,
  tonePcm,
  type DiscordSim,
  type Utterance,
} from '../../discord-sim/index.ts';
import { createVoiceReceive, type ReceiveStats } from '../../src/recording/voice-receive.ts';
import { logVoiceErrors } from '../../src/recording/room-voice.ts';
import { silentLogger } from '../../src/log.ts';
import { until } from './until.ts';

interface TransitionLoss {
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

    // Each talker says one second after another, back to back on the stand-in's clock, until told to stop.
    const chunkMs = 1000;
    const chunk = speechFromPcm(tonePcm({ seconds: chunkMs / 1000, frequency: 300, silenceAfter: 0 }));
    const utterances: Utterance[] = [];
    let talking = true;
    const talk = async (id: string, at: number): Promise<void> => {
      for (let next = at; talking; next += chunkMs) {
        const utterance = sim.speak(id, chunk, { at: next });
        utterances.push(utterance);
        await utterance.done;
      }
    };
    const talked = Promise.all(talkers.map((id) => talk(id, sim.clock())));
    /** Resolves once the stand-in has sent every talker's frames up to `ms` on its clock. */
    const sentUpTo = (ms: number) =>
      until(
        () => {
          const sentLate = new Set<string>();
          const wire = sim.speakers.wire;
          for (let i = wire.length - 1; i >= 0 && (wire[i]?.at ?? 0) >= ms; i--) sentLate.add(wire[i]?.frame.userId ?? '');
          return talkers.every((id) => sentLate.has(id)) ? true : undefined;
        },
        `every talker sent up to ${Math.round(ms)} ms`,
        opts.dwellMs + 10_000,
      );
    const dwell = () => sentUpTo(sim.clock() + opts.dwellMs);
    const firstExecuted = sim.log.entries.length;
    for (const name of churnerNames) {
      const id = sim.userByName(name).id;
      sim.joinVoice(id);
      await sim.dave.settled();
      await dwell();
      sim.leaveVoice(id);
      await sim.dave.settled();
      await dwell();
    }
    talking = false;
    await talked;
    const frames = utterances.flatMap((u) => u.frames);
    await until(
      () => {
        const s = voice.stats();
        return s.delivered + s.undecryptable + s.malformed >= frames.length ? true : undefined;
      },
      'every frame accounted for',
      30_000,
    ).catch(() => undefined);
    const stats = voice.stats();
    voice.close();

    const executed = sim.log.entries
      .slice(firstExecuted)
      .filter((e): e is Extract<typeof e, { kind: 'dave' }> => e.kind === 'dave' && e.event === 'executed');
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
