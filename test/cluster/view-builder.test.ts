import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyMeta, emptyMetaState, type MetaCommand, type MetaState } from '../../src/cluster/meta.js';
import { DEFAULT_SHARD_COUNT, initialLayout, splitSlots } from '../../src/cluster/placement.js';
import { buildClusterView, type ShardStatus } from '../../src/cluster/view-builder.js';
import { oneNodeView, type ClusterView } from '../../src/cluster/view.js';
import type { GroupId, NodeId } from '../../src/raft/types.js';
import { encodeReply } from '../../src/resp/encoder.js';

const hex = (c: string) => c.repeat(40);

function applyAll(commands: readonly MetaCommand[], state = emptyMetaState()): MetaState {
  for (const c of commands) {
    const applied = applyMeta(state, c);
    assert.equal(applied.result.ok, true, applied.result.ok ? '' : applied.result.reason);
    state = applied.state;
  }
  return state;
}

/** Every client-visible rendering, in both protocols. */
function renderings(view: ClusterView): unknown[] {
  return [
    encodeReply(view.clusterSlots(), 2),
    encodeReply(view.clusterSlots(), 3),
    encodeReply(view.clusterShards(), 2),
    encodeReply(view.clusterShards(), 3),
    view.clusterNodes(),
    view.clusterInfo(),
    view.isOk,
  ];
}

test('a one-node cluster builds exactly the view of oneNodeView', () => {
  const me = 'e'.repeat(20) + '0123456789abcdef0123';
  const meta = applyAll([
    { type: 'AddNode', id: me, ip: '127.0.0.1', port: 6379, busPort: 16379, hostname: '' },
    { type: 'CreateShards', shards: [{ id: me, slots: [{ start: 0, end: 16383 }], voters: [1] }] },
  ]);
  const view = buildClusterView({ meta, myId: me, shards: new Map([[1, { leader: 1 }]]) });
  const expected = oneNodeView(me, '127.0.0.1', 6379, 16379, meta.configEpoch);
  assert.deepEqual(view, expected);
  assert.deepEqual(renderings(view), renderings(expected));
  assert.match(view.clusterInfo(), /^cluster_state:ok\r\n/);
  assert.match(view.clusterInfo(), /cluster_current_epoch:2\r\ncluster_my_epoch:2\r\n/);
});

/** Three nodes (raft ids 1-3), redis-cli's three-way split over shards with voters {1,2} {2,3} {1,3}, slot 100 migrating. */
function threeNodeMeta(): MetaState {
  const voters = [[1, 2], [2, 3], [1, 3]];
  return applyAll([
    { type: 'AddNode', id: hex('a'), ip: '10.0.0.1', port: 7000, busPort: 17000, hostname: '' },
    { type: 'AddNode', id: hex('b'), ip: '10.0.0.2', port: 7001, busPort: 17001, hostname: 'b.example' },
    { type: 'AddNode', id: hex('c'), ip: '10.0.0.3', port: 7002, busPort: 17002, hostname: '' },
    { type: 'CreateShards', shards: splitSlots(3).map((slots, i) => ({ id: hex(String(i + 1)), slots: [slots], voters: voters[i]! })) },
    { type: 'BeginMigration', slot: 100, toGroupId: 2 },
  ]);
}

test('leaders, caught-up followers, learners and migrations reach the view', () => {
  const meta = threeNodeMeta();
  assert.deepEqual(meta.shards.map((s) => s.voters), [[1, 2], [2, 3], [1, 3]]);
  const shards = new Map<GroupId, ShardStatus>([
    [1, { leader: 1, leaderOffset: 50, followers: new Map([[2, { offset: 50, caughtUp: true }]]) }],
    [2, { leader: 3, leaderOffset: 70, followers: new Map([[2, { offset: 10, caughtUp: false }]]) }],
    [3, { leader: 1 }],
  ]);
  const view = buildClusterView({ meta, myId: hex('a'), shards, messagesSent: 5, messagesReceived: 6 });

  const s1 = view.shard(hex('1'))!;
  assert.equal(s1.leaderId, hex('a'));
  assert.equal(s1.leaderReplicationOffset, 50);
  assert.deepEqual(s1.replicas, [{ nodeId: hex('b'), caughtUp: true, replicationOffset: 50 }]);
  assert.deepEqual(s1.slots, [{ start: 0, end: 5460 }], 'a migrating slot stays with its owner until completed');
  assert.deepEqual(view.shard(hex('2'))!.replicas, [{ nodeId: hex('b'), caughtUp: false, replicationOffset: 10 }]);
  // No progress known: a voter counts as caught up.
  assert.deepEqual(view.shard(hex('3'))!.replicas, [{ nodeId: hex('c'), caughtUp: true }]);

  // CLUSTER SLOTS: a lagging follower is left out; the hostname travels in the metadata.
  const slots = view.clusterSlots() as unknown[][];
  const entry = slots.find((e) => e[0] === 5461)!;
  assert.equal(entry.length, 3, 'leader only: the follower of shard 2 is catching up');
  assert.equal((entry[2] as unknown[])[2], hex('c'));
  const firstEntry = slots[0]!;
  assert.deepEqual(firstEntry.slice(0, 2), [0, 5460]);
  assert.equal(((firstEntry[3] as unknown[])[2] as string), hex('b'));

  assert.equal(view.isOk, true);
  assert.equal(view.migratingTarget(100)!.id, hex('2'));
  assert.match(view.clusterNodes(), new RegExp(`^${hex('a')} 10\\.0\\.0\\.1:7000@17000 myself,master - 0 0 5 connected 0-5460 10923-16383 \\[100->-${hex('c')}\\]\n`, 'm'));
  assert.match(view.clusterNodes(), new RegExp(`^${hex('b')} 10\\.0\\.0\\.2:7001@17001,b\\.example slave ${hex('a')} 0 0 5 connected\n`, 'm'));
  assert.match(view.clusterInfo(), /cluster_current_epoch:5\r\n/);
  assert.match(view.clusterInfo(), /cluster_stats_messages_sent:5\r\ncluster_stats_messages_received:6\r\n/);
});

test('a shard without a known leader fails the cluster state; unknown leaders count as none', () => {
  const meta = threeNodeMeta();
  const known = new Map<GroupId, ShardStatus>([
    [1, { leader: 1 }],
    [2, { leader: 2 }],
  ]);
  const missing = buildClusterView({ meta, myId: hex('b'), shards: known });
  assert.equal(missing.isOk, false);
  assert.equal(missing.shard(hex('3'))!.leaderId, null);
  assert.match(missing.clusterInfo(), /^cluster_state:fail\r\n/);
  // A leader id the metadata does not know (it lags behind the group) is treated as no leader.
  const stranger = buildClusterView({ meta, myId: hex('b'), shards: new Map([...known, [3, { leader: 42 }]]) });
  assert.equal(stranger.shard(hex('3'))!.leaderId, null);
  assert.equal(stranger.isOk, false);
  const all = buildClusterView({ meta, myId: hex('b'), shards: new Map([...known, [3, { leader: 3 }]]) });
  assert.equal(all.isOk, true);
  assert.deepEqual(all.shard(hex('3'))!.replicas.map((r) => r.nodeId), [hex('a')]);
});

test('learners are listed as replicas still loading; peer link data reaches CLUSTER NODES', () => {
  let meta = threeNodeMeta();
  meta = applyAll([{ type: 'SetShardMembers', groupId: 1, confIndex: 9, voters: [1, 2], learners: [3] }], meta);
  const shards = new Map<GroupId, ShardStatus>([
    [1, { leader: 2, followers: new Map<NodeId, { offset: number; caughtUp: boolean }>([[3, { offset: 7, caughtUp: true }]]) }],
    [2, { leader: 2 }],
    [3, { leader: 3 }],
  ]);
  const peers = new Map([
    [hex('c'), { flags: ['fail?'] as const, linkState: 'disconnected' as const, pingSentMs: 11, pongRecvMs: 22 }],
    [hex('b'), { pongRecvMs: undefined }],
  ]);
  const view = buildClusterView({ meta, myId: hex('a'), shards, peers });
  const s1 = view.shard(hex('1'))!;
  assert.deepEqual(s1.replicas, [
    { nodeId: hex('a'), caughtUp: true },
    { nodeId: hex('c'), caughtUp: false, replicationOffset: 7 }, // a learner is never "caught up"
  ]);
  const shardsReply = encodeReply(view.clusterShards(), 2);
  assert.ok(shardsReply.includes('loading'), 'the learner shows as loading');
  const cLine = view.clusterNodes().split('\n').find((l) => l.startsWith(hex('c')))!;
  assert.match(cLine, / master,fail\? - 11 22 \d+ disconnected 10923-16383$/);
  assert.equal(view.node(hex('b'))!.pongRecvMs, 0, 'an undefined peer field keeps the default');
  assert.equal(view.slotHealth(16000), 'pfail');
});

test('the builder is deterministic and does not depend on map insertion order', () => {
  const meta = threeNodeMeta();
  const a = buildClusterView({ meta, myId: hex('c'), shards: new Map([[1, { leader: 2 }], [2, { leader: 3 }], [3, { leader: 1 }]]) });
  const b = buildClusterView({ meta, myId: hex('c'), shards: new Map([[3, { leader: 1 }], [2, { leader: 3 }], [1, { leader: 2 }]]) });
  assert.deepEqual(renderings(a), renderings(b));
});

test('initial layout -> CreateShards -> view: five nodes each lead three or four of the sixteen shards', () => {
  const ids = ['1', '2', '3', '4', '5'].map(hex);
  let meta = applyAll(ids.map((id, i) => ({ type: 'AddNode', id, ip: '127.0.0.1', port: 7000 + i, busPort: 17000 + i, hostname: '' })));
  const layout = initialLayout(DEFAULT_SHARD_COUNT, meta.nodes.map((n) => n.raftId), meta.settings.replicas);
  const shardIds = layout.map((_, i) => (i + 10).toString(16).padStart(40, 'f'));
  meta = applyAll([{ type: 'CreateShards', shards: layout.map((s, i) => ({ id: shardIds[i]!, slots: [s.slots], voters: s.voters })) }], meta);
  const shards = new Map<GroupId, ShardStatus>(meta.shards.map((s, i) => [s.groupId, { leader: layout[i]!.leader }]));
  for (const myId of ids) {
    const view = buildClusterView({ meta, myId, shards });
    assert.equal(view.isOk, true);
    assert.ok([3, 4].includes(view.ledShards().length), `${myId} leads ${view.ledShards().length}`);
    assert.equal((view.clusterSlots() as unknown[][]).length, 16);
    assert.ok((view.clusterSlots() as unknown[][]).every((e) => e.length === 5), 'leader and two replicas per range');
    assert.match(view.clusterInfo(), /cluster_size:5\r\n/);
  }
});

test("a node's READONLY port is named in CLUSTER SLOTS replica entries only", () => {
  const meta = threeNodeMeta();
  const shards = new Map<GroupId, ShardStatus>([
    [1, { leader: 1 }],
    [2, { leader: 2 }],
    [3, { leader: 3 }],
  ]);
  const peers = new Map([[hex('b'), { replicaPort: 27002 }]]);
  const view = buildClusterView({ meta, myId: hex('a'), shards, peers });
  const slots = view.clusterSlots() as unknown as [number, number, ...[string, number, string][]][];
  const b = meta.nodes.find((n) => n.id === hex('b'))!;
  // Shard 1 (voters 1, 2) is led by a: b appears as a replica, under its READONLY port.
  const shard1 = slots.find(([start]) => start === 0)!;
  const entries = shard1.slice(2) as [string, number, string][];
  assert.deepEqual(entries.map((e) => [e[1], e[2]]), [[meta.nodes[0]!.port, hex('a')], [27002, hex('b')]]);
  // Shard 2 is led by b: its master entry keeps the client port, as do CLUSTER NODES and SHARDS.
  const shard2 = slots.find(([, , leader]) => leader[2] === hex('b'))!;
  assert.equal(shard2[2][1], b.port);
  assert.match(view.clusterNodes(), new RegExp(`${hex('b')} ${b.ip}:${b.port}@`));
  assert.doesNotMatch(JSON.stringify(encodeReply(view.clusterShards(), 2)), /27002/);
});
