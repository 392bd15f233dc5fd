// Redis Cluster tooling and cluster clients against a running multi-node cluster: slotraft (3 nodes,
// default) or a real Redis Cluster (3 masters + 3 replicas, COMPAT_TARGET=redis).
// - redis-cli -c follows MOVED across slots; redis-cli --cluster check and info are happy;
// - redis-benchmark --cluster runs its default test set;
// - ioredis 5 and 6 Cluster (also scaleReads 'slave'), node-redis 5 and 6 createCluster (also
//   useReplicas) connect, route keys of many slots, and keep working across a leader change forced
//   with CLUSTER FAILOVER on a replica of the key's slot (they must follow MOVED).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { Cluster as Cluster5 } from 'ioredis';
import { Cluster as Cluster6 } from 'ioredis6';
import * as redis5 from 'redis';
import * as redis6 from 'redis6';
import { HOST, runTool, stripAnsi } from './harness.js';
import { parseClusterNodes, startCluster, waitFor, type ProcCluster } from '../test/support/cluster-procs.js';

const keySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string) => number;

let cluster: ProcCluster;

before(async () => {
  cluster = await startCluster();
  await waitStableTopology();
});

after(async () => {
  await cluster?.stop();
});

const port = (i: number) => String(cluster.nodes[i]!.port);

// ---- Topology, read from CLUSTER SLOTS ------------------------------------------------------------

interface SlotOwners {
  master: number;
  replicas: number[];
}

/**
 * Waits until CLUSTER SLOTS has not changed for a while: slotraft balances shard leaders over the
 * nodes in the first seconds (and after a failover), which clients see as MOVED.
 */
async function waitStableTopology(quietMs = 2_500, timeoutMs = 20_000): Promise<void> {
  let last = '';
  let since = Date.now();
  await waitFor(`CLUSTER SLOTS to stay the same for ${quietMs} ms`, async () => {
    const now = JSON.stringify(await cluster.command(0, 'CLUSTER', 'SLOTS'));
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, timeoutMs, () => cluster.tails(1_000));
}

/** The master and replica client ports of `slot`, as node `via` sees them. */
async function slotOwners(slot: number, via = 0): Promise<SlotOwners> {
  const ranges = (await cluster.command(via, 'CLUSTER', 'SLOTS')) as Array<[number, number, ...Array<[string, number, string]>]>;
  for (const [start, end, ...nodes] of ranges) {
    if (slot >= start && slot <= end) return { master: nodes[0]![1], replicas: nodes.slice(1).map((n) => n[1]) };
  }
  throw new Error(`slot ${slot} is in no CLUSTER SLOTS range of node ${via}`);
}

function nodeIndexOfPort(p: number): number {
  // A replica entry of a slotraft node names its READONLY port.
  const node = cluster.nodes.find((n) => n.port === p || n.replicaPort === p);
  if (!node) throw new Error(`no node with port ${p}`);
  return node.index;
}

/** Every node's view of `slot`, once they all agree and it has a replica (bounded wait). */
async function settledOwners(slot: number): Promise<SlotOwners> {
  let agreed: SlotOwners | null = null;
  await waitFor(`every node to agree on a master and replicas of slot ${slot}`, async () => {
    const views = await Promise.all(cluster.nodes.map((n) => slotOwners(slot, n.index).catch(() => null)));
    const first = JSON.stringify(views[0]);
    agreed = views[0] ?? null;
    return views.every((v) => v !== null && v.replicas.length > 0 && JSON.stringify(v) === first);
  }, 20_000, () => cluster.tails(1_000));
  const owners = agreed as SlotOwners | null;
  assert.ok(owners);
  if (cluster.kind === 'redis') {
    // A Redis replica refuses a manual failover until its replication link is up.
    const replica = nodeIndexOfPort(owners.replicas[0]!);
    await waitFor(`the replica on port ${owners.replicas[0]} to be connected to its master`, async () => {
      const role = (await cluster.command(replica, 'ROLE')) as unknown[];
      return role[0] === 'slave' && role[3] === 'connected';
    }, 20_000);
  }
  return owners;
}

/**
 * Makes a replica of `slot` its master with CLUSTER FAILOVER (slotraft: the node takes the leadership
 * of every shard it holds a replica of), and waits until every node's CLUSTER SLOTS agrees on a new
 * master (slotraft's leader balancer may already have moved it on by then). A Redis manual failover
 * gives up after 5 s when the replica cannot catch up: then it is asked again.
 */
async function forceLeaderChange(slot: number): Promise<{ from: number; to: number }> {
  const before = await settledOwners(slot);
  const replica = before.replicas[0]!;
  let to = 0;
  const changed = async () => {
    const views = await Promise.all(cluster.nodes.map((n) => slotOwners(slot, n.index).catch(() => null)));
    to = views[0]?.master ?? 0;
    return views.every((v) => v !== null && v.master !== before.master && v.master === to);
  };
  for (let attempt = 1; ; attempt++) {
    assert.equal(await cluster.command(nodeIndexOfPort(replica), 'CLUSTER', 'FAILOVER'), 'OK');
    try {
      await waitFor(`a new master of slot ${slot} (was ${before.master}) in every node's CLUSTER SLOTS`, changed, 8_000,
        () => cluster.tails(1_000));
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  await cluster.waitClusterOk({ timeoutMs: 20_000 });
  return { from: before.master, to };
}

/**
 * Asks `key` of a node that is not its slot's master and expects Redis's redirect to the master.
 * Tried again a few times: slotraft's leader balancer may move the slot between the two questions.
 */
async function assertRedirects(key: string, ask: (nodeIndex: number) => Promise<string>): Promise<void> {
  const slot = keySlot(key);
  let last = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const owner = (await slotOwners(slot)).master;
    const other = cluster.nodes.find((n) => n.port !== owner)!;
    last = await ask(other.index);
    const expected = `MOVED ${slot} ${HOST}:${owner}`;
    if (last === expected || attempt === 4) {
      assert.equal(last, expected, `GET ${key} at port ${other.port}`);
      return;
    }
    await sleep(200);
  }
}

/** GET at the slot's current master (asked again if the master moved meanwhile). */
async function getAtMaster(key: string): Promise<unknown> {
  let reply: unknown = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const owner = (await slotOwners(keySlot(key))).master;
    reply = await cluster.command(nodeIndexOfPort(owner), 'GET', key).catch((e: Error) => e.message);
    if (!(typeof reply === 'string' && reply.startsWith('MOVED '))) return reply;
    await sleep(200);
  }
  return reply;
}

// ---- redis-cli ------------------------------------------------------------------------------------

const cli = (args: string[], timeoutMs = 20_000) => runTool('redis-cli', args, { timeoutMs });

test('redis-cli -c follows MOVED across slots and nodes', async () => {
  const keys = Array.from({ length: 12 }, (_, i) => `cli:key${i}`);
  const masters = new Set<number>();
  let redirected = 0;
  for (const [i, key] of keys.entries()) {
    const entry = i % cluster.nodes.length;
    const owner = (await slotOwners(keySlot(key))).master;
    masters.add(owner);
    if (owner !== cluster.nodes[entry]!.port) redirected += 1;
    const set = await cli(['-c', '-h', HOST, '-p', port(entry), 'SET', key, `value${i}`]);
    assert.equal(set.stdout.trim(), 'OK', set.stderr);
    // Read back through another node.
    const get = await cli(['-c', '-h', HOST, '-p', port((entry + 1) % cluster.nodes.length), 'GET', key]);
    assert.equal(get.stdout.trim(), `value${i}`, get.stderr);
  }
  assert.ok(masters.size >= 2, `the keys landed on ${masters.size} masters`);
  assert.ok(redirected > 0, 'no key needed a redirect');
  // Without -c a node answers with Redis's redirect.
  for (const key of keys.slice(0, 3)) {
    await assertRedirects(key, async (i) => (await cli(['-h', HOST, '-p', port(i), 'GET', key])).stdout.trim());
  }
});

test('redis-cli --cluster check exits 0 and finds every slot covered', async () => {
  for (const node of cluster.nodes) {
    const result = await cli(['--cluster', 'check', `${HOST}:${node.port}`]);
    const out = stripAnsi(result.stdout);
    assert.equal(result.code, 0, out + result.stderr);
    assert.match(out, new RegExp(`>>> Performing Cluster Check \\(using node ${HOST}:${node.port}\\)`));
    assert.match(out, /\[OK\] All nodes agree about slots configuration\./);
    assert.match(out, /\[OK\] All 16384 slots covered\./);
    assert.doesNotMatch(out, /\[ERR\]|\[WARNING\]/);
  }
});

test('redis-cli --cluster info lists the masters, their slots and keys', async () => {
  const result = await cli(['--cluster', 'info', `${HOST}:${port(0)}`]);
  const out = stripAnsi(result.stdout);
  assert.equal(result.code, 0, out + result.stderr);
  const lines = [...out.matchAll(/^127\.0\.0\.1:(\d+) \([0-9a-f]{8}\.\.\.\) -> (\d+) keys \| (\d+) slots \| (\d+) slaves\.$/gm)];
  const nodes = parseClusterNodes(String(await cluster.command(0, 'CLUSTER', 'NODES')));
  const masters = nodes.filter((n) => n.flags.includes('master') && n.slots.length > 0);
  assert.deepEqual(lines.map((m) => Number(m[1])).sort(), masters.map((m) => m.port).sort(), out);
  assert.equal(lines.reduce((sum, m) => sum + Number(m[3]), 0), 16384);
  const totalKeys = lines.reduce((sum, m) => sum + Number(m[2]), 0);
  assert.match(out, new RegExp(`\\[OK\\] ${totalKeys} keys in ${masters.length} masters\\.`));
  // The keys the redis-cli test wrote are counted (the tests of a file run in order).
  assert.ok(totalKeys >= 12, out);
});

// ---- redis-benchmark --cluster --------------------------------------------------------------------

test('redis-benchmark --cluster runs its default test set without an error', { timeout: 120_000 }, async (t) => {
  const result = await runTool('redis-benchmark',
    ['--cluster', '-h', HOST, '-p', port(0), '-n', '1000', '-c', '6', '--csv'], { timeoutMs: 110_000 });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  // A leader moved during the run (a MOVED): redis-benchmark re-reads the slots and goes on, as it
  // would after a Redis failover. Anything else is an error.
  const moved = 'WARNING: Cluster slots configuration changed, fetching new one...';
  if (result.stdout.includes(moved)) t.diagnostic(`redis-benchmark saw a MOVED: "${moved}"`);
  assert.doesNotMatch((result.stdout + result.stderr).replaceAll(moved, ''), /error|warn/i);
  const masters = Number(/Cluster has (\d+) master nodes/.exec(result.stdout)?.[1]);
  assert.ok(masters >= 2, result.stdout);
  const rows = result.stdout.split('\n').filter((line) => /^"[A-Z]/.test(line)).map((line) => line.split('","'));
  const tests = rows.map((cells) => cells[0]!.replace(/^"/, ''));
  for (const name of ['PING_INLINE', 'SET', 'GET', 'INCR', 'LPUSH', 'RPOP', 'SADD', 'HSET', 'SPOP', 'ZADD', 'ZPOPMIN',
    'LRANGE_100 (first 100 elements)', 'MSET (10 keys)']) {
    assert.ok(tests.includes(name), `no row for ${name}: ${tests.join(', ')}`);
  }
  for (const cells of rows) assert.ok(Number(cells[1]) > 0, `rps of ${cells[0]}: ${cells[1]}`);
});

// ---- Cluster clients ------------------------------------------------------------------------------

interface KvClient {
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<string | null>;
  close(): Promise<unknown>;
}

interface Variant {
  name: string;
  /** Reads may be served by replicas, so a read right after a write may be stale. */
  replicaReads: boolean;
  connect(): Promise<KvClient>;
}

function ioredisVariant(name: string, Ctor: typeof Cluster5 | typeof Cluster6, scaleReads: 'master' | 'slave'): Variant {
  return {
    name: `${name} Cluster${scaleReads === 'slave' ? " scaleReads 'slave'" : ''}`,
    replicaReads: scaleReads === 'slave',
    async connect() {
      const client = new Ctor(cluster.nodes.map((n) => ({ host: HOST, port: n.port })), {
        scaleReads, redisOptions: { commandTimeout: 5_000 },
      });
      return { set: (k, v) => client.set(k, v), get: (k) => client.get(k), close: () => client.quit() };
    },
  };
}

function nodeRedisVariant(name: string, create: typeof redis5.createCluster | typeof redis6.createCluster,
  useReplicas: boolean): Variant {
  return {
    name: `${name} createCluster${useReplicas ? ' useReplicas' : ''}`,
    replicaReads: useReplicas,
    async connect() {
      const client = (create as typeof redis5.createCluster)({
        rootNodes: cluster.nodes.map((n) => ({ url: `redis://${HOST}:${n.port}` })),
        useReplicas,
      });
      await client.connect();
      return { set: (k, v) => client.set(k, v), get: (k) => client.get(k), close: () => client.close() };
    },
  };
}

const VARIANTS: Variant[] = [
  ioredisVariant('ioredis 5', Cluster5, 'master'),
  ioredisVariant('ioredis 5', Cluster5, 'slave'),
  ioredisVariant('ioredis 6 (RESP3)', Cluster6, 'master'),
  ioredisVariant('ioredis 6 (RESP3)', Cluster6, 'slave'),
  nodeRedisVariant('node-redis 5', redis5.createCluster, false),
  nodeRedisVariant('node-redis 5', redis5.createCluster, true),
  nodeRedisVariant('node-redis 6 (RESP3)', redis6.createCluster as unknown as typeof redis5.createCluster, false),
  nodeRedisVariant('node-redis 6 (RESP3)', redis6.createCluster as unknown as typeof redis5.createCluster, true),
];

/** Reads `key` until it holds `expected` (replica reads may lag a moment); returns the last value read. */
async function readBack(client: KvClient, key: string, expected: string, replicaReads: boolean): Promise<string | null> {
  let value = await client.get(key);
  for (let attempt = 0; replicaReads && value !== expected && attempt < 40; attempt++) {
    await sleep(50);
    value = await client.get(key);
  }
  return value;
}

for (const [v, variant] of VARIANTS.entries()) {
  describe(variant.name, () => {
    const keys = Array.from({ length: 30 }, (_, i) => `client${v}:key${i}`);

    test('connects, routes keys of many slots, and follows MOVED across a leader change', { timeout: 60_000 }, async (t) => {
      const client = await variant.connect();
      try {
        // (The keys cover many slots; whether their masters differ depends on the failovers so far:
        // slotraft's CLUSTER FAILOVER takes every shard the node holds a replica of.)
        assert.ok(new Set(keys.map(keySlot)).size === keys.length);
        for (const key of keys) assert.equal(await client.set(key, 'before'), 'OK');
        for (const key of keys) assert.equal(await readBack(client, key, 'before', variant.replicaReads), 'before', key);

        const moved = keys[v % keys.length]!;
        const change = await forceLeaderChange(keySlot(moved));
        t.diagnostic(`slot ${keySlot(moved)}: master ${change.from} -> ${change.to}`);
        // The other nodes now redirect: the client must follow.
        await assertRedirects(moved, (i) => cluster.command(i, 'GET', moved).then(String, (e: Error) => e.message));

        for (const key of keys) assert.equal(await client.set(key, 'after'), 'OK', key);
        for (const key of keys) assert.equal(await readBack(client, key, 'after', variant.replicaReads), 'after', key);
        // The write really reached the master.
        assert.equal(await getAtMaster(moved), 'after');
      } finally {
        await client.close();
      }
    });
  });
}
