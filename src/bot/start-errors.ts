// Why a `/record start` could not begin, in words the host can act on. Pure, so each refusal is tested without
// a voice connection; anything not listed here is a bug or an outage, and is rethrown as it is.
import { VoiceNotReadyError } from '../recording/room-recorder.ts';
import { E2eeJoinError } from '../recording/voice-e2ee.ts';
import { DaveRequiredError } from '../recording/room-voice.ts';
import { GuildBusyError } from '../storage/store.ts';
import { UserFacingError } from './errors.ts';

/** The refusal to show the host for an error RoomRecorder.start threw, or undefined when it is not one. */
export function startRefusal(error: unknown, voiceChannelId: string): UserFacingError | undefined {
  if (error instanceof GuildBusyError) return new UserFacingError(`I'm already recording <#${error.active.channelId}> in this server.`);
  if (error instanceof VoiceNotReadyError) {
    return new UserFacingError(`I couldn't connect to <#${voiceChannelId}> in time. Please try \`/record start\` again.`);
  }
  // Its message is written for the host: why nothing is recorded (the room's encryption group) and what to do.
  if (error instanceof E2eeJoinError || error instanceof DaveRequiredError) return new UserFacingError(error.message);
  return undefined;
}
