// Small renderers shared by replies, DMs and the consent message. Discord renders <t:…> in each reader's zone.
import { escapeMarkdown } from 'discord.js';
import { formatDuration, formatPrivacyCode } from '../text/format.ts';
import type { Note, Recording } from '../storage/schema.ts';

export function discordTime(ms: number, style: 'R' | 'D' | 'f' | 't' = 'f'): string {
  return `<t:${Math.floor(ms / 1000)}:${style}>`;
}

export function nameList(names: readonly string[], none = 'nobody yet', shown = names.length): string {
  if (names.length === 0) return none;
  const listed = names.slice(0, Math.max(1, shown)).map((n) => escapeMarkdown(n));
  const more = names.length - listed.length;
  return more > 0 ? `${listed.join(', ')} and ${more} more` : listed.join(', ');
}

/** A note as a chat line shows it: its time on the recording, its text cut at `clip` characters, who added it. */
function noteItem(note: Note, clip: number): string {
  const text = note.text.length > clip ? `${note.text.slice(0, clip - 1)}…` : note.text;
  return `\`${formatDuration(note.at)}\` ${escapeMarkdown(text)} (${escapeMarkdown(note.byName)})`;
}

/**
 * The latest `shown` notes on one line, for the consent message and `/record status`; undefined when there are
 * none. Cut short, so that a room full of long notes never takes a message past Discord's 2,000 characters.
 */
export function notesLine(notes: readonly Note[], shown: number, clip = 80): string | undefined {
  if (notes.length === 0) return undefined;
  const earlier = notes.length > shown ? ` (${notes.length - shown} earlier)` : '';
  return `🗒️ **Notes**${earlier}: ${notes
    .slice(-shown)
    .map((n) => noteItem(n, clip))
    .join(' · ')}`;
}

export function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * What `/record status` says about end-to-end encryption: with DAVE on, the voice privacy code, so everyone in
 * the call can check that the code their client shows is the one the bot has (the bot is in their group, not a
 * stranger in the middle); without it, plainly that the room is not end-to-end encrypted.
 */
export function e2eeStatusLine(e2ee: Recording['e2ee']): string {
  if (e2ee === undefined) return 'End-to-end encryption: not known (this recording began before the bot noted it).';
  if (e2ee === null) return "🔓 This room is not end-to-end encrypted (Discord's DAVE encryption is off for it).";
  const code = `voice privacy code: ${formatPrivacyCode(e2ee.privacyCode)}`;
  if (e2ee.plainFrom !== undefined) {
    return `🔓 Not end-to-end encrypted since ${discordTime(e2ee.plainFrom, 'R')} (before that DAVE v${e2ee.version} · ${code})`;
  }
  return `🔒 End-to-end encrypted (DAVE v${e2ee.version}) · ${code}`;
}
