// Before trusting the checkers: each one must catch a deliberately planted bug within a few seeds,
// and the same seed without the bug must pass (so it is the bug that was caught, not noise).
// The bugs are planted from outside the Raft core (harness options; see PlantedBug in cluster.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckerName, PlantedBug } from './cluster.js';
import { runSeed } from './vopr.js';

const cases: { checker: CheckerName; bug: PlantedBug; maxSeeds: number }[] = [
  { checker: 'election-safety', bug: 'count-stale-votes', maxSeeds: 200 },
  { checker: 'log-matching', bug: 'corrupt-entry', maxSeeds: 30 },
  { checker: 'leader-completeness', bug: 'lose-synced-entries', maxSeeds: 100 },
  { checker: 'state-machine-safety', bug: 'apply-twice', maxSeeds: 10 },
  { checker: 'committed-not-lost', bug: 'corrupt-entry', maxSeeds: 60 },
  { checker: 'linearizability', bug: 'stale-read', maxSeeds: 60 },
  // The core's own assertions catch acknowledgements sent before the write is durable.
  { checker: 'core-error', bug: 'ack-before-durable', maxSeeds: 100 },
];

for (const { checker, bug, maxSeeds } of cases) {
  test(`${checker} catches the planted bug ${bug}`, () => {
    let caught: { seed: number; detail: string } | null = null;
    for (let seed = 1; seed <= maxSeeds && caught === null; seed++) {
      const v = runSeed({ seed, bugs: [bug] }).violations.find((x) => x.checker === checker);
      if (v) caught = { seed, detail: v.detail };
    }
    assert.ok(caught, `${checker} did not catch ${bug} in ${maxSeeds} seeds`);
    const clean = runSeed({ seed: caught.seed });
    assert.deepEqual(clean.violations, [], `seed ${caught.seed} fails even without the bug`);
  });
}
