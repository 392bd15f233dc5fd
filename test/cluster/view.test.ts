import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterView, oneNodeView, mergeRanges, formatRange, type ClusterViewData } from '../../src/cluster/view.js';
import { encodeReply } from '../../src/resp/encoder.js';
import { MapReply } from '../../src/resp/reply.js';
import { loadCapture } from './captures.js';
import { startRealClusterRedis } from '../support/real-redis.js';

// The lab's final topology (captures/nodes_shards_info_final_topology.txt), seen from 7100.
const ID = {
  n7100: 'b648789da9c7dc6850a82c1dbe36e46ca81e260d',
  n7101: '60030672a69c3fbc803c463ca0dbb39335eefb15',
  n7102: '7842d85825bf0979a8106dd49fc76640e60efaad',
  n7103: '0f9ec95e0be96c54dee392a00442533ffe67803a',
  n7104: 'de798b9c1c3902c18fbe43d3d42f1e64b0550c4e',
  n7105: 'fcd632068b5d6bf9adb685d648340b2ad04b588a',
  n7106: '8ae66170ba1a4588db78aa61a404aee8d3872399',
};
const node = (id: string, port: number, configEpoch: number, pongRecvMs: number) => ({
  id, ip: '127.0.0.1', port, busPort: port + 50, configEpoch, pongRecvMs,
});
const finalTopology: ClusterViewData = {
  myId: ID.n7100,
  currentEpoch: 14,
  messagesSent: 6033,
  messagesReceived: 6026,
  // In the capture's CLUSTER NODES order.
  nodes: [
    node(ID.n7103, 7103, 12, 1795318418317),
    node(ID.n7100, 7100, 12, 1795318418000),
    node(ID.n7105, 7105, 13, 1795318419020),
    node(ID.n7104, 7104, 11, 1795318419000),
    node(ID.n7102, 7102, 13, 1795318419020),
    node(ID.n7106, 7106, 14, 1795318419121),
    node(ID.n7101, 7101, 11, 1795318419000),
  ],
  // In the capture's CLUSTER SHARDS order.
  shards: [
    {
      id: 'a'.repeat(40),
      slots: [{ start: 0, end: 3299 }, { start: 3301, end: 3442 }, { start: 3444, end: 5460 }],
      leaderId: ID.n7100,
      leaderReplicationOffset: 76204,
      replicas: [{ nodeId: ID.n7103, caughtUp: true, replicationOffset: 76204 }],
    },
    {
      id: 'b'.repeat(40),
      slots: [{ start: 3300, end: 3300 }, { start: 5461, end: 5462 }, { start: 10923, end: 16383 }],
      leaderId: ID.n7105,
      leaderReplicationOffset: 102299,
      replicas: [{ nodeId: ID.n7102, caughtUp: true, replicationOffset: 102299 }],
    },
    { id: 'c'.repeat(40), slots: [{ start: 3443, end: 3443 }], leaderId: ID.n7106, replicas: [] },
    {
      id: 'd'.repeat(40),
      slots: [{ start: 5463, end: 10922 }],
      leaderId: ID.n7101,
      leaderReplicationOffset: 61112,
      replicas: [{ nodeId: ID.n7104, caughtUp: true, replicationOffset: 61112 }],
    },
  ],
};

const final = loadCapture('nodes_shards_info_final_topology.txt');

test('CLUSTER NODES is byte-identical to the capture', () => {
  const view = new ClusterView(finalTopology);
  const expected = final.get('CLUSTER NODES')!;
  assert.equal(encodeReply(view.clusterNodes(), 2), expected);
  assert.ok(view.clusterNodes().endsWith('connected 5463-10922\n'));
});

test('CLUSTER SLOTS is byte-identical to the capture, in RESP2 and RESP3', () => {
  const view = new ClusterView(finalTopology);
  assert.equal(encodeReply(view.clusterSlots(), 2), loadCapture('slots_resp2_final_topology.txt').get('CLUSTER SLOTS'));
  assert.equal(encodeReply(view.clusterSlots(), 3), loadCapture('slots_resp3_final_topology.txt').get('CLUSTER SLOTS'));
});

test('CLUSTER SHARDS is byte-identical to the capture', () => {
  const view = new ClusterView(finalTopology);
  assert.equal(encodeReply(view.clusterShards(), 2), final.get('CLUSTER SHARDS'));
});

test('CLUSTER INFO has every field of the capture (per-message-type stats lines aside)', () => {
  const view = new ClusterView(finalTopology);
  const captured = final.get('CLUSTER INFO')!;
  const body = captured.slice(captured.indexOf('\r\n') + 2, -2);
  const withoutTypeStats = body
    .split('\r\n')
    .filter((line) => line !== '' && !/^cluster_stats_messages_[a-z-]+_(sent|received):/.test(line))
    .map((line) => line + '\r\n')
    .join('');
  assert.equal(view.clusterInfo(), withoutTypeStats);
});

test('one-node view renders like a real cluster-enabled redis-server owning all slots', async () => {
  const redis = await startRealClusterRedis({ waitForOk: true });
  try {
    const client = await redis.client();
    const myId = (await client.send(['CLUSTER', 'MYID'])).toString('latin1').split('\r\n')[1]!;
    const view = oneNodeView(myId, '127.0.0.1', redis.port, redis.busPort);
    assert.equal(encodeReply(view.clusterSlots(), 2), (await client.send(['CLUSTER', 'SLOTS'])).toString('latin1'));
    assert.equal(encodeReply(view.clusterShards(), 2), (await client.send(['CLUSTER', 'SHARDS'])).toString('latin1'));
    assert.equal(encodeReply(view.clusterNodes(), 2), (await client.send(['CLUSTER', 'NODES'])).toString('latin1'));
    const info = (await client.send(['CLUSTER', 'INFO'])).toString('latin1');
    assert.equal(encodeReply(view.clusterInfo(), 2), info);
    await client.send(['HELLO', '3']);
    assert.equal(encodeReply(view.clusterSlots(), 3), (await client.send(['CLUSTER', 'SLOTS'])).toString('latin1'));
    assert.equal(encodeReply(view.clusterShards(), 3), (await client.send(['CLUSTER', 'SHARDS'])).toString('latin1'));
    client.close();
  } finally {
    await redis.stop();
  }
});

test('cluster_state follows leaders: fail while a shard has no leader or an unassigned slot', () => {
  const noLeader = new ClusterView({
    ...finalTopology,
    shards: finalTopology.shards.map((s) => (s.id === 'c'.repeat(40) ? { ...s, leaderId: null } : s)),
  });
  assert.equal(noLeader.isOk, false);
  assert.match(noLeader.clusterInfo(), /^cluster_state:fail\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16383\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:1\r\n/);
  assert.match(noLeader.clusterInfo(), /cluster_size:3\r\n/);
  // A leaderless shard's range is not listed in CLUSTER SLOTS, and its member is nobody's slave.
  const ranges = noLeader.clusterSlots() as unknown[][];
  assert.ok(!ranges.some((r) => r[0] === 3443));
  assert.match(noLeader.clusterNodes(), new RegExp(`${ID.n7106} 127.0.0.1:7106@7156 master - 0 1795318419121 14 connected\n`));

  const unassigned = new ClusterView({
    ...finalTopology,
    shards: finalTopology.shards.filter((s) => s.id !== 'c'.repeat(40)),
  });
  assert.match(unassigned.clusterInfo(), /^cluster_state:fail\r\ncluster_slots_assigned:16383\r\ncluster_slots_ok:16383\r\n/);
  assert.equal(unassigned.shardOfSlot(3443), undefined);

  const pfail = new ClusterView({
    ...finalTopology,
    nodes: finalTopology.nodes.map((n) => (n.id === ID.n7106 ? { ...n, flags: ['fail?' as const] } : n)),
  });
  assert.equal(pfail.isOk, true);
  assert.match(pfail.clusterInfo(), /cluster_slots_ok:16383\r\ncluster_slots_pfail:1\r\ncluster_slots_fail:0\r\n/);
  assert.match(pfail.clusterNodes(), new RegExp(`${ID.n7106} 127.0.0.1:7106@7156 master,fail\\? `));
});

test('replicas not caught up or failed are left out of CLUSTER SLOTS; SHARDS shows their health', () => {
  const view = new ClusterView({
    ...finalTopology,
    nodes: finalTopology.nodes.map((n) => (n.id === ID.n7104 ? { ...n, flags: ['fail' as const], linkState: 'disconnected' as const } : n)),
    shards: finalTopology.shards.map((s) =>
      s.id === 'a'.repeat(40) ? { ...s, replicas: [{ nodeId: ID.n7103, caughtUp: false }] } : s,
    ),
  });
  const ranges = view.clusterSlots() as unknown[][];
  const first = ranges.find((r) => r[0] === 0)!;
  assert.equal(first.length, 3);
  const last = ranges.find((r) => r[0] === 5463)!;
  assert.equal(last.length, 3);
  const shards = encodeReply(view.clusterShards(), 2);
  assert.ok(shards.includes(`${ID.n7103}\r\n$4\r\nport\r\n:7103\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n`));
  assert.ok(shards.includes(`$6\r\nhealth\r\n$4\r\nfail\r\n`));
  assert.match(view.clusterNodes(), new RegExp(`${ID.n7104} 127.0.0.1:7104@7154 slave,fail ${ID.n7101} 0 1795318419000 11 disconnected\n`));
});

test('a node leading several shards is one master line with merged ranges; hostname is shown', () => {
  const me = '1'.repeat(40);
  const other = '2'.repeat(40);
  const view = new ClusterView({
    myId: me,
    nodes: [
      { id: me, ip: '10.0.0.1', port: 7000, busPort: 17000, hostname: 'node-a.example', configEpoch: 3 },
      { id: other, ip: '10.0.0.2', port: 7001, busPort: 17001, configEpoch: 2 },
    ],
    shards: [
      { id: 'e'.repeat(40), slots: [{ start: 0, end: 99 }], leaderId: me, replicas: [{ nodeId: other, caughtUp: true }] },
      { id: 'f'.repeat(40), slots: [{ start: 100, end: 16383 }], leaderId: me, replicas: [] },
    ],
    migrations: [],
  });
  assert.equal(
    view.clusterNodes(),
    `${me} 10.0.0.1:7000@17000,node-a.example myself,master - 0 0 3 connected 0-16383\n` +
      `${other} 10.0.0.2:7001@17001 slave ${me} 0 0 3 connected\n`,
  );
  // CLUSTER SLOTS keeps one range per shard (their followers differ) and carries the hostname.
  assert.deepEqual(
    JSON.parse(JSON.stringify(view.clusterSlots(), (_k, v) => (v instanceof MapReply ? { map: v.entries } : v))),
    [
      [0, 99, ['10.0.0.1', 7000, me, { map: ['hostname', 'node-a.example'] }], ['10.0.0.2', 7001, other, { map: [] }]],
      [100, 16383, ['10.0.0.1', 7000, me, { map: ['hostname', 'node-a.example'] }]],
    ],
  );
  assert.match(view.clusterInfo(), /cluster_size:1\r\ncluster_current_epoch:3\r\ncluster_my_epoch:3\r\n/);
  assert.equal(view.myShard()?.id, 'e'.repeat(40));
});

test('open migrations are marked on the answering node line only', () => {
  const migrations = [{ slot: 3442, fromShardId: 'a'.repeat(40), toShardId: 'd'.repeat(40) }];
  const onSource = new ClusterView({ ...finalTopology, migrations });
  assert.match(onSource.clusterNodes(), / myself,master - 0 1795318418000 12 connected 0-3299 3301-3442 3444-5460 \[3442->-60030672a69c3fbc803c463ca0dbb39335eefb15\]\n/);
  assert.ok(!onSource.clusterNodes().includes('-<-'));
  const onTarget = new ClusterView({ ...finalTopology, myId: ID.n7101, migrations });
  assert.match(onTarget.clusterNodes(), / myself,master - 0 1795318419000 11 connected 5463-10922 \[3442-<-b648789da9c7dc6850a82c1dbe36e46ca81e260d\]\n/);
  assert.ok(!onTarget.clusterNodes().includes('->-'));
});

test('inconsistent data is refused', () => {
  const me = '1'.repeat(40);
  const base = { myId: me, nodes: [{ id: me, ip: '', port: 1, busPort: 2 }] };
  const shard = (id: string, start: number, end: number) => ({ id, slots: [{ start, end }], leaderId: me, replicas: [] });
  assert.throws(() => new ClusterView({ ...base, shards: [shard('x', 0, 10), shard('y', 10, 20)] }), /slot 10 assigned twice/);
  assert.throws(() => new ClusterView({ ...base, shards: [shard('x', 0, 16384)] }), /bad slot range/);
  assert.throws(() => new ClusterView({ ...base, myId: '3'.repeat(40), shards: [] }), /must contain this node/);
  assert.throws(() => new ClusterView({ ...base, nodes: [{ id: 'short', ip: '', port: 1, busPort: 2 }], shards: [] }), /40 hex/);
});

test('range helpers', () => {
  assert.deepEqual(mergeRanges([{ start: 5, end: 9 }, { start: 0, end: 4 }, { start: 20, end: 20 }]), [
    { start: 0, end: 9 },
    { start: 20, end: 20 },
  ]);
  assert.equal(formatRange({ start: 7, end: 7 }), '7');
  assert.equal(formatRange({ start: 0, end: 5460 }), '0-5460');
});

test('clean lab topology: CLUSTER NODES (RESP2) and CLUSTER SHARDS (RESP2 and RESP3) as captured', () => {
  const shard = (id: string, start: number, end: number, leaderId: string, replicaId: string) => ({
    id, slots: [{ start, end }], leaderId, leaderReplicationOffset: 28,
    replicas: [{ nodeId: replicaId, caughtUp: true, replicationOffset: 28 }],
  });
  const view = new ClusterView({
    myId: ID.n7100,
    currentEpoch: 6,
    nodes: [
      node(ID.n7103, 7103, 1, 1795317393000),
      node(ID.n7100, 7100, 1, 1795317396000),
      node(ID.n7105, 7105, 3, 1795317395467),
      node(ID.n7104, 7104, 2, 1795317397479),
      node(ID.n7102, 7102, 3, 1795317393456),
      node(ID.n7101, 7101, 2, 1795317396470),
    ],
    shards: [
      shard('a'.repeat(40), 0, 5460, ID.n7100, ID.n7103),
      shard('b'.repeat(40), 10923, 16383, ID.n7102, ID.n7105),
      shard('c'.repeat(40), 5461, 10922, ID.n7101, ID.n7104),
    ],
  });
  const nodesCapture = loadCapture('nodes_info_resp2.txt');
  assert.equal(encodeReply(view.clusterNodes(), 2), nodesCapture.get('CLUSTER NODES'));
  assert.equal(encodeReply(view.clusterShards(), 2), loadCapture('shards_resp2.txt').get('CLUSTER SHARDS'));
  assert.equal(encodeReply(view.clusterShards(), 3), loadCapture('shards_resp3.txt').get('CLUSTER SHARDS'));
  assert.match(view.clusterInfo(), /^cluster_state:ok\r\n.*cluster_known_nodes:6\r\ncluster_size:3\r\ncluster_current_epoch:6\r\ncluster_my_epoch:1\r\n/s);
});
