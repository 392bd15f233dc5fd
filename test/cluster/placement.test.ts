import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SHARD_COUNT,
  applyStep,
  confChangeOf,
  initialLayout,
  planLeaderTransfers,
  planMembership,
  splitSlots,
  targetMembership,
  type PlacementStep,
  type ShardMembership,
} from '../../src/cluster/placement.js';
import { enterJoint } from '../../src/raft/confchange/confchange.js';
import type { GroupId, NodeId } from '../../src/raft/types.js';
import { Prng } from '../sim/prng.js';

const range = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

function replicaCounts(shards: readonly ShardMembership[], nodes: readonly NodeId[]): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(nodes.map((n) => [n, 0]));
  for (const s of shards) for (const v of s.voters) counts.set(v, (counts.get(v) ?? 0) + 1);
  return counts;
}

function spread(counts: Map<NodeId, number>): number {
  const values = [...counts.values()];
  return Math.max(...values) - Math.min(...values);
}

function leaderCounts(leaders: ReadonlyMap<GroupId, NodeId>, nodes: readonly NodeId[]): Map<NodeId, number> {
  const counts = new Map<NodeId, number>(nodes.map((n) => [n, 0]));
  for (const l of leaders.values()) if (counts.has(l)) counts.set(l, counts.get(l)! + 1);
  return counts;
}

test('splitSlots splits the slot space as redis-cli --cluster create does', () => {
  assert.deepEqual(splitSlots(3), [
    { start: 0, end: 5460 },
    { start: 5461, end: 10922 },
    { start: 10923, end: 16383 },
  ]);
  assert.deepEqual(splitSlots(1), [{ start: 0, end: 16383 }]);
  const sixteen = splitSlots(DEFAULT_SHARD_COUNT);
  assert.equal(sixteen.length, 16);
  assert.ok(sixteen.every((r) => r.end - r.start + 1 === 1024));
});

test('initialLayout: contiguous cover, min(replicas, nodes) distinct voters, balanced replicas and leaders', () => {
  for (const shardCount of [1, 3, 16, 17]) {
    for (let nodeCount = 1; nodeCount <= 20; nodeCount++) {
      for (const replicas of [1, 2, 3, 5]) {
        const nodes = range(nodeCount, 10); // raft ids need not start at 1
        const layout = initialLayout(shardCount, nodes, replicas);
        const where = `S=${shardCount} N=${nodeCount} R=${replicas}`;
        assert.equal(layout.length, shardCount);
        let next = 0;
        for (const s of layout) {
          assert.equal(s.slots.start, next, where);
          next = s.slots.end + 1;
          assert.equal(s.voters.length, Math.min(replicas, nodeCount), where);
          assert.equal(new Set(s.voters).size, s.voters.length, `${where}: two replicas on one node`);
          assert.ok(s.voters.includes(s.leader), where);
        }
        assert.equal(next, 16384);
        const shards = layout.map((s, i) => ({ groupId: i + 1, voters: s.voters, learners: [] }));
        assert.ok(spread(replicaCounts(shards, nodes)) <= 1, `${where}: replicas unbalanced`);
        const leaders = new Map(layout.map((s, i) => [i + 1, s.leader]));
        assert.ok(spread(leaderCounts(leaders, nodes)) <= 1, `${where}: leaders unbalanced`);
        assert.deepEqual(initialLayout(shardCount, nodes, replicas), layout, `${where}: not deterministic`);
        assert.deepEqual(planMembership(shards, nodes, replicas), [], `${where}: the layout is not a fixed point`);
      }
    }
  }
});

function shardsOf(layout: ReturnType<typeof initialLayout>): ShardMembership[] {
  return layout.map((s, i) => ({ groupId: i + 1, voters: s.voters, learners: [] }));
}

/** Runs a whole plan, checking every step; returns the final memberships. */
function execute(shards: ShardMembership[], steps: readonly PlacementStep[], targetSize: number): ShardMembership[] {
  const byGroup = new Map(shards.map((s) => [s.groupId, s]));
  for (const step of steps) {
    const before = byGroup.get(step.groupId)!;
    const after = applyStep(before, step);
    checkStep(before, after, step, targetSize);
    byGroup.set(step.groupId, after);
  }
  return [...byGroup.values()];
}

function checkStep(before: ShardMembership, after: ShardMembership, step: PlacementStep, targetSize: number): void {
  const what = `${JSON.stringify(step)} on ${JSON.stringify(before)}`;
  const all = [...after.voters, ...after.learners];
  assert.equal(new Set(all).size, all.length, `${what}: two replicas of a shard on one node`);
  const old = new Set(before.voters);
  const kept = after.voters.filter((v) => old.has(v)).length;
  const majority = Math.floor(before.voters.length / 2) + 1;
  assert.ok(kept >= Math.min(majority, after.voters.length), `${what}: old quorum lost`);
  // Every new voter held the data already: it was a voter or a (caught-up) learner.
  for (const v of after.voters) assert.ok(old.has(v) || before.learners.includes(v), `${what}: voter added without catching up`);
  const changed = after.voters.filter((v) => !old.has(v)).length + before.voters.filter((v) => !after.voters.includes(v)).length;
  assert.ok(changed <= 2 && Math.abs(after.voters.length - before.voters.length) <= 1, `${what}: too big a change`);
  if (before.voters.length >= targetSize) assert.ok(after.voters.length >= targetSize, `${what}: shard shrank below target`);
}

test('a node joining a 3-node cluster takes a fair share through learner-then-replace steps', () => {
  const shards = shardsOf(initialLayout(16, [1, 2, 3], 3));
  const steps = planMembership(shards, [1, 2, 3, 4], 3);
  assert.deepEqual(
    steps.filter((s) => s.kind === 'add-learner').length,
    12,
    'a 4th node ends up with 16 * 3 / 4 = 12 replicas',
  );
  for (const s of steps) assert.ok(s.kind === 'add-learner' || s.kind === 'replace', s.kind);
  // In each shard the learner comes before the replace that promotes it.
  for (let i = 0; i < steps.length; i++) {
    const s = steps[i]!;
    if (s.kind === 'replace') assert.deepEqual(steps[i - 1], { kind: 'add-learner', groupId: s.groupId, nodeId: 4 });
  }
  const after = execute(shards, steps, 3);
  assert.deepEqual([...replicaCounts(after, [1, 2, 3, 4]).values()], [12, 12, 12, 12]);
  assert.deepEqual(planMembership(after, [1, 2, 3, 4], 3), []);
});

test('a draining node is emptied, and shards shrink only when too few nodes remain', () => {
  const shards = shardsOf(initialLayout(16, [1, 2, 3, 4], 3));
  const drained = execute(shards, planMembership(shards, [1, 2, 3], 3), 3);
  for (const s of drained) assert.deepEqual(s.voters, [1, 2, 3]);
  const shrunk = execute(drained, planMembership(drained, [1, 2], 3), 2);
  for (const s of shrunk) assert.deepEqual(s.voters, [1, 2]);
  const plan = planMembership(shrunk, [1], 3);
  assert.ok(plan.every((s) => s.kind === 'remove' && s.nodeId === 2));
  for (const s of execute(shrunk, plan, 1)) assert.deepEqual(s.voters, [1]);
});

test('growing the replicas setting adds learners and promotes them; stray learners are removed', () => {
  const shards: ShardMembership[] = [{ groupId: 5, voters: [1], learners: [3] }];
  const steps = planMembership(shards, [1, 2, 3], 3);
  assert.deepEqual(steps, [
    { kind: 'promote', groupId: 5, nodeId: 3 }, // the learner already catching up is used first
    { kind: 'add-learner', groupId: 5, nodeId: 2 },
    { kind: 'promote', groupId: 5, nodeId: 2 },
  ]);
  const stray = planMembership([{ groupId: 5, voters: [1], learners: [3] }], [1, 2, 3], 1);
  assert.deepEqual(stray, [{ kind: 'remove-learner', groupId: 5, nodeId: 3 }]);
});

test('with no eligible node at all, nothing is planned', () => {
  const shards: ShardMembership[] = [{ groupId: 1, voters: [1, 2], learners: [] }];
  assert.deepEqual(planMembership(shards, [], 3), []);
  assert.deepEqual(targetMembership(shards, [], 3).get(1), [1, 2]);
});

test('each step maps to the ConfChange the shard leader proposes; replace is joint with auto-leave', () => {
  const replace = confChangeOf({ kind: 'replace', groupId: 1, add: 4, remove: 2 });
  assert.deepEqual(enterJoint(replace), { joint: true, autoLeave: true });
  assert.deepEqual(replace.changes.map((c) => [c.type, c.nodeId]), [[0, 4], [1, 2]]);
  for (const step of [
    { kind: 'add-learner', groupId: 1, nodeId: 4 },
    { kind: 'promote', groupId: 1, nodeId: 4 },
    { kind: 'remove', groupId: 1, nodeId: 4 },
    { kind: 'remove-learner', groupId: 1, nodeId: 4 },
  ] as const) {
    const cc = confChangeOf(step);
    assert.equal(enterJoint(cc).joint, false, step.kind);
    assert.equal(cc.changes.length, 1);
    assert.equal(cc.changes[0]!.nodeId, 4);
  }
});

test('property: random join / drain / crash / resize sequences keep every invariant and converge', () => {
  for (let seed = 1; seed <= 60; seed++) {
    const rng = new Prng(seed);
    let replicas = rng.int(1, 5);
    let nextNode = 1;
    let eligible = range(rng.int(1, 6));
    nextNode = eligible.length + 1;
    let shards = shardsOf(initialLayout(rng.pick([4, 16, 7]), eligible, replicas));
    const leaders = new Map<GroupId, NodeId>(shards.map((s) => [s.groupId, s.voters[0]!]));
    for (let event = 0; event < 12; event++) {
      const r = rng.int(0, 9);
      if (r < 4 && eligible.length < 12) eligible = [...eligible, nextNode++];
      else if (r < 7 && eligible.length > 1) {
        const gone = rng.pick(eligible); // drained or crashed: either way it holds no replica in the end
        eligible = eligible.filter((n) => n !== gone);
      }
      else if (r < 8) replicas = rng.int(1, 5);
      // else: no change (the plan must then be empty or continue the previous one)
      const size = Math.min(replicas, eligible.length);
      const steps = planMembership(shards, eligible, replicas);
      assert.deepEqual(planMembership(shards, eligible, replicas), steps, `seed ${seed}: not deterministic`);
      // Sometimes run only a prefix of each shard's steps: the next event re-plans from mid-flight.
      const partial = rng.chance(0.4);
      const run = partial ? randomPrefixes(rng, steps) : steps;
      shards = execute(shards, run, size);
      if (partial) continue;
      for (const s of shards) {
        assert.equal(s.voters.length, size, `seed ${seed}: shard ${s.groupId} has ${s.voters.length} voters`);
        assert.ok(s.voters.every((v) => eligible.includes(v)), `seed ${seed}: replica left on a gone node`);
        assert.deepEqual(s.learners, []);
      }
      assert.ok(spread(replicaCounts(shards, eligible)) <= 1, `seed ${seed}: replicas unbalanced`);
      assert.deepEqual(planMembership(shards, eligible, replicas), [], `seed ${seed}: did not converge`);

      // Leaders: a removed leader's shard elects some remaining voter; then the balancer evens counts.
      for (const s of shards) if (!s.voters.includes(leaders.get(s.groupId)!)) leaders.set(s.groupId, rng.pick(s.voters));
      const transfers = planLeaderTransfers(shards, leaders, eligible);
      assert.deepEqual(planLeaderTransfers(shards, leaders, eligible), transfers);
      assert.equal(new Set(transfers.map((t) => t.groupId)).size, transfers.length, 'one transfer per shard');
      for (const t of transfers) {
        assert.equal(leaders.get(t.groupId), t.from);
        assert.ok(shards.find((s) => s.groupId === t.groupId)!.voters.includes(t.to), 'transfer to a non-voter');
        leaders.set(t.groupId, t.to);
      }
      assert.ok(spread(leaderCounts(leaders, eligible)) <= 1, `seed ${seed}: leaders unbalanced ${JSON.stringify([...leaderCounts(leaders, eligible)])}`);
      assert.deepEqual(planLeaderTransfers(shards, leaders, eligible), [], `seed ${seed}: leader plan did not converge`);
    }
  }
});

/** For each shard, a random-length prefix of its steps (a shard's steps depend on the earlier ones). */
function randomPrefixes(rng: Prng, steps: readonly PlacementStep[]): PlacementStep[] {
  const cut = new Map<GroupId, number>();
  const seen = new Map<GroupId, number>();
  return steps.filter((step) => {
    if (!cut.has(step.groupId)) cut.set(step.groupId, rng.int(0, 3));
    const n = seen.get(step.groupId) ?? 0;
    seen.set(step.groupId, n + 1);
    return n < cut.get(step.groupId)!;
  });
}

test('leader balancing moves leaders off ineligible nodes and ignores leaderless shards', () => {
  const shards: ShardMembership[] = [
    { groupId: 1, voters: [1, 2, 3], learners: [] },
    { groupId: 2, voters: [1, 2, 3], learners: [] },
    { groupId: 3, voters: [1, 2, 3], learners: [] },
    { groupId: 4, voters: [1, 2, 3], learners: [] },
  ];
  // Node 3 is draining; node 1 leads everything known; shard 4 has no known leader.
  const leaders = new Map<GroupId, NodeId>([
    [1, 3],
    [2, 1],
    [3, 1],
  ]);
  const transfers = planLeaderTransfers(shards, leaders, [1, 2]);
  assert.deepEqual(transfers, [{ groupId: 1, from: 3, to: 2 }]); // then 1 leads 2 and 2 leads 1: balanced
  // Without the draining node, node 1's surplus goes to node 2 as well.
  const busy = new Map<GroupId, NodeId>([[1, 1], [2, 1], [3, 1], [4, 1]]);
  const evened = planLeaderTransfers(shards, busy, [1, 2, 3]);
  for (const t of evened) busy.set(t.groupId, t.to);
  assert.ok(spread(leaderCounts(busy, [1, 2, 3])) <= 1);
  assert.equal(evened.length, 2, 'two of the four leaderships move');
});

test('leader balancing shifts along a chain when no direct transfer helps', () => {
  // Node 1 leads 3 shards it shares only with node 2, which leads 2 it shares with node 3, which leads 1:
  // counts 3, 2, 1. No direct transfer helps (2 would go to 1, 3); one chain 1 -> 2 -> 3 evens them out.
  const shards: ShardMembership[] = [
    { groupId: 1, voters: [1, 2], learners: [] },
    { groupId: 2, voters: [1, 2], learners: [] },
    { groupId: 3, voters: [1, 2], learners: [] },
    { groupId: 4, voters: [2, 3], learners: [] },
    { groupId: 5, voters: [2, 3], learners: [] },
    { groupId: 6, voters: [2, 3], learners: [] },
  ];
  const leaders = new Map<GroupId, NodeId>([[1, 1], [2, 1], [3, 1], [4, 2], [5, 2], [6, 3]]);
  const transfers = planLeaderTransfers(shards, leaders, [1, 2, 3]);
  assert.deepEqual(transfers, [
    { groupId: 1, from: 1, to: 2 },
    { groupId: 4, from: 2, to: 3 },
  ]);
});
