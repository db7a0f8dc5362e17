// What a recording stores about Discord's end-to-end voice encryption (schema.ts RecordingE2ee), folded from
// what the voice connection says (voice-e2ee.ts) at the start, at each group transition and at a resume. Pure,
// so the rules are tested without a DAVE session:
//  - Stored `null` (plain when it started) stays null: the recording was never entirely end-to-end encrypted.
//  - A transition, or a resume on a new connection, appends the new voice privacy code (the one every client
//    shows at that moment), so the receipt can list each code people may have compared.
//  - The room leaving DAVE (a downgrade) is kept as `plainFrom`, the first moment it was not encrypted, rather
//    than by forgetting the codes: the receipt then says "until …", which is what happened.
import type { Recording, RecordingE2ee } from '../storage/schema.ts';
import type { E2eeState } from './voice-e2ee.ts';

export type StoredE2ee = Recording['e2ee'];

/** At the start, once the bot is in the group (waitForE2eeGroup): null when the room is not end-to-end encrypted. */
export function e2eeAtStart(state: E2eeState | null): RecordingE2ee | null {
  if (state === null) return null;
  return {
    protocol: 'dave',
    version: state.version,
    privacyCode: state.privacyCode,
    privacyCodes: state.privacyCode === '' ? [] : [state.privacyCode],
    transitions: 0,
  };
}

/**
 * Folds what the connection says now into the stored value. `transition`: this is a 'transitioned' event (it is
 * counted); otherwise a check (after a resume, or when the room attaches to its connection). `at`: epoch ms now.
 */
export function observeE2ee(stored: StoredE2ee, now: E2eeState | null, opts: { at: number; transition: boolean }): StoredE2ee {
  // null stays null (see above); undefined (recorded before this was noted) stays unknown.
  if (!stored) return stored;
  const transitions = stored.transitions + (opts.transition ? 1 : 0);
  if (now === null) return { ...stored, transitions, plainFrom: stored.plainFrom ?? opts.at };
  const code = now.privacyCode;
  // '' while the bot is between groups (re-joining after a reconnect): keep the last code it had.
  const changed = code !== '' && code !== stored.privacyCode;
  return {
    ...stored,
    version: now.version,
    transitions,
    ...(changed ? { privacyCode: code, privacyCodes: [...stored.privacyCodes, code] } : {}),
  };
}

/** The result.json `e2ee` of the scenario contract: undefined when unknown. */
export function e2eeSummary(
  stored: StoredE2ee,
): { protocol: 'dave'; version: number; privacyCode: string; transitions: number } | null | undefined {
  if (!stored) return stored;
  return { protocol: stored.protocol, version: stored.version, privacyCode: stored.privacyCode, transitions: stored.transitions };
}
