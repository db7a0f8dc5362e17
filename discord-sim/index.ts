export { startDiscordSim, type DiscordSim, type DiscordSimOptions } from './sim.ts';
export {
  loadSpeech,
  speechFromPcm,
  parseWav,
  tonePcm,
  encodeWav,
  type Speech,
  type SpeechFrame,
  type Pcm,
  type GateOptions,
} from './audio-source.ts';
export type { NetworkFaults, FrameFate } from './faults.ts';
export type { SentFrame, Utterance, SpeakOptions } from './speaker.ts';
export type { SimLogEntry } from './log.ts';
export type { SimGuild, GuildOptions, SimUser } from './world.ts';
export type { RateLimitBurst } from './rest.ts';
export type { InteractionRecord } from './interactions.ts';
export { OPUS_SILENCE_FRAME } from './rtp.ts';
export {
  loadScenario,
  parseScenario,
  playScenario,
  loadScenarioSpeech,
  scenarioUsers,
  timeline,
  extractLinks,
  ScenarioError,
  type Scenario,
  type ScenarioEvent,
  type ScenarioHooks,
  type ScenarioOutcome,
  type ScenarioRun,
  type ScenarioIssue,
} from './scenario.ts';
export { loginClient, connectVoice, joinVoice, RECORDER_INTENTS } from './harness.ts';
