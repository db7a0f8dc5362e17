// The consent message's second reaction: 📣, also OK to publish or reuse. What adding or removing ✅ or 📣 does,
// given whether the person is recorded and allows reuse now. Pure; room-session.ts applies it.
//
//   📣 added:   recorded → reuse on;  not recorded → recorded, reuse on (📣 implies ✅)
//   📣 removed: recorded → reuse off, still recorded
//   ✅ added:   not recorded → recorded for the host only
//   ✅ removed: withdrawn as before, and reuse with it
export const REUSE_EMOJI = '📣';

// Clients may add a variation selector (U+FE0F) to emoji; compare without it.
export function isReuseEmoji(name: string | null): boolean {
  return name !== null && name.replace(/\uFE0F/g, '') === REUSE_EMOJI;
}

export type ConsentReaction = { emoji: 'consent' | 'reuse'; added: boolean };

export type ReactionAction =
  { kind: 'grant'; reuse: boolean } | { kind: 'withdraw' } | { kind: 'reuse'; reuse: boolean } | { kind: 'none' };

export function reactionAction(reaction: ConsentReaction, now: { recorded: boolean; reuse: boolean }): ReactionAction {
  if (reaction.emoji === 'consent') {
    if (!reaction.added) return { kind: 'withdraw' };
    return now.recorded ? { kind: 'none' } : { kind: 'grant', reuse: false };
  }
  if (reaction.added) {
    if (!now.recorded) return { kind: 'grant', reuse: true };
    return now.reuse ? { kind: 'none' } : { kind: 'reuse', reuse: true };
  }
  return now.recorded && now.reuse ? { kind: 'reuse', reuse: false } : { kind: 'none' };
}
