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

/** mulberry32: a tiny seeded PRNG so every simulated fault is reproducible from the scenario's seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
