// The consent message: what it says, and which reactions count. Pure; room-session.ts posts and edits it.
//
// Consent-first rules encoded here: only a human who is in the recorded room can opt in; the bot's own
// reaction (added so people can click it) is never consent; any other emoji means nothing.
import { ActionRowBuilder, ButtonBuilder, ButtonStyle } from 'discord.js';
import { discordTime, nameList, notesLine, plural } from './format.ts';
import type { Note } from '../storage/schema.ts';
import { CONSENT_TEXTS } from '../recording/consent-choice.ts';
import { isReuseEmoji, REUSE_EMOJI } from './reuse-reactions.ts';

export const CONSENT_EMOJI = '✅';

/** The consent message's "Add a note" button (commands/note.ts answers it with a modal). */
export const NOTE_BUTTON_ID = 'roomrec:note';

/** The consent message's buttons: "Add a note" while the room records, none once it has ended. */
export function consentComponents(recording: boolean) {
  if (!recording) return [];
  const note = new ButtonBuilder().setCustomId(NOTE_BUTTON_ID).setLabel('Add a note').setEmoji('🗒️').setStyle(ButtonStyle.Secondary);
  return [new ActionRowBuilder<ButtonBuilder>().addComponents(note).toJSON()];
}

export type ConsentView = {
  hostId: string;
  retentionDays: number;
  /** Display names of the speakers currently being recorded, in the order they opted in. */
  recording: readonly string[];
  /** Those of them who allow reuse (📣), in the same order. */
  reusing?: readonly string[] | undefined;
  /** Notes added so far, oldest first (the latest few are shown). */
  notes?: readonly Note[] | undefined;
  /** Set once the recording has stopped. */
  ended?: { at: number; deletesAt: number } | undefined;
};

/** How many of the latest notes the consent message lists. */
const NOTES_SHOWN = 3;

/** Discord refuses a message longer than this, so an edit listing a big room would leave the message stale. */
const MESSAGE_LIMIT = 2000;

/**
 * The consent message's text. A room too big to name everyone in 2,000 characters names as many as fit (those who
 * opted in first) and counts the rest: the message must keep changing as people opt in or out.
 */
export function renderConsentMessage(view: ConsentView): string {
  const most = Math.max(view.recording.length, view.reusing?.length ?? 0);
  for (let shown = most; shown > 1; shown--) {
    const text = renderWith(view, shown);
    if (text.length <= MESSAGE_LIMIT) return text;
  }
  return renderWith(view, 1);
}

function renderWith(view: ConsentView, shown: number): string {
  const host = `<@${view.hostId}>`;
  const days = plural(view.retentionDays, 'day');
  if (view.ended) {
    return [
      `⏹️ **Recording ended** ${discordTime(view.ended.at, 'R')} (hosted by ${host}).`,
      `Nobody is being recorded any more. The recording went to ${host} only, and is deleted ${discordTime(view.ended.deletesAt, 'D')}.`,
    ].join('\n');
  }
  return [
    `🎙️ **${host} is recording this room.**`,
    `Only people who react with ${CONSENT_EMOJI} or ${REUSE_EMOJI} to this message are recorded, from the moment they react:`,
    `${CONSENT_EMOJI} ${CONSENT_TEXTS.hostOnly}`,
    `${REUSE_EMOJI} ${CONSENT_TEXTS.reuse}`,
    `Remove your ${CONSENT_EMOJI} to stop your recording at once (that takes back ${REUSE_EMOJI} too); remove ${REUSE_EMOJI} to keep being ` +
      `recorded for the host only. You can change your mind later: DM me \`reuse on <id>\` or \`reuse off <id>\`. If you don't react, none of your voice is stored.`,
    `The recording goes to ${host} by a private download link, and is deleted after ${days}.`,
    `**Being recorded:** ${nameList(view.recording, undefined, shown)}`,
    `**OK to publish or reuse (${REUSE_EMOJI}):** ${nameList(view.reusing ?? [], 'nobody', shown)}`,
    `Anyone being recorded, and the host, can mark a moment with \`/note <text>\` or the button below.`,
    notesLine(view.notes ?? [], NOTES_SHOWN),
  ]
    .filter((line) => line !== undefined)
    .join('\n');
}

export type ReactionFacts = {
  emoji: string | null;
  isBot: boolean;
  /** Whether the reacting user is in the recorded voice channel right now. */
  inRoom: boolean;
};

export type ReactionDecision = { counts: true } | { counts: false; why: 'other-emoji' | 'bot' | 'not-in-room' };

export function judgeReaction(facts: ReactionFacts): ReactionDecision {
  if (!isConsentEmoji(facts.emoji) && !isReuseEmoji(facts.emoji)) return { counts: false, why: 'other-emoji' };
  if (facts.isBot) return { counts: false, why: 'bot' };
  if (!facts.inRoom) return { counts: false, why: 'not-in-room' };
  return { counts: true };
}

// Clients may add a variation selector (U+FE0F) to emoji; compare without it.
export function isConsentEmoji(name: string | null): boolean {
  return name !== null && name.replace(/\uFE0F/g, '') === CONSENT_EMOJI;
}
