import { describe, expect, test } from 'vitest';
import { RecordingSchema, STOP_REASONS } from '../../src/storage/schema.ts';

const stored = (stopReason: unknown) => ({
  id: 'k3j5x2abcd',
  guildId: '1',
  channelId: '2',
  textChannelId: '2',
  hostId: '3',
  hostName: 'Host',
  startedAt: 1_000,
  stoppedAt: 2_000,
  state: 'ready',
  stopReason,
  speakers: [],
});

describe('the stored stop reason is one of the reasons the code knows', () => {
  test.each(STOP_REASONS)('%s is read back as it is', (reason) => {
    expect(RecordingSchema.parse(stored(reason)).stopReason).toBe(reason);
  });

  test('one this version does not know (a newer bot wrote it) reads as absent, and the record is not damaged', () => {
    const parsed = RecordingSchema.safeParse(stored('from-a-newer-version'));
    expect(parsed.success).toBe(true);
    expect(parsed.data?.stopReason).toBeUndefined();
  });
});
