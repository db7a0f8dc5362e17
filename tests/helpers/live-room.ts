/**
 * A room played on an injected clock, faster than real time: each speaker's track is written by the
 * recorder's own SpeakerTrack exactly as a live room writes it (packets at their arrival times with a few ms
 * of jitter, nothing sent during pauses, the 200 ms tick, pages on disk every second), and a hook runs every
 * simulated second so a live mix can work on the growing files in between.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SpeakerTrack } from '../../src/recording/speaker-track.ts';
import { prng } from './audio.ts';

export interface RoomSpeaker {
  name: string;
  /** Consent time: the track is created then. */
  joinMs: number;
  /** Withdrawal time: the track is closed then. */
  leaveMs?: number;
  /** Talk spurts: 20 ms Opus frames sent back to back from atMs. */
  spurts: { atMs: number; frames: Buffer[] }[];
}

export interface RoomHooks {
  onJoin?(speaker: RoomSpeaker, file: string, nowMs: number): Promise<void> | void;
  onLeave?(speaker: RoomSpeaker, file: string, nowMs: number): Promise<void> | void;
  /** Every simulated second, after the tracks' pages are on disk. */
  onSecond?(nowMs: number): Promise<void> | void;
}

const TICK_MS = 200;

/** Plays the room up to endMs and closes every open track there. Returns each speaker's track file. */
export async function playRoom(
  opts: { dir: string; speakers: RoomSpeaker[]; endMs: number; seed?: number },
  hooks: RoomHooks = {},
): Promise<Map<string, string>> {
  const rnd = prng(opts.seed ?? 7);
  await mkdir(opts.dir, { recursive: true });
  const files = new Map(opts.speakers.map((s) => [s.name, path.join(opts.dir, `${s.name}.ogg`)]));
  const open = new Map<string, SpeakerTrack>();
  // Every packet of every speaker in arrival order (spurts are short; memory is the frames themselves).
  const packets = opts.speakers
    .flatMap((s) =>
      s.spurts.flatMap((sp) => sp.frames.map((opus, k) => ({ speaker: s.name, opus, arrivalMs: sp.atMs + k * 20 + rnd() * 4 }))),
    )
    .sort((a, b) => a.arrivalMs - b.arrivalMs);
  let next = 0;
  for (let nowMs = TICK_MS; nowMs <= opts.endMs; nowMs += TICK_MS) {
    for (const s of opts.speakers) {
      const file = files.get(s.name)!;
      if (s.joinMs < nowMs && !open.has(s.name) && !(s.leaveMs !== undefined && s.leaveMs < nowMs)) {
        open.set(
          s.name,
          await SpeakerTrack.create({ path: file, recordingId: 'r1', userId: s.name, speakerName: s.name, startMs: s.joinMs }),
        );
        await hooks.onJoin?.(s, file, nowMs);
      }
    }
    for (; next < packets.length && packets[next]!.arrivalMs < nowMs; next++) {
      const p = packets[next]!;
      open.get(p.speaker)?.push({ opus: p.opus, arrivalMs: p.arrivalMs });
    }
    for (const t of open.values()) t.tick(nowMs);
    for (const s of opts.speakers) {
      const track = open.get(s.name);
      if (track && s.leaveMs !== undefined && s.leaveMs < nowMs) {
        await track.close(s.leaveMs);
        open.delete(s.name);
        await hooks.onLeave?.(s, files.get(s.name)!, nowMs);
      }
    }
    if (nowMs % 1000 === 0) {
      await Promise.all([...open.values()].map((t) => t.flush()));
      await hooks.onSecond?.(nowMs);
    }
  }
  await Promise.all([...open.values()].map((t) => t.close(opts.endMs)));
  return files;
}
