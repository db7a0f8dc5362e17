/**
 * What a room's voice connection says about Discord's end-to-end encryption (DAVE): whether it is on, the voice
 * privacy code (what every Discord client in the call shows, so participants can check the bot is in their
 * group) and how many group transitions the room has been through.
 *
 * Why wait for the group before recording: until the bot's DAVE session has joined the channel's MLS group it
 * cannot decrypt anyone, and @discordjs/voice hands over each frame still end-to-end encrypted. A recorder that
 * started then would store noise, or silence, as if it were a recording. So start and resume wait here, and a
 * room whose group the bot cannot join is refused with a reason.
 */
import { VoiceConnectionStatus, type VoiceConnection } from '@discordjs/voice';

export interface E2eeState {
  protocol: 'dave';
  /** DAVE protocol version in use (1 today). */
  version: number;
  /** The group's voice privacy code, '' while the bot is not (yet) a member. */
  privacyCode: string;
}

/** The DAVE wrapper of the library's networking state, read through the one path the library keeps it in. */
interface DaveWrapper {
  protocolVersion: number;
  voicePrivacyCode: string | null;
}

function daveOf(connection: VoiceConnection): DaveWrapper | undefined {
  const state = connection.state;
  if (state.status === VoiceConnectionStatus.Destroyed || !('networking' in state)) return undefined;
  const dave = Reflect.get(state.networking.state, 'dave') as DaveWrapper | null | undefined;
  return dave ?? undefined;
}

/** The connection's E2EE state now, or null when the voice server did not ask for DAVE (plain voice, Stage). */
export function readE2ee(connection: VoiceConnection): E2eeState | null {
  const dave = daveOf(connection);
  if (!dave || dave.protocolVersion === 0) return null;
  return { protocol: 'dave', version: dave.protocolVersion, privacyCode: dave.voicePrivacyCode ?? '' };
}

export class E2eeJoinError extends Error {
  constructor(timeoutMs: number) {
    super(
      `Discord encrypts this voice channel end to end (DAVE), and I could not join its encryption group within ` +
        `${timeoutMs / 1000} s, so I would hear nothing but noise. I am not recording. Try again in a moment.`,
    );
    this.name = 'E2eeJoinError';
  }
}

/**
 * Resolves once a Ready connection can decrypt the room: at once when DAVE is off, else when the bot is in the
 * group (it has a privacy code). Rejects with E2eeJoinError after `timeoutMs`.
 */
export async function waitForE2eeGroup(connection: VoiceConnection, timeoutMs: number): Promise<E2eeState | null> {
  const joined = (): E2eeState | null | undefined => {
    const state = readE2ee(connection);
    if (state === null) return null;
    return state.privacyCode !== '' ? state : undefined;
  };
  const now = joined();
  if (now !== undefined) return now;
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      connection.off('transitioned', check);
      connection.off('stateChange', check);
    };
    const check = (): void => {
      const state = joined();
      if (state === undefined) return;
      done();
      resolve(state);
    };
    const timer = setTimeout(() => {
      done();
      reject(new E2eeJoinError(timeoutMs));
    }, timeoutMs);
    // 'transitioned' is the library's signal that a commit or welcome took effect: the code changes then.
    connection.on('transitioned', check);
    connection.on('stateChange', check);
  });
}
