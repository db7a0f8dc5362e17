/**
 * Discord snowflakes (https://discord.com/developers/docs/reference#snowflakes):
 *
 *   63                                   22 21   17 16   12 11          0
 *  +---------------------------------------+-------+-------+-------------+
 *  | ms since Discord epoch (2015-01-01)   | worker| process| increment  |
 *  +---------------------------------------+-------+-------+-------------+
 *
 * Real ids (not counters) so that discord.js's timestamp getters and sorting behave as in production.
 */
const DISCORD_EPOCH = 1_420_070_400_000n;

export type SnowflakeFactory = () => string;

export function createSnowflakeFactory(now: () => number = Date.now): SnowflakeFactory {
  let lastMs = 0n;
  let increment = 0n;
  return () => {
    const ms = BigInt(Math.floor(now()));
    if (ms === lastMs) increment = (increment + 1n) & 0xfffn;
    else {
      lastMs = ms;
      increment = 0n;
    }
    return (((ms - DISCORD_EPOCH) << 22n) | (1n << 17n) | increment).toString();
  };
}

export { mulberry32 } from './prng.ts';
