import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply } from '../../src/resp/encoder.js';
import { ErrorReply, type Reply } from '../../src/resp/reply.js';
import { ClusterView, oneNodeView } from '../../src/cluster/view.js';
import { keySlot } from '../../src/cluster/slot.js';
import { fakeServer, NODE_ID, START_MS } from './server-fake.js';

const wire = async (reply: Reply | Promise<Reply>, resp: 2 | 3 = 2) => encodeReply(await reply, resp);
const errorText = async (reply: Reply | Promise<Reply>) => {
  const value = await reply;
  assert.ok(value instanceof ErrorReply, `expected an error, got ${JSON.stringify(value)}`);
  return value.message;
};

test('CLUSTER SLOTS/SHARDS/NODES/INFO come from the view (bulk in RESP2, verbatim in RESP3)', async () => {
  const f = fakeServer();
  const view = oneNodeView(NODE_ID, '127.0.0.1', 6379, 16379);
  assert.equal(await wire(f.run('CLUSTER', 'SLOTS')), encodeReply(view.clusterSlots(), 2));
  assert.equal(
    await wire(f.run('cluster', 'slots'), 3),
    `*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:6379\r\n$40\r\n${NODE_ID}\r\n%0\r\n`,
  );
  assert.equal(await wire(f.run('CLUSTER', 'SHARDS'), 3), encodeReply(view.clusterShards(), 3));
  const nodes = `${NODE_ID} 127.0.0.1:6379@16379 myself,master - 0 0 0 connected 0-16383\n`;
  assert.equal(await wire(f.run('CLUSTER', 'NODES')), `$${nodes.length}\r\n${nodes}\r\n`);
  assert.equal(await wire(f.run('CLUSTER', 'NODES'), 3), `=${nodes.length + 4}\r\ntxt:${nodes}\r\n`);
  const info = await wire(f.run('CLUSTER', 'INFO'));
  assert.match(info, /^\$\d+\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\n/);
  assert.match(info, /cluster_known_nodes:1\r\ncluster_size:1\r\n/);
  assert.equal(await wire(f.run('CLUSTER', 'MYID')), `$40\r\n${NODE_ID}\r\n`);
  assert.equal(await wire(f.run('CLUSTER', 'MYSHARDID')), `$40\r\n${NODE_ID}\r\n`);
  assert.equal(await wire(f.run('CLUSTER', 'LINKS')), '*0\r\n');
});

test('CLUSTER KEYSLOT, COUNTKEYSINSLOT, GETKEYSINSLOT', async () => {
  const f = fakeServer();
  assert.equal(await wire(f.run('CLUSTER', 'KEYSLOT', 'foo')), ':12182\r\n');
  assert.equal(await wire(f.run('CLUSTER', 'KEYSLOT', 'foo{}{bar}')), ':8363\r\n');
  assert.equal(await wire(f.run('CLUSTER', 'KEYSLOT', '')), ':0\r\n');
  for (const key of ['{user1000}.a', '{user1000}.b', '{user1000}.c', 'other']) f.keyspace.set(key, 'v', START_MS);
  const slot = keySlot('{user1000}.a');
  assert.equal(await wire(f.run('CLUSTER', 'COUNTKEYSINSLOT', String(slot))), ':3\r\n');
  assert.equal(await wire(f.run('CLUSTER', 'COUNTKEYSINSLOT', '0')), ':0\r\n');
  assert.equal(await errorText(f.run('CLUSTER', 'COUNTKEYSINSLOT', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(await errorText(f.run('CLUSTER', 'COUNTKEYSINSLOT', '16384')), 'ERR Invalid slot');
  assert.equal(await errorText(f.run('CLUSTER', 'COUNTKEYSINSLOT', '-1')), 'ERR Invalid slot');
  assert.deepEqual(((await f.run('CLUSTER', 'GETKEYSINSLOT', String(slot), '10')) as string[]).sort(), ['{user1000}.a', '{user1000}.b', '{user1000}.c']);
  assert.equal(((await f.run('CLUSTER', 'GETKEYSINSLOT', String(slot), '2')) as string[]).length, 2);
  assert.deepEqual(await f.run('CLUSTER', 'GETKEYSINSLOT', String(slot), '0'), []);
  assert.equal(await errorText(f.run('CLUSTER', 'GETKEYSINSLOT', '1', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(await errorText(f.run('CLUSTER', 'GETKEYSINSLOT', '1', '-1')), 'ERR Invalid slot or number of keys');
  assert.equal(await errorText(f.run('CLUSTER', 'GETKEYSINSLOT', '16384', '1')), 'ERR Invalid slot or number of keys');
});

test('CLUSTER errors: arity per subcommand, unknown and unsupported subcommands, unknown nodes', async () => {
  const f = fakeServer();
  assert.equal(await errorText(f.run('CLUSTER', 'KEYSLOT')), "ERR wrong number of arguments for 'cluster|keyslot' command");
  assert.equal(await errorText(f.run('CLUSTER', 'MYID', 'x')), "ERR wrong number of arguments for 'cluster|myid' command");
  assert.equal(await errorText(f.run('CLUSTER', 'NODES', 'x')), "ERR wrong number of arguments for 'cluster|nodes' command");
  assert.equal(await errorText(f.run('CLUSTER', 'FOO')), "ERR unknown subcommand 'FOO'. Try CLUSTER HELP.");
  assert.equal(await errorText(f.run('CLUSTER', 'MEET', '1.2.3.4', '5')), "ERR unknown subcommand 'MEET'. Try CLUSTER HELP.");
  assert.equal(await errorText(f.run('CLUSTER', 'REPLICAS', 'deadbeef')), 'ERR Unknown node deadbeef');
  assert.equal(await errorText(f.run('CLUSTER', 'SLAVES', 'x')), 'ERR Unknown node x');
  assert.equal(await errorText(f.run('CLUSTER', 'COUNT-FAILURE-REPORTS', 'x')), 'ERR Unknown node x');
  assert.equal(await wire(f.run('CLUSTER', 'COUNT-FAILURE-REPORTS', NODE_ID)), ':0\r\n');
  const help = (await f.run('CLUSTER', 'HELP')) as { value: string }[];
  assert.equal(help[0]!.value, 'CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  assert.ok(help.some((line) => line.value === 'KEYSLOT <key>'));
});

test('CLUSTER REPLICAS lists the followers of a leader as CLUSTER NODES lines', async () => {
  const f = fakeServer();
  const follower = 'b'.repeat(40);
  f.setView(new ClusterView({
    myId: NODE_ID,
    nodes: [
      { id: NODE_ID, ip: '127.0.0.1', port: 6379, busPort: 16379, configEpoch: 2 },
      { id: follower, ip: '127.0.0.1', port: 6380, busPort: 16380 },
    ],
    shards: [{ id: 's'.repeat(40), slots: [{ start: 0, end: 16383 }], leaderId: NODE_ID, replicas: [{ nodeId: follower, caughtUp: true }] }],
  }));
  assert.deepEqual(await f.run('CLUSTER', 'REPLICAS', NODE_ID), [`${follower} 127.0.0.1:6380@16380 slave ${NODE_ID} 0 0 2 connected`]);
  assert.equal(await errorText(f.run('CLUSTER', 'SLAVES', follower)), 'ERR The specified node is not a master');
  assert.equal(await wire(f.run('CLUSTER', 'MYSHARDID')), `$40\r\n${'s'.repeat(40)}\r\n`);
  assert.equal(await wire(f.run('WAIT', '1', '100')), ':1\r\n');
  assert.match(((await f.run('INFO', 'replication')) as { text: string }).text, /connected_slaves:1\r\nslave0:ip=127\.0\.0\.1,port=6380,state=online,offset=0,lag=0\r\n/);
});
