// Seeded random runs of the core over an unreliable network (drops, partitions, compaction), checking
// election safety and state machine safety after every tick. Small and fast; the deep version is E's
// simulator in test/sim.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProposalDropped } from '../../src/raft/errors.js';
import { Network, seededRandom } from './harness.js';

function run(seed: number, ticks: number): { leaders: number; committed: number } {
  const rnd = seededRandom(seed);
  const ids = [1, 2, 3, 4, 5];
  const net = new Network(ids, { seed, maxInflightMsgs: 4, maxSizePerMsg: 64 });
  const leaderOfTerm = new Map<number, number>();
  let proposals = 0;
  let dropRate = 0;
  net.filter = () => rnd() >= dropRate;
  for (let t = 0; t < ticks; t++) {
    // Faults: change the drop rate, partition a node, heal.
    const r = rnd();
    if (r < 0.02) net.isolate(1 + Math.floor(rnd() * 5));
    else if (r < 0.04) {
      net.recover();
      net.filter = () => rnd() >= dropRate;
    } else if (r < 0.06) dropRate = rnd() * 0.3;
    // Workload: propose on a random node.
    if (rnd() < 0.5) {
      const id = ids[Math.floor(rnd() * 5)]!;
      try {
        net.node(id).raw.propose(new TextEncoder().encode(`s${seed}p${proposals++}`));
      } catch (err) {
        if (!isProposalDropped(err)) throw err;
      }
    }
    if (rnd() < 0.05) {
      const id = ids[Math.floor(rnd() * 5)]!;
      const n = net.node(id);
      if (n.appliedIndex > n.storage.firstIndex() + 5) net.compact(id, 2);
    }
    net.tick(1);
    // Election safety: one leader per term, ever.
    for (const id of ids) {
      const r = net.raft(id);
      if (r.role !== 'leader') continue;
      const prev = leaderOfTerm.get(r.term);
      assert.ok(prev === undefined || prev === id, `seed ${seed}: two leaders in term ${r.term}: ${prev} and ${id}`);
      leaderOfTerm.set(r.term, id);
    }
    // State machine safety: every node's applied sequence is a prefix of the longest one.
    const longest = ids.map((id) => net.node(id).applied).reduce((a, b) => (b.length > a.length ? b : a));
    for (const id of ids) {
      const mine = net.node(id).applied;
      assert.deepEqual(mine, longest.slice(0, mine.length), `seed ${seed}: node ${id} diverged`);
    }
  }
  // Liveness: heal everything; within bounded ticks a leader commits a final entry everywhere.
  net.recover();
  const converged = () => {
    const want = net.node(1).applied;
    return want.at(-1) === `s${seed}final` && ids.every((id) => net.node(id).applied.length === want.length);
  };
  let proposed = false;
  for (let t = 0; t < 200 && !converged(); t++) {
    const leader = net.leader();
    if (leader !== 0 && !proposed && net.raft(leader).raftLog.committed === net.raft(leader).raftLog.lastIndex()) {
      net.propose(leader, `s${seed}final`); // after the leader's own empty entry committed: cannot be lost
      proposed = true;
    }
    net.tick(1);
    if (t % 50 === 49) proposed = false; // the entry may have been lost with its leader: again
  }
  assert.ok(converged(), `seed ${seed}: did not converge`);
  const want = net.node(1).applied;
  return { leaders: leaderOfTerm.size, committed: want.length };
}

test('seeded random runs keep election and state machine safety, then converge', () => {
  let committed = 0;
  for (let seed = 1; seed <= 12; seed++) committed += run(seed, 250).committed;
  assert.ok(committed > 12 * 20, `progress was made (${committed} entries committed)`);
});
