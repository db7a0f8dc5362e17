// The bot in a DAVE room as people see it: /record status shows the voice privacy code every Discord client in
// the call shows (so participants can check the bot is in their group), and a room whose encryption the bot
// cannot take part in is refused in plain words, never recorded as silence.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src/log.ts';
import { startBotInSim, type BotInSim } from '../../scripts/demo/bot-in-sim.ts';
import { closeBotInSim } from '../helpers/bot-env.ts';
import type { DiscordSimOptions, InteractionRecord } from '../../discord-sim/index.ts';
import { until } from '../helpers/until.ts';
import { answersTo } from '../helpers/interaction-answers.ts';

let dir: string | undefined;
let env: BotInSim | undefined;
afterEach(async () => {
  await closeBotInSim(env, dir);
  env = undefined;
  dir = undefined;
});

async function start(sim: DiscordSimOptions): Promise<BotInSim> {
  dir = await mkdtemp(path.join(tmpdir(), 'roomrec-e2e-e2ee-'));
  env = await startBotInSim({ dataDir: dir, log: silentLogger(), sim: { users: [{ username: 'hana', globalName: 'Hana' }], ...sim } });
  return env;
}

/** The bot's latest words in answer to an interaction that match. */
function answer(e: BotInSim, record: InteractionRecord, match: RegExp): Promise<string> {
  return until(
    () =>
      answersTo(e.sim, record)
        .filter((t) => match.test(t))
        .at(-1),
    `an answer to /${record.text} matching ${match}`,
    30_000,
  );
}

describe('end-to-end encryption, visible to people', () => {
  test("/record status shows the room is end-to-end encrypted and the same voice privacy code as the speakers' clients", async () => {
    const e = await start({});
    const hana = e.sim.userByName('hana').id;
    e.sim.joinVoice(hana);
    await answer(e, e.sim.slash(hana, 'record start'), /record|consent|react/i);
    await e.sim.dave.settled();
    const code = e.sim.dave.group()?.privacyCode() ?? '';
    expect(code).toMatch(/^\d{30}$/);
    const status = await answer(e, e.sim.slash(hana, 'record status'), /encrypted/);
    expect(status).toContain('End-to-end encrypted (DAVE v1)');
    expect(status.replace(/\s/g, '')).toContain(code);
  });

  test('a voice server that requires a DAVE version the bot lacks (4017) is refused in plain words after one attempt', async () => {
    const e = await start({ dave: { requiredVersion: 2 } });
    const hana = e.sim.userByName('hana').id;
    e.sim.joinVoice(hana);
    const reply = await answer(e, e.sim.slash(hana, 'record start'), /4017|end-to-end/);
    expect(reply).toMatch(/requires end-to-end encryption \(DAVE\)/);
    expect(e.sim.log.entries.filter((x) => x.kind === 'voice' && x.event === 'dave-required')).toHaveLength(1);
    expect(e.sim.consentMessage()).toBeNull();
    expect(e.sim.world.voiceStates.has(e.sim.botUserId)).toBe(false);
  });
});
