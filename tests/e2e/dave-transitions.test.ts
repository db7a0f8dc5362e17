import { describe, expect, test } from 'vitest';
import { churnRoom } from '../helpers/dave-churn.ts';

describe('DAVE transitions while people talk', () => {
  test("people joining and leaving (one MLS transition each) lose none of the talkers' frames, and every frame is accounted for", async () => {
    const result = await churnRoom({ talkers: 2, churners: 2, dwellMs: 400 });
    // 2 joins + 2 leaves, each executed while both talkers were sending.
    expect(result.transitions.length).toBeGreaterThanOrEqual(4);
    for (const t of result.transitions) {
      expect(t.sent).toBeGreaterThan(0);
      expect({ epoch: t.epoch, received: t.received }).toEqual({ epoch: t.epoch, received: t.sent });
    }
    expect(result.received).toBe(result.sent);
    expect(result.stats.undecryptable).toBe(0);
    expect(result.stats.arrivalOnly).toBe(0);
    expect(result.privacyCodeMatches).toBe(true);
  });
});
