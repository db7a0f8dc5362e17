// What the bot-side benches feed the recorder: the demo voices as the Opus frames a Discord client sends for
// them, and a conversation in turns. Shared so every bench talks the same way (mixer-side benches can use it
// too).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { OPUS_SILENCE_FRAME, parseWav, speechFromPcm, type Speech } from '../../discord-sim/index.ts';
import { mulberry32 } from '../../discord-sim/ids.ts';

export const FRAME_MS = 20;
const FRAME_SAMPLES = 960;
/** A Discord client sends five silence frames after each talk spurt. */
export const TRAILING_SILENCE_FRAMES = 5;
const VOICES = ['alice.wav', 'bob.wav', 'carol.wav'];

/** Each demo voice (scripts/demo/*.wav) as 20 ms Opus frames, every frame sent (an open microphone). */
export async function demoVoiceFrames(): Promise<Buffer[][]> {
  const dir = path.join(import.meta.dirname, '..', 'demo');
  return Promise.all(
    VOICES.map(async (file) => {
      const speech = speechFromPcm(parseWav(await readFile(path.join(dir, file)), file), { sendEverything: true });
      return speech.frames.filter((f) => !f.trailingSilence).map((f) => f.opus);
    }),
  );
}

export interface Turn {
  speaker: number;
  startMs: number;
  /** Frames of speech, not counting the trailing silence frames. */
  frames: number;
}

/** Turns of 2-8 s by a speaker other than the last one, 0.3-1.5 s apart, until the room ends. */
export function talkInTurns(speakers: number, totalMs: number, seed: number): Turn[] {
  const rnd = mulberry32(seed);
  const turns: Turn[] = [];
  let startMs = 500;
  let speaker = 0;
  for (;;) {
    const frames = Math.round((2000 + rnd() * 6000) / FRAME_MS);
    const endMs = startMs + (frames + TRAILING_SILENCE_FRAMES) * FRAME_MS;
    if (endMs > totalMs) return turns;
    turns.push({ speaker, startMs, frames });
    startMs = endMs + Math.round(300 + rnd() * 1200);
    if (speakers > 1) speaker = (speaker + 1 + Math.floor(rnd() * (speakers - 1))) % speakers;
  }
}

/**
 * A turn as a simulated speaker sends it through the stand-in: its frames of `voice` from frame `from` on
 * (so turns do not repeat each other), then the trailing silence frames.
 */
export function turnSpeech(turn: Turn, voice: Buffer[], from: number): Speech {
  const total = turn.frames + TRAILING_SILENCE_FRAMES;
  return {
    frames: Array.from({ length: total }, (_, k) => ({
      offset: k * FRAME_SAMPLES,
      opus: k < turn.frames ? voice[(from + k) % voice.length]! : OPUS_SILENCE_FRAME,
      trailingSilence: k >= turn.frames,
    })),
    durationSamples: turn.frames * FRAME_SAMPLES,
  };
}
