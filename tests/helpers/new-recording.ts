import type { NewRecording } from '../../src/storage/store.ts';

/** A room as `store.createRecording` takes it, with plausible Discord ids. */
export function newRoom(startedAt: number, overrides: Partial<NewRecording> = {}): NewRecording {
  return {
    guildId: '100000000000000001',
    channelId: '200000000000000001',
    textChannelId: '300000000000000001',
    hostId: '400000000000000001',
    hostName: 'Host',
    startedAt,
    ...overrides,
  };
}
