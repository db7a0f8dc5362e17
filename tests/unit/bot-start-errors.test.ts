import { describe, expect, test } from 'vitest';
import { UserFacingError } from '../../src/bot/errors.ts';
import { startRefusal } from '../../src/bot/start-errors.ts';
import { VoiceNotReadyError } from '../../src/recording/room-recorder.ts';
import { E2eeJoinError } from '../../src/recording/voice-e2ee.ts';
import { GuildBusyError, type Recording } from '../../src/storage/store.ts';

describe('what the host is told when /record start cannot begin', () => {
  test('the encryption group could not be joined: its own explanation, shown to the host', () => {
    const error = new E2eeJoinError(20_000);
    const refusal = startRefusal(error, '42');
    expect(refusal).toBeInstanceOf(UserFacingError);
    expect(refusal?.message).toBe(error.message);
    expect(refusal?.message).toMatch(/end to end \(DAVE\).*I am not recording/);
  });

  test('voice not ready, or another recording: as before', () => {
    expect(startRefusal(new VoiceNotReadyError(20_000), '42')?.message).toBe(
      "I couldn't connect to <#42> in time. Please try `/record start` again.",
    );
    const busy = new GuildBusyError({ guildId: '1', channelId: '7', id: 'x' } as Recording);
    expect(startRefusal(busy, '42')?.message).toBe("I'm already recording <#7> in this server.");
  });

  test('anything else is not a refusal: it is rethrown as it is', () => {
    expect(startRefusal(new Error('disk full'), '42')).toBeUndefined();
  });
});
