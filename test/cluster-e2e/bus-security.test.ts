// The cluster bus keeps strangers out: a node with a wrong cluster secret is refused, a node without
// one does not start, and garbage sent to a bus port is dropped. In every case the cluster stays ok,
// writes still work, and nobody new appears in CLUSTER NODES. (Secrets are slotraft's: a real Redis
// Cluster has no bus authentication.)
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Cluster } from 'ioredis';
import { HOST } from '../support/resp-client.js';
import { seededRandom } from '../support/seeded-random.js';
import { parseClusterNodes, startCluster, startExtraSlotraftNode, waitFor, type ProcCluster } from '../support/cluster-procs.js';

let cluster: ProcCluster;
let client: Cluster;

before(async () => {
  cluster = await startCluster({ kind: 'slotraft', nodes: 3 });
  client = new Cluster(cluster.nodes.map((n) => ({ host: HOST, port: n.port })), { redisOptions: { commandTimeout: 5_000 } });
});

after(async () => {
  client?.disconnect();
  await cluster?.stop();
});

/** The cluster is ok on every node, lists exactly its own members, and takes writes on many slots. */
async function assertClusterUnchanged(label: string, strangerPort?: number): Promise<void> {
  await cluster.waitClusterOk({ timeoutMs: 10_000 });
  const memberPorts = cluster.nodes.map((n) => n.port).sort();
  for (const node of cluster.nodes) {
    const lines = parseClusterNodes(String(await cluster.command(node.index, 'CLUSTER', 'NODES')));
    assert.deepEqual(lines.map((l) => l.port).sort(), memberPorts, `${label}: CLUSTER NODES of node ${node.index}`);
    if (strangerPort !== undefined) assert.ok(!lines.some((l) => l.port === strangerPort));
    const info = String(await cluster.command(node.index, 'CLUSTER', 'INFO'));
    assert.match(info, /cluster_known_nodes:3\r\n/, `${label}: CLUSTER INFO of node ${node.index}`);
  }
  for (let i = 0; i < 20; i++) {
    const key = `${label}:${i}`;
    assert.equal(await client.set(key, String(i)), 'OK');
    assert.equal(await client.get(key), String(i));
  }
}

function logsOfCluster(): string {
  return cluster.nodes.map((n) => cluster.tail(n.index, 20_000)).join('\n');
}

test('a node with a wrong cluster secret is refused and changes nothing', { timeout: 60_000 }, async (t) => {
  const refusedBefore = (logsOfCluster().match(/cluster bus: peer refused/g) ?? []).length;
  const intruder = await startExtraSlotraftNode(cluster, 'not-the-secret');
  try {
    // It dials every member listed in its --cluster-init: each must refuse it, and log that.
    await waitFor('the members to log "cluster bus: peer refused"',
      () => (logsOfCluster().match(/cluster bus: peer refused/g) ?? []).length > refusedBefore, 15_000,
      () => `intruder:\n${intruder.tail()}\ncluster:\n${cluster.tails()}`);
    await assertClusterUnchanged('wrong-secret', intruder.port);
    t.diagnostic(`intruder still running: ${intruder.running}; its log: ${intruder.tail(600).trim().replaceAll('\n', ' | ')}`);
  } finally {
    await intruder.kill();
  }
});

test('a node without a cluster secret does not start, and changes nothing', { timeout: 30_000 }, async () => {
  const stranger = await startExtraSlotraftNode(cluster, null);
  try {
    await waitFor('the node without a secret to exit', () => !stranger.running, 15_000, () => stranger.tail());
    assert.match(stranger.tail(), /cluster-secret/);
    assert.equal(await stranger.kill(), 1);
  } finally {
    await stranger.kill();
  }
  await assertClusterUnchanged('no-secret', stranger.port);
});

/** Sends bytes to a bus port and resolves with whether the node closed the connection in time. */
function sendAndAwaitClose(port: number, bytes: Buffer, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: HOST, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    const closed = () => {
      clearTimeout(timer);
      resolve(true);
    };
    socket.on('connect', () => socket.write(bytes, () => {}));
    socket.on('error', () => {}); // a reset is as good as a close
    socket.on('close', closed);
  });
}

test('garbage on the bus ports is dropped and changes nothing', { timeout: 60_000 }, async () => {
  const random = seededRandom(42);
  const noise = Buffer.from(Array.from({ length: 4096 }, () => Math.floor(random() * 256)));
  const hugeFrame = Buffer.alloc(16, 0xff); // lengths and types far out of range
  const redisCommand = Buffer.from('*1\r\n$4\r\nPING\r\n');
  const http = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
  const closes: boolean[] = [];
  for (const node of cluster.nodes) {
    for (const bytes of [noise, hugeFrame, redisCommand, http]) {
      // Either the node closes the connection at once, or at the latest when the handshake times out.
      closes.push(await sendAndAwaitClose(node.busPort, bytes, 8_000));
    }
  }
  assert.deepEqual(closes, closes.map(() => true), 'every garbage connection was closed by the node');
  const dropped = (logsOfCluster().match(/cluster bus: (connection dropped|peer refused)/g) ?? []).length;
  assert.ok(dropped >= closes.length, `only ${dropped} dropped or refused connections were logged`);
  await assertClusterUnchanged('garbage');
});
