import { ApplicationCommandOptionType } from 'discord.js';
import { describe, expect, test } from 'vitest';
import { commands } from '../../commands/index.ts';

const json = Object.fromEntries(commands.map((c) => [c.data.name, c.data.toJSON()]));
const subcommands = (name: string) =>
  (json[name]?.options ?? []).map((o) => ({
    name: o.name,
    type: o.type,
    options: ('options' in o ? (o.options ?? []) : []).map((x) => ({ name: x.name, required: x.required ?? false })),
  }));

describe('slash command definitions', () => {
  test('/record has start, stop and status, and only works in servers', () => {
    expect(subcommands('record')).toEqual([
      { name: 'start', type: ApplicationCommandOptionType.Subcommand, options: [] },
      { name: 'stop', type: ApplicationCommandOptionType.Subcommand, options: [] },
      { name: 'status', type: ApplicationCommandOptionType.Subcommand, options: [] },
    ]);
    expect(json.record?.contexts).toEqual([0]);
  });

  test('/recordings has list, mine, download <id> and delete <id>', () => {
    expect(subcommands('recordings')).toEqual([
      { name: 'list', type: ApplicationCommandOptionType.Subcommand, options: [] },
      { name: 'mine', type: ApplicationCommandOptionType.Subcommand, options: [] },
      { name: 'download', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'id', required: true }] },
      { name: 'delete', type: ApplicationCommandOptionType.Subcommand, options: [{ name: 'id', required: true }] },
    ]);
  });

  test('names are unique and every command has a handler', () => {
    expect(new Set(commands.map((c) => c.data.name)).size).toBe(commands.length);
    for (const command of commands) expect(typeof command.execute).toBe('function');
  });
});
