// The error router's own logic, with a stand-in interaction that records what was answered. Refusals reach
// the user verbatim and privately; other errors are logged in full and the user only hears that it failed.
import { MessageFlags, type ChatInputCommandInteraction, type Interaction } from 'discord.js';
import { describe, expect, test } from 'vitest';
import { pino } from 'pino';
import type { Command } from '../../src/bot/command.ts';
import { UserFacingError } from '../../src/bot/errors.ts';
import { createInteractionRouter, INTERNAL_ERROR_TEXT } from '../../src/bot/router.ts';
import type { BotServices } from '../../src/bot/services.ts';

type Sent = { via: 'reply' | 'followUp'; content: string; flags: number };

function interaction(state: { replied?: boolean; deferred?: boolean } = {}) {
  const sent: Sent[] = [];
  const record = (via: Sent['via']) => async (payload: { content: string; flags: number }) => {
    sent.push({ via, content: payload.content, flags: payload.flags });
  };
  const fake = {
    id: '1',
    commandName: 'test',
    guildId: '2',
    user: { id: '3' },
    replied: state.replied ?? false,
    deferred: state.deferred ?? false,
    isChatInputCommand: () => true,
    options: { getSubcommand: () => null, data: [] },
    reply: record('reply'),
    followUp: record('followUp'),
  };
  return { interaction: fake as unknown as Interaction & ChatInputCommandInteraction, sent };
}

function router(execute: Command['execute']) {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const command: Command = { data: { name: 'test', toJSON: () => ({ name: 'test', description: 'test' }) }, execute };
  const route = createInteractionRouter({ commands: [command], services: {} as BotServices, log });
  return { route, lines };
}

describe('interaction router', () => {
  test('a refusal is replied privately, word for word, and logged as a refusal', async () => {
    const { route, lines } = router(async () => {
      throw new UserFacingError('Join a voice channel first.');
    });
    const { interaction: i, sent } = interaction();
    await route(i);
    expect(sent).toEqual([{ via: 'reply', content: 'Join a voice channel first.', flags: MessageFlags.Ephemeral }]);
    expect(lines.some((l) => l.msg === 'command refused')).toBe(true);
  });

  test('an unexpected error is logged with its stack, and the user gets a generic private answer', async () => {
    const { route, lines } = router(async () => {
      throw new Error('database on fire');
    });
    const { interaction: i, sent } = interaction();
    await route(i);
    expect(sent).toEqual([{ via: 'reply', content: INTERNAL_ERROR_TEXT, flags: MessageFlags.Ephemeral }]);
    expect(sent[0]?.content).not.toContain('database');
    const logged = lines.find((l) => l.msg === 'command failed') as { err?: { message?: string; stack?: string } } | undefined;
    expect(logged?.err?.message).toBe('database on fire');
    expect(logged?.err?.stack).toContain('bot-router.test.ts');
  });

  test('after a reply or a deferral the answer is a follow-up', async () => {
    for (const state of [{ replied: true }, { deferred: true }]) {
      const { route } = router(async () => {
        throw new UserFacingError('no');
      });
      const { interaction: i, sent } = interaction(state);
      await route(i);
      expect(sent.map((s) => s.via)).toEqual(['followUp']);
    }
  });
});
