// scripts/deploy-commands.ts against the local Discord stand-in: what it registers, and what a self-hoster
// reads when Discord says no.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { deployCommands, explainDeployError } from '../../scripts/deploy-commands.ts';
import { startDiscordSim, type DiscordSim } from '../../discord-sim/index.ts';

let sim: DiscordSim;
beforeAll(async () => {
  sim = await startDiscordSim();
}, 30_000);
afterAll(async () => sim?.close());

test('registers /record, /note and /recordings for one server', async () => {
  const target = { token: sim.token, clientId: sim.applicationId, guildId: sim.guildId, api: sim.restUrl };
  const result = await deployCommands(target);
  expect(result.names.sort()).toEqual(['note', 'record', 'recordings']);
  expect(result.scope).toContain(sim.guildId);
});

test('registers globally without a server id', async () => {
  const result = await deployCommands({ token: sim.token, clientId: sim.applicationId, api: sim.restUrl });
  expect(result.scope).toMatch(/global/);
});

test('a wrong token gets an explanation of where to find the right one', async () => {
  const target = { token: 'not-the-token', clientId: sim.applicationId, guildId: sim.guildId, api: sim.restUrl };
  const error = await deployCommands(target).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(explainDeployError(error, target)).toMatch(/rejected DISCORD_TOKEN/);
});
