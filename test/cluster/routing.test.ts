// The routing decision against Redis 7.0's behaviour matrix (reference §3.2, §3.3; captures mig3_src,
// mig3_dst, mig4, replica_readonly): slot 3300 (key `b`) moving from shard A (leader 7100) to B (7101).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, type ClusterShard, type ClusterViewData } from '../../src/cluster/view.js';
import { route, routeError, type RouteRequest } from '../../src/cluster/routing.js';
import { keySlot } from '../../src/cluster/slot.js';

const N7100 = 'b648789da9c7dc6850a82c1dbe36e46ca81e260d';
const N7101 = '60030672a69c3fbc803c463ca0dbb39335eefb15';
const N7103 = '0f9ec95e0be96c54dee392a00442533ffe67803a';
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function topology(myId: string, migrating: boolean, extra: Partial<ClusterViewData> = {}): ClusterView {
  return new ClusterView({
    myId,
    nodes: [
      { id: N7100, ip: '127.0.0.1', port: 7100, busPort: 7150 },
      { id: N7101, ip: '127.0.0.1', port: 7101, busPort: 7151 },
      { id: N7103, ip: '127.0.0.1', port: 7103, busPort: 7153 },
    ],
    shards: [
      // 0..12000 except 10000..10099 (left unassigned); B owns the rest.
      { id: A, slots: [{ start: 0, end: 9999 }, { start: 10100, end: 12000 }], leaderId: N7100, replicas: [{ nodeId: N7103, caughtUp: true }] },
      { id: B, slots: [{ start: 12001, end: 16383 }], leaderId: N7101, replicas: [] },
    ],
    migrations: migrating ? [{ slot: 3300, fromShardId: A, toShardId: B }] : [],
    ...extra,
  });
}

/** Keys present in each shard's copy of slot 3300. */
const contents: Record<string, Set<string>> = {
  [A]: new Set(['b', '{b}1', '{b}2']),
  [B]: new Set(['{b}new']),
};
const keyExists = (shard: ClusterShard, key: string) => contents[shard.id]!.has(key);

function outcome(view: ClusterView, keys: string[], options: Partial<RouteRequest> = {}): string {
  const decision = route(view, { keys, write: false, asking: false, readonlyMode: false, keyExists, ...options });
  if (decision.kind === 'local') return `local ${decision.shard.id === A ? 'A' : 'B'} ${decision.role}`;
  if (decision.kind === 'keyless') return 'keyless';
  return routeError(decision)!.message;
}

test('keys in the test are where the matrix needs them', () => {
  assert.equal(keySlot('b'), 3300);
  assert.equal(keySlot('{b}missing'), 3300);
  assert.equal(keySlot('{user1000}.x'), 3443);
  assert.notEqual(keySlot('a'), keySlot('b'));
});

test('source shard leader (MIGRATING)', () => {
  const source = topology(N7100, true);
  assert.equal(outcome(source, ['b']), 'local A leader');
  assert.equal(outcome(source, ['{b}missing']), 'ASK 3300 127.0.0.1:7101');
  assert.equal(outcome(source, ['{b}new'], { write: true }), 'ASK 3300 127.0.0.1:7101');
  assert.equal(outcome(source, ['b', '{b}1']), 'local A leader');
  assert.equal(outcome(source, ['b', '{b}missing']), 'TRYAGAIN Multiple keys request during rehashing of slot');
  assert.equal(outcome(source, ['{b}m1', '{b}m2']), 'ASK 3300 127.0.0.1:7101');
  assert.equal(outcome(source, ['{b}m1'], { isMigrate: true }), 'local A leader');
  // Other slots of the shard are unaffected.
  assert.equal(outcome(source, ['{user1000}.x']), 'local A leader');
  // Shard pub/sub never counts keys, so never ASKs.
  assert.equal(outcome(source, ['{b}chan'], { shardPubsub: true }), 'local A leader');
});

test('target shard leader (IMPORTING): MOVED unless ASKING', () => {
  const target = topology(N7101, true);
  assert.equal(outcome(target, ['b']), 'MOVED 3300 127.0.0.1:7100');
  assert.equal(outcome(target, ['b', '{b}1']), 'MOVED 3300 127.0.0.1:7100');
  assert.equal(outcome(target, ['b'], { asking: true }), 'local B leader');
  assert.equal(outcome(target, ['{b}missing'], { asking: true }), 'local B leader');
  assert.equal(outcome(target, ['{b}new'], { asking: true, write: true }), 'local B leader');
  assert.equal(outcome(target, ['{b}m1', '{b}m2'], { asking: true }), 'TRYAGAIN Multiple keys request during rehashing of slot');
  assert.equal(outcome(target, ['{b}new', '{b}other'], { asking: true }), 'TRYAGAIN Multiple keys request during rehashing of slot');
  assert.equal(outcome(target, ['{b}new', '{b}new'], { asking: true }), 'local B leader'); // one distinct key
  // READONLY on a master that is importing does not bypass MOVED.
  assert.equal(outcome(target, ['b'], { readonlyMode: true }), 'MOVED 3300 127.0.0.1:7100');
});

test('a node leading both shards: ASKING means the importing side, so no ASK loop', () => {
  const both = new ClusterView({
    myId: N7100,
    nodes: [{ id: N7100, ip: '127.0.0.1', port: 7100, busPort: 7150 }],
    shards: [
      { id: A, slots: [{ start: 0, end: 9999 }], leaderId: N7100, replicas: [] },
      { id: B, slots: [{ start: 10000, end: 16383 }], leaderId: N7100, replicas: [] },
    ],
    migrations: [{ slot: 3300, fromShardId: A, toShardId: B }],
  });
  assert.equal(outcome(both, ['{b}missing']), 'ASK 3300 127.0.0.1:7100');
  assert.equal(outcome(both, ['{b}missing'], { asking: true }), 'local B leader');
  assert.equal(outcome(both, ['b']), 'local A leader');
});

test('follower (Redis replica): MOVED, or served under READONLY for reads only', () => {
  const replica = topology(N7103, false);
  assert.equal(outcome(replica, ['{user1000}.x']), 'MOVED 3443 127.0.0.1:7100');
  assert.equal(outcome(replica, ['{user1000}.x'], { readonlyMode: true }), 'local A follower');
  assert.equal(outcome(replica, ['{user1000}.x'], { readonlyMode: true, write: true }), 'MOVED 3443 127.0.0.1:7100');
  // A follower of the source does not ASK during a migration (as redis/redis#3887).
  assert.equal(outcome(topology(N7103, true), ['{b}missing'], { readonlyMode: true }), 'local A follower');
  // READONLY does not help for a shard this node is not a member of.
  assert.equal(outcome(replica, ['x'], { readonlyMode: true }), 'MOVED 16287 127.0.0.1:7101');
});

test('order of checks: unassigned first slot, then CROSSSLOT, then cluster state, then MOVED', () => {
  const view = topology(N7103, false);
  const unassignedKey = findKey((slot) => slot >= 10000 && slot < 10100);
  assert.equal(outcome(view, [unassignedKey]), 'CLUSTERDOWN Hash slot not served');
  assert.equal(outcome(view, [unassignedKey, 'a']), 'CLUSTERDOWN Hash slot not served');
  // CROSSSLOT before MOVED, even when both keys live elsewhere.
  assert.equal(outcome(view, ['a', 'b']), "CROSSSLOT Keys in request don't hash to the same slot");
  assert.equal(outcome(view, ['b', unassignedKey]), "CROSSSLOT Keys in request don't hash to the same slot");
  assert.equal(outcome(view, ['b', 'b']), 'MOVED 3300 127.0.0.1:7100');
  assert.equal(outcome(view, []), 'keyless');

  const leaderless = topology(N7100, false, {});
  const down = new ClusterView({
    myId: N7100,
    nodes: leaderless.nodes,
    shards: leaderless.shards.map((s) => (s.id === B ? { ...s, leaderId: null } : s)),
  });
  assert.equal(outcome(down, ['x']), 'CLUSTERDOWN The cluster is down');
  assert.equal(outcome(down, ['x'], { readonlyMode: true }), 'CLUSTERDOWN The cluster is down');
  assert.equal(outcome(down, ['b']), 'local A leader'); // other shards keep serving
  const failed = new ClusterView({
    myId: N7101,
    nodes: leaderless.nodes.map((n) => (n.id === N7100 ? { ...n, flags: ['fail' as const] } : n)),
    shards: leaderless.shards,
  });
  assert.equal(outcome(failed, ['b']), 'CLUSTERDOWN The cluster is down');
});

test('ASK toward a shard without a leader becomes TRYAGAIN', () => {
  const base = topology(N7100, true);
  const view = new ClusterView({
    myId: N7100,
    nodes: base.nodes,
    shards: base.shards.map((s) => (s.id === B ? { ...s, leaderId: null } : s)),
    migrations: base.migrations,
  });
  assert.equal(outcome(view, ['{b}missing']), 'TRYAGAIN Multiple keys request during rehashing of slot');
});

function findKey(wanted: (slot: number) => boolean): string {
  for (let i = 0; i < 1_000_000; i++) if (wanted(keySlot(`k${i}`))) return `k${i}`;
  throw new Error('no key found');
}
