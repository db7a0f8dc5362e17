// A room's tracks as the recorder would have left them after N minutes of talk, without N minutes of waiting:
// the bench for "stop → link" needs 10- and 20-minute rooms, which cannot be played in real time.
//
// Every track is written by the recorder's own SpeakerTrack, fed what the receive adapter hands it during a
// conversation in turns: one speaker at a time, a packet every 20 ms while they talk (real Opus speech from the
// demo voices, with their RTP sequence and timestamp and a few ms of arrival jitter), the five silence frames
// a Discord client sends after a talk spurt, nothing during pauses, and the recorder's 200 ms tick on every
// track. Time is injected (arrival times are computed), so 20 minutes take a second or two.
//
// Run as a child process (`node scripts/bench/prebuilt-room.ts SPEC_JSON`): it flushes the tracks and exits
// without closing them, which is what a running recorder's files look like after a bot restart. The bench
// then lets the real bot resume the recording and stops it with `/record stop`.
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_TICK_MS } from '../../src/recording/room-recorder.ts';
import { SpeakerTrack, type ReceivedPacket } from '../../src/recording/speaker-track.ts';
import { OPUS_SILENCE_FRAME } from '../../discord-sim/index.ts';
import { mulberry32 } from '../../discord-sim/ids.ts';
import { demoVoiceFrames, FRAME_MS, talkInTurns, TRAILING_SILENCE_FRAMES, type Turn } from './conversation.ts';

export interface PrebuiltRoomSpec {
  recordingId: string;
  minutes: number;
  seed: number;
  /** One per speaker, in speaking order of the first turn. */
  tracks: { path: string; userId: string; name: string }[];
}

export interface PrebuiltRoomResult {
  packets: number;
  speechPackets: number;
  turns: number;
  bytes: number;
  buildMs: number;
}

const FLUSH_EVERY_MS = 1000;

/** What the receive adapter hands the recorder for one turn, in arrival order. */
function* turnPackets(
  turn: Turn,
  voice: Buffer[],
  rtp: { sequence: number; timestamp0: number; ssrc: number },
  rnd: () => number,
): Generator<ReceivedPacket> {
  const total = turn.frames + TRAILING_SILENCE_FRAMES;
  for (let k = 0; k < total; k++) {
    const sentMs = turn.startMs + k * FRAME_MS;
    rtp.sequence = (rtp.sequence + 1) & 0xffff;
    yield {
      opus: k < turn.frames ? (voice[k % voice.length] as Buffer) : OPUS_SILENCE_FRAME,
      // Loopback-like jitter: a few ms, never enough to reorder 20 ms packets.
      arrivalMs: sentMs + rnd() * 4,
      rtp: { sequence: rtp.sequence, timestamp: (rtp.timestamp0 + sentMs * 48) >>> 0, ssrc: rtp.ssrc },
    };
  }
}

export async function buildPrebuiltRoom(spec: PrebuiltRoomSpec): Promise<PrebuiltRoomResult> {
  const started = performance.now();
  const totalMs = spec.minutes * 60_000;
  const voices = await demoVoiceFrames();
  const rnd = mulberry32(spec.seed + 1);
  const turns = talkInTurns(spec.tracks.length, totalMs, spec.seed);
  await Promise.all(spec.tracks.map((t) => mkdir(path.dirname(t.path), { recursive: true })));
  const tracks = await Promise.all(
    spec.tracks.map((t) =>
      SpeakerTrack.create({ path: t.path, recordingId: spec.recordingId, userId: t.userId, speakerName: t.name, startMs: 0 }),
    ),
  );
  // Each speaker's client keeps one SSRC, a running sequence and a timestamp that follows elapsed time.
  const senders = spec.tracks.map(() => ({
    sequence: Math.floor(rnd() * 0x10000),
    timestamp0: Math.floor(rnd() * 2 ** 32),
    ssrc: 1 + Math.floor(rnd() * (2 ** 31 - 1)),
  }));
  function* allPackets(): Generator<{ speaker: number; packet: ReceivedPacket }> {
    for (const turn of turns) {
      const voice = voices[turn.speaker % voices.length] as Buffer[];
      for (const packet of turnPackets(turn, voice, senders[turn.speaker]!, rnd)) yield { speaker: turn.speaker, packet };
    }
  }

  let packets = 0;
  const source = allPackets();
  let next = source.next();
  for (let nowMs = DEFAULT_TICK_MS; nowMs <= totalMs; nowMs += DEFAULT_TICK_MS) {
    while (!next.done && next.value.packet.arrivalMs < nowMs) {
      tracks[next.value.speaker]!.push(next.value.packet);
      packets++;
      next = source.next();
    }
    for (const track of tracks) track.tick(nowMs);
    if (nowMs % FLUSH_EVERY_MS === 0) await Promise.all(tracks.map((t) => t.flush()));
  }
  await Promise.all(tracks.map((t) => t.flush()));
  for (const track of tracks) {
    const s = track.stats();
    const dropped = s.dropped.invalid + s.dropped.duplicate + s.dropped.late;
    if (dropped > 0) throw new Error(`${track.path}: the recorder dropped ${dropped} of the generated packets`);
  }
  const sizes = await Promise.all(tracks.map((t) => stat(t.path)));
  return {
    packets,
    speechPackets: turns.reduce((n, t) => n + t.frames, 0),
    turns: turns.length,
    bytes: sizes.reduce((n, s) => n + s.size, 0),
    buildMs: performance.now() - started,
  };
}

// Child-process entry: build, print the result as JSON, and exit with the tracks open (flushed, not closed).
if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '') as PrebuiltRoomSpec;
  const result = await buildPrebuiltRoom(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
