// Dispatch caches the routing decisions of one-key commands per slot: the cache must follow the
// cluster view (a new leader, a slot migration) exactly as routing itself would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildCommandTable } from '../../src/commands/table.js';
import { ClusterView, type ClusterViewData } from '../../src/cluster/view.js';
import { keySlot } from '../../src/cluster/slot.js';
import type { Reply } from '../../src/resp/reply.js';
import { encodeReply } from '../../src/resp/encoder.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { Dispatcher, type DispatchClient } from '../../src/server/dispatch.js';
import { LocalEngine } from '../../src/server/engine.js';
import { Logger } from '../../src/server/logger.js';
import { Stats } from '../../src/server/stats.js';

const ME = 'a'.repeat(40);
const OTHER = 'b'.repeat(40);
const SHARD_A = '1'.repeat(40);
const SHARD_B = '2'.repeat(40);
const NODES = [
  { id: ME, ip: '127.0.0.1', port: 7000, busPort: 17000 },
  { id: OTHER, ip: '127.0.0.1', port: 7001, busPort: 17001 },
];

function view(leaderOfA: string, migrations: ClusterViewData['migrations'] = []): ClusterView {
  return new ClusterView({
    myId: ME,
    nodes: NODES,
    shards: [
      { id: SHARD_A, slots: [{ start: 0, end: 8191 }], leaderId: leaderOfA, replicas: [] },
      { id: SHARD_B, slots: [{ start: 8192, end: 16383 }], leaderId: OTHER, replicas: [] },
    ],
    migrations,
  });
}

test('one-key routing follows the view: local, MOVED after a leader change, ASK while migrating', () => {
  const keyspace = new Keyspace();
  const engine = new LocalEngine(keyspace, () => 1000, () => 1);
  let current = view(ME);
  const stats = new Stats(0, () => [keyspace]);
  const dispatcher = new Dispatcher(buildCommandTable(), {
    stats,
    logger: new Logger('warning', '', () => {}),
    view: () => current,
    engineFor: (shardId) => (shardId === SHARD_A && current.shard(SHARD_A)!.leaderId === ME ? engine : undefined),
    defaultEngine: () => engine,
    passwordRequired: () => false,
    memoryLimited: () => false,
    reclaimMemory: () => true,
    nowMs: () => 1000,
  });
  const session = { resp: 2, authenticated: true, asking: false, readonlyMode: false, lastCommand: '' };
  const client = {
    id: 1,
    session,
    context: {},
    transaction: { active: () => false, flag: () => {}, discardAll: () => {} },
    pubsub: { subscribed: () => false, clear: () => {} },
  } as unknown as DispatchClient;
  // The reply as the client would read it.
  const run = (...argv: string[]): string => encodeReply(dispatcher.execute(client, argv) as Reply, 2);

  // A key of shard A (slots 0-8191), another of shard B.
  const keyA = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((k) => keySlot(k) < 8192)!;
  const keyB = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'].find((k) => keySlot(k) >= 8192)!;
  const slotA = keySlot(keyA);

  assert.equal(run('SET', keyA, 'v'), '+OK\r\n');
  assert.equal(run('GET', keyA), '$1\r\nv\r\n');
  assert.equal(run('GET', keyB), `-MOVED ${keySlot(keyB)} 127.0.0.1:7001\r\n`);

  // The same slots, asked again after the leader of shard A moved: the cached decision is not reused.
  current = view(OTHER);
  assert.equal(run('GET', keyA), `-MOVED ${slotA} 127.0.0.1:7001\r\n`);

  // Back as leader, with slot A migrating to shard B: a missing key is ASKed for, a present one served.
  current = view(ME, [{ slot: slotA, fromShardId: SHARD_A, toShardId: SHARD_B }]);
  assert.equal(run('GET', keyA), '$1\r\nv\r\n');
  assert.equal(run('DEL', keyA), ':1\r\n');
  assert.equal(run('GET', keyA), `-ASK ${slotA} 127.0.0.1:7001\r\n`);

  // Migration over: served locally again (a missing key reads as null).
  current = view(ME);
  assert.equal(run('GET', keyA), '$-1\r\n');
});
