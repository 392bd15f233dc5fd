// The deterministic simulation of Raft, on a fixed range of seeds (npm test). Each seed is one run with
// its own cluster size, Raft knobs and fault mix; see vopr.ts. `npm run sim -- --seeds N` runs more.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSeed } from './vopr.js';
import { Prng } from './prng.js';

const SEEDS_PER_BLOCK = 100;
const BLOCKS = 5;

for (let block = 0; block < BLOCKS; block++) {
  const first = 1 + block * SEEDS_PER_BLOCK;
  const last = first + SEEDS_PER_BLOCK - 1;
  test(`seeds ${first}..${last}: every checker passes`, () => {
    const failures: string[] = [];
    let linearizabilityChecked = 0;
    for (let seed = first; seed <= last; seed++) {
      const r = runSeed({ seed });
      if (r.linearizability === 'ok') linearizabilityChecked++;
      for (const v of r.violations) {
        failures.push(`FAIL seed=${seed}: ${v.checker}: ${v.detail.split('\n')[0]} (replay: npm run sim -- --seed ${seed})`);
      }
    }
    assert.deepEqual(failures, []);
    // The checker must conclude on most histories, or it proves nothing.
    assert.ok(linearizabilityChecked >= SEEDS_PER_BLOCK * 0.9, `only ${linearizabilityChecked} histories checked`);
  });
}

test('a seed replays exactly (same trace hash), and different seeds differ', () => {
  const a = runSeed({ seed: 4242 });
  const b = runSeed({ seed: 4242 });
  const c = runSeed({ seed: 4243 });
  assert.equal(a.summary, b.summary);
  assert.match(a.summary, /trace=[0-9a-f]+/);
  assert.notEqual(a.summary, c.summary);
});

test('prng: same seed same stream, forks independent, ranges respected', () => {
  const x = new Prng(99);
  const y = new Prng(99);
  const xs = Array.from({ length: 50 }, () => x.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 50 }, () => y.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 50 }, () => new Prng(100).nextUint32()));
  const r = new Prng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(3, 7);
    assert.ok(v >= 3 && v <= 7 && Number.isInteger(v));
    seen.add(v);
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
  }
  assert.equal(seen.size, 5);
  const fork1 = new Prng(5).fork();
  const fork2 = new Prng(6).fork();
  assert.notEqual(fork1.nextUint32(), fork2.nextUint32());
});
