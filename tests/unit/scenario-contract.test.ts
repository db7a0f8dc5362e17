// docs/scenario.md carries a verbatim copy of the team's scenario contract (../shared/scenario.md) after its
// preface: the two must say the same thing. Where the team's copy is not beside the repository, there is
// nothing to compare with and the check says it is skipped.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';

const ours = fileURLToPath(new URL('../../docs/scenario.md', import.meta.url));
const theirs = fileURLToPath(new URL('../../../shared/scenario.md', import.meta.url));

describe('the scenario contract in the repository', () => {
  test.skipIf(!existsSync(theirs))("is the team's contract, word for word, after its preface", () => {
    const text = readFileSync(ours, 'utf8');
    const marker = '\n---\n\n';
    expect(text.indexOf(marker)).toBeGreaterThan(0);
    expect(text.slice(text.indexOf(marker) + marker.length)).toBe(readFileSync(theirs, 'utf8'));
  });
});
