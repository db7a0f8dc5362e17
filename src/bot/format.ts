// Small renderers shared by replies, DMs and the consent message. Discord renders <t:…> in each reader's zone.
import { escapeMarkdown } from 'discord.js';

export function discordTime(ms: number, style: 'R' | 'D' | 'f' | 't' = 'f'): string {
  return `<t:${Math.floor(ms / 1000)}:${style}>`;
}

export function nameList(names: readonly string[]): string {
  return names.length > 0 ? names.map((n) => escapeMarkdown(n)).join(', ') : 'nobody yet';
}

export function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}
