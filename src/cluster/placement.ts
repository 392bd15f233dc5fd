// Placement: the pure plans the metadata leader runs. Where each shard's replicas live (the initial
// layout, and the moves when nodes join, drain or leave), and which leaderships to transfer so that every
// node leads about as many shards as the others. Same input, same plan: every tie is broken by id.
//
// A plan is a list of small steps. Steps of one shard are executed in order, one membership change at a
// time (each waits until the previous one is committed by that shard's group); shards proceed
// independently. A replica moves as: add a learner (it catches up through a snapshot), then one joint
// change that promotes it and removes the old member. The leader re-plans from the applied metadata
// after each step, so a plan interrupted by a join or a leave is simply replaced by a new one.

import { assert } from '../assert.js';
import { ConfChangeType, type ConfChange, type GroupId, type NodeId } from '../raft/types.js';
import { SLOT_COUNT } from './slot.js';
import type { SlotRange } from './view.js';

/**
 * 16 shards by default. Shards are the unit of leadership, so a cluster can only spread its write load
 * over as many nodes as it has shards: 16 lets every node of a cluster of up to 16 nodes lead at least one
 * shard, and keeps the leaders balanced within one shard per node at the usual sizes (3, 4, 8, 16 nodes
 * lead 5-6, 4, 2, 1 shards each). More groups would cost heartbeats, snapshots and log writes per node
 * for nothing on small clusters; 1024 slots per shard still keeps slot migration fine-grained.
 */
export const DEFAULT_SHARD_COUNT = 16;

/** The part of a shard placement looks at. */
export interface ShardMembership {
  readonly groupId: GroupId;
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type PlacementStep =
  /** Start a new replica as a learner: it receives a snapshot and catches up without voting. */
  | { readonly kind: 'add-learner'; readonly groupId: GroupId; readonly nodeId: NodeId }
  /** Make a caught-up learner a voter (the shard grows by one). */
  | { readonly kind: 'promote'; readonly groupId: GroupId; readonly nodeId: NodeId }
  /** One joint change: the caught-up learner `add` becomes a voter and the voter `remove` leaves. */
  | { readonly kind: 'replace'; readonly groupId: GroupId; readonly add: NodeId; readonly remove: NodeId }
  /** A voter leaves (the shard shrinks by one). */
  | { readonly kind: 'remove'; readonly groupId: GroupId; readonly nodeId: NodeId }
  /** A learner that is no longer wanted leaves. */
  | { readonly kind: 'remove-learner'; readonly groupId: GroupId; readonly nodeId: NodeId };

export interface LeaderTransfer {
  readonly groupId: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
}

export interface InitialShard {
  readonly slots: SlotRange;
  /** Ascending. */
  readonly voters: readonly NodeId[];
  /** The voter that should lead it (leaderships balanced across nodes). */
  readonly leader: NodeId;
}

/**
 * The first layout: `shardCount` contiguous slot ranges (split as redis-cli --cluster create splits them),
 * each on min(replicas, nodes) distinct nodes with balanced replica and leader counts.
 */
export function initialLayout(shardCount: number, nodes: readonly NodeId[], replicas: number): InitialShard[] {
  assert(Number.isSafeInteger(shardCount) && shardCount >= 1 && shardCount <= SLOT_COUNT, 'bad shard count');
  assert(nodes.length > 0 && replicas >= 1, 'a layout needs nodes and at least one replica');
  const ranges = splitSlots(shardCount);
  const empty: ShardMembership[] = ranges.map((_, i) => ({ groupId: i + 1, voters: [], learners: [] }));
  const target = targetMembership(empty, nodes, replicas);
  const shards = empty.map((s) => ({ ...s, voters: target.get(s.groupId)! }));
  // Greedy first guess (fewest leaderships so far), then the balancer evens it out.
  const led = new Map<NodeId, number>(nodes.map((n) => [n, 0]));
  const leaders = new Map<GroupId, NodeId>();
  for (const s of shards) {
    const leader = minBy(s.voters, (n) => led.get(n)!);
    leaders.set(s.groupId, leader);
    led.set(leader, led.get(leader)! + 1);
  }
  for (const t of planLeaderTransfers(shards, leaders, nodes)) leaders.set(t.groupId, t.to);
  return shards.map((s, i) => ({ slots: ranges[i]!, voters: s.voters, leader: leaders.get(s.groupId)! }));
}

/** redis-cli's split of the slot space into n contiguous ranges (3 gives 0-5460, 5461-10922, 10923-16383). */
export function splitSlots(n: number): SlotRange[] {
  const perShard = SLOT_COUNT / n;
  const ranges: SlotRange[] = [];
  let cursor = 0;
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = i === n - 1 ? SLOT_COUNT - 1 : Math.round(cursor + perShard - 1);
    ranges.push({ start, end });
    start = end + 1;
    cursor += perShard;
  }
  return ranges;
}

/**
 * Where every shard's voters should be: min(replicas, eligible) distinct eligible nodes per shard, each
 * node holding as many replicas as the others within one, moving as few replicas as this greedy can.
 * `eligible` are the nodes that may hold replicas (joined, not draining, not given up as dead).
 */
export function targetMembership(
  shards: readonly ShardMembership[],
  eligible: readonly NodeId[],
  replicas: number,
): Map<GroupId, NodeId[]> {
  const target = new Map<GroupId, Set<NodeId>>();
  if (eligible.length === 0) {
    for (const s of shards) target.set(s.groupId, new Set(s.voters)); // nowhere to go: leave things be
    return sortedTarget(target);
  }
  const size = Math.min(replicas, eligible.length);
  const allowed = new Set(eligible);
  const load = new Map<NodeId, number>(eligible.map((n) => [n, 0]));
  const ordered = [...shards].sort((a, b) => a.groupId - b.groupId);
  for (const s of ordered) {
    const kept = new Set(s.voters.filter((n) => allowed.has(n)));
    target.set(s.groupId, kept);
    for (const n of kept) load.set(n, load.get(n)! + 1);
  }
  const nodeOrder = [...allowed].sort((a, b) => a - b);
  // Trim oversized shards: drop the most loaded members first.
  for (const s of ordered) {
    const members = target.get(s.groupId)!;
    while (members.size > size) {
      const drop = maxBy([...members].sort((a, b) => a - b), (n) => load.get(n)!);
      members.delete(drop);
      load.set(drop, load.get(drop)! - 1);
    }
  }
  // Fill undersized shards with the least loaded nodes; among equals, a learner already catching up.
  for (const s of ordered) {
    const members = target.get(s.groupId)!;
    const learners = new Set(s.learners);
    while (members.size < size) {
      const candidates = nodeOrder.filter((n) => !members.has(n));
      const add = minBy(candidates, (n) => load.get(n)! * 2 + (learners.has(n) ? 0 : 1));
      members.add(add);
      load.set(add, load.get(add)! + 1);
    }
  }
  // Even out replica counts: move one replica from the most to the least loaded node until within one.
  // Always possible: the busier node is in some shard the idler one is not in. Each move lowers the sum
  // of squared loads, so the loop ends; the bound is a safety net.
  for (let moves = 0; ; moves++) {
    assert(moves <= shards.length * size * eligible.length + 1, 'replica balancing did not converge');
    const busiest = maxBy(nodeOrder, (n) => load.get(n)!);
    const idlest = minBy(nodeOrder, (n) => load.get(n)!);
    if (load.get(busiest)! - load.get(idlest)! <= 1) break;
    const movable = ordered.filter((s) => target.get(s.groupId)!.has(busiest) && !target.get(s.groupId)!.has(idlest));
    const from = movable.find((s) => s.learners.includes(idlest)) ?? movable[0]!; // a learner there saves a snapshot
    const members = target.get(from.groupId)!;
    members.delete(busiest);
    members.add(idlest);
    load.set(busiest, load.get(busiest)! - 1);
    load.set(idlest, load.get(idlest)! + 1);
  }
  return sortedTarget(target);
}

function sortedTarget(target: Map<GroupId, Set<NodeId>>): Map<GroupId, NodeId[]> {
  return new Map([...target].map(([g, members]) => [g, [...members].sort((a, b) => a - b)]));
}

/**
 * The membership steps that take every shard from its current voters to targetMembership's. A voter
 * is removed only when replaced or when the shard must shrink, never before its replacement has caught
 * up, and each step changes one voter (or swaps one through joint consensus), so the voters that stay
 * are a quorum of the old configuration, or all of the new one when it is smaller than that quorum.
 * A one- or two-voter shard cannot swap and keep such a quorum, so it grows first and shrinks after.
 */
export function planMembership(
  shards: readonly ShardMembership[],
  eligible: readonly NodeId[],
  replicas: number,
): PlacementStep[] {
  const target = targetMembership(shards, eligible, replicas);
  const allowed = new Set(eligible);
  const steps: PlacementStep[] = [];
  for (const s of [...shards].sort((a, b) => a.groupId - b.groupId)) {
    const want = target.get(s.groupId)!;
    const groupId = s.groupId;
    // Learners already catching up are used first; then by id.
    const adds = want
      .filter((n) => !s.voters.includes(n))
      .sort((a, b) => Number(s.learners.includes(b)) - Number(s.learners.includes(a)) || a - b);
    // Members on nodes that are leaving go first; then by id.
    const removes = s.voters
      .filter((n) => !want.includes(n))
      .sort((a, b) => Number(allowed.has(a)) - Number(allowed.has(b)) || a - b);
    for (const n of s.learners) if (!adds.includes(n)) steps.push({ kind: 'remove-learner', groupId, nodeId: n });
    const learn = (n: NodeId) => {
      if (!s.learners.includes(n)) steps.push({ kind: 'add-learner', groupId, nodeId: n });
    };
    // Grow first, so that the swaps below happen in the larger group.
    const swaps = Math.min(adds.length, removes.length);
    let voters = s.voters.length;
    for (const add of adds.slice(swaps)) {
      learn(add);
      steps.push({ kind: 'promote', groupId, nodeId: add });
      voters++;
    }
    adds.slice(0, swaps).forEach((add, i) => {
      const remove = removes[i]!;
      learn(add);
      if (voters >= 3) {
        steps.push({ kind: 'replace', groupId, add, remove });
      } else {
        // A swap in a one- or two-voter shard would keep no majority of the old voters: grow, then shrink.
        steps.push({ kind: 'promote', groupId, nodeId: add }, { kind: 'remove', groupId, nodeId: remove });
      }
    });
    for (const remove of removes.slice(swaps)) steps.push({ kind: 'remove', groupId, nodeId: remove });
  }
  return steps;
}

/** The membership after a step is committed (what the shard's group then reports to the metadata). */
export function applyStep(shard: ShardMembership, step: PlacementStep): ShardMembership {
  assert(step.groupId === shard.groupId, 'step for another shard');
  const voters = new Set(shard.voters);
  const learners = new Set(shard.learners);
  switch (step.kind) {
    case 'add-learner':
      assert(!voters.has(step.nodeId) && !learners.has(step.nodeId), 'already a member');
      learners.add(step.nodeId);
      break;
    case 'promote':
      assert(learners.delete(step.nodeId), 'promote of a non-learner');
      voters.add(step.nodeId);
      break;
    case 'replace':
      assert(learners.delete(step.add) && voters.delete(step.remove), 'replace of non-members');
      voters.add(step.add);
      break;
    case 'remove':
      assert(voters.delete(step.nodeId) && voters.size > 0, 'remove of a non-voter or the last voter');
      break;
    case 'remove-learner':
      assert(learners.delete(step.nodeId), 'remove of a non-learner');
      break;
  }
  const sorted = (set: Set<NodeId>) => [...set].sort((a, b) => a - b);
  return { groupId: shard.groupId, voters: sorted(voters), learners: sorted(learners) };
}

/** The ConfChange a shard's leader proposes for a step ('replace' goes through joint consensus, auto-left). */
export function confChangeOf(step: PlacementStep): ConfChange {
  switch (step.kind) {
    case 'add-learner':
      return { changes: [{ type: ConfChangeType.AddLearner, nodeId: step.nodeId }], transition: 'auto' };
    case 'promote':
      return { changes: [{ type: ConfChangeType.AddNode, nodeId: step.nodeId }], transition: 'auto' };
    case 'replace':
      return {
        changes: [
          { type: ConfChangeType.AddNode, nodeId: step.add },
          { type: ConfChangeType.RemoveNode, nodeId: step.remove },
        ],
        transition: 'joint-implicit',
      };
    case 'remove':
    case 'remove-learner':
      return { changes: [{ type: ConfChangeType.RemoveNode, nodeId: step.nodeId }], transition: 'auto' };
  }
}

/**
 * Leadership transfers that even out how many shards each eligible node leads (within one wherever the
 * memberships allow it). Leaders on ineligible nodes (draining) are moved first. Then, while some node
 * leads at least two more shards than a node it can reach, shift one leadership along a chain
 * (A leads a shard B is a voter of, B leads one C is a voter of, ...), which changes only the two ends'
 * counts. Shards without a known leader are left alone. Returns at most one transfer per shard.
 */
export function planLeaderTransfers(
  shards: readonly ShardMembership[],
  leaders: ReadonlyMap<GroupId, NodeId>,
  eligible: readonly NodeId[],
): LeaderTransfer[] {
  const nodeOrder = [...new Set(eligible)].sort((a, b) => a - b);
  const allowed = new Set(nodeOrder);
  const ordered = [...shards].sort((a, b) => a.groupId - b.groupId);
  const leader = new Map<GroupId, NodeId>();
  const count = new Map<NodeId, number>(nodeOrder.map((n) => [n, 0]));
  const bump = (n: NodeId, by: number) => count.set(n, count.get(n)! + by);
  for (const s of ordered) {
    const current = leaders.get(s.groupId);
    if (current === undefined) continue;
    leader.set(s.groupId, current);
    if (allowed.has(current)) bump(current, 1);
  }
  for (const s of ordered) {
    const current = leader.get(s.groupId);
    if (current === undefined || allowed.has(current)) continue;
    const to = s.voters.filter((n) => allowed.has(n));
    if (to.length === 0) continue;
    const pick = minBy(to, (n) => count.get(n)!);
    leader.set(s.groupId, pick);
    bump(pick, 1);
  }
  // Each chain shift lowers the sum of squared counts by at least 2, so this ends.
  for (let shifts = 0; ; shifts++) {
    assert(shifts <= shards.length * shards.length + 1, 'leader balancing did not converge');
    const chain = findShiftChain(ordered, leader, count, nodeOrder, allowed);
    if (chain === null) break;
    for (const { groupId, to } of chain) leader.set(groupId, to);
    bump(chain[0]!.from, -1); // the middle nodes lose one leadership and gain one
    bump(chain[chain.length - 1]!.to, 1);
  }
  const transfers: LeaderTransfer[] = [];
  for (const s of ordered) {
    const before = leaders.get(s.groupId);
    const after = leader.get(s.groupId);
    if (before !== undefined && after !== undefined && before !== after) {
      transfers.push({ groupId: s.groupId, from: before, to: after });
    }
  }
  return transfers;
}

interface ChainLink {
  readonly groupId: GroupId;
  readonly from: NodeId;
  readonly to: NodeId;
}

/**
 * Breadth-first from the busiest nodes: a chain of leaderships from a node to the least busy node it
 * reaches, if that one leads at least two fewer shards (the nearest among equals), or null when none.
 */
function findShiftChain(
  shards: readonly ShardMembership[],
  leader: ReadonlyMap<GroupId, NodeId>,
  count: ReadonlyMap<NodeId, number>,
  nodeOrder: readonly NodeId[],
  allowed: ReadonlySet<NodeId>,
): ChainLink[] | null {
  const sources = [...nodeOrder].sort((a, b) => count.get(b)! - count.get(a)! || a - b);
  for (const source of sources) {
    const via = new Map<NodeId, ChainLink | null>([[source, null]]);
    const queue: NodeId[] = [source];
    let best: NodeId | null = null;
    for (let head = 0; head < queue.length; head++) {
      const at = queue[head]!;
      for (const s of shards) {
        if (leader.get(s.groupId) !== at) continue;
        for (const next of s.voters) {
          if (!allowed.has(next) || via.has(next)) continue;
          via.set(next, { groupId: s.groupId, from: at, to: next });
          queue.push(next);
          const lighter = count.get(next)! <= count.get(source)! - 2;
          if (lighter && (best === null || count.get(next)! < count.get(best)!)) best = next;
        }
      }
    }
    if (best === null) continue;
    const chain: ChainLink[] = [];
    for (let link = via.get(best); link; link = via.get(link.from)) chain.unshift(link);
    return chain;
  }
  return null;
}

function minBy<T>(items: readonly T[], key: (item: T) => number): T {
  assert(items.length > 0, 'minBy of nothing');
  let best: T = items[0]!;
  for (const item of items) if (key(item) < key(best)) best = item;
  return best;
}

function maxBy<T>(items: readonly T[], key: (item: T) => number): T {
  assert(items.length > 0, 'maxBy of nothing');
  let best: T = items[0]!;
  for (const item of items) if (key(item) > key(best)) best = item;
  return best;
}
