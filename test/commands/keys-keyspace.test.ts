// KEYS, SCAN, RANDOMKEY, DBSIZE (keyless server commands) over one or several keyspaces.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { keyspaceCommands } from '../../src/commands/keyspace.js';
import type { ServerCommand } from '../../src/commands/types.js';
import type { ServerContext } from '../../src/commands/server-context.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { keySlot } from '../../src/cluster/slot.js';
import type { Reply } from '../../src/resp/reply.js';
import { FakeCollection, RealRedis, plain, type Plain } from '../store/harness.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(async () => {
  await redis.stop();
});

function context(keyspaces: Keyspace[], nowMs: number): ServerContext {
  const server = { keyspaces: () => keyspaces, nowMs: () => nowMs } as unknown as ServerContext['server'];
  return { session: {} as ServerContext['session'], server };
}

async function run(keyspaces: Keyspace[], nowMs: number, ...argv: string[]): Promise<Plain> {
  const spec = keyspaceCommands.find((c) => c.name === argv[0]!.toLowerCase()) as ServerCommand<ServerContext>;
  return plain((await spec.run(context(keyspaces, nowMs), argv)) as Reply);
}

/** Keys spread over two shards that own alternate slots. */
function twoShards(keys: string[]): Keyspace[] {
  const shards = [new Keyspace(), new Keyspace()];
  for (const key of keys) shards[keySlot(key) % 2]!.set(key, 'v', 0);
  return shards;
}

async function fullScan(call: (cursor: string) => Promise<Plain>): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let i = 0; i < 100000; i++) {
    const [next, batch] = (await call(cursor)) as [string, string[]];
    keys.push(...batch);
    cursor = next;
    if (cursor === '0') break;
  }
  return keys.sort();
}

test('KEYS, SCAN with MATCH and COUNT, DBSIZE: the same keys as Redis, across shards', async () => {
  const keys = Array.from({ length: 500 }, (_, i) => (i % 3 === 0 ? `user:${i}` : `item:${i}`));
  await redis.call('FLUSHALL');
  for (const key of keys) await redis.call('SET', key, 'v');
  const shards = twoShards(keys);
  for (const pattern of ['*', 'user:*', 'item:1?', '*[05]', 'nothing*']) {
    const theirs = ((await redis.call('KEYS', pattern)) as string[]).sort();
    const ours = ((await run(shards, 0, 'KEYS', pattern)) as string[]).sort();
    assert.deepEqual(ours, theirs, `KEYS ${pattern}`);
    const scanned = await fullScan((cursor) => run(shards, 0, 'SCAN', cursor, 'MATCH', pattern, 'COUNT', '7'));
    assert.deepEqual(scanned, theirs, `SCAN MATCH ${pattern}`);
  }
  assert.deepEqual(await run(shards, 0, 'DBSIZE'), await redis.call('DBSIZE'));
});

test('SCAN TYPE and argument errors as Redis', async () => {
  await redis.call('FLUSHALL');
  await redis.call('SET', 's', 'v');
  await redis.call('RPUSH', 'l', 'a');
  const db = new Keyspace();
  db.set('s', 'v', 0);
  db.set('l', new FakeCollection('list', 5), 0);
  const cases = [
    ['SCAN', '0', 'TYPE', 'list', 'COUNT', '100'],
    ['SCAN', '0', 'TYPE', 'STRING', 'COUNT', '100'],
    ['SCAN', '0', 'TYPE', 'nosuchtype', 'COUNT', '100'],
    ['SCAN', 'abc'],
    ['SCAN', '-'],
    ['SCAN', '+'],
    ['SCAN', ''],
    ['SCAN', '+0', 'COUNT', '100'],
    ['SCAN', '1x'],
    ['SCAN', '18446744073709551616'],
    ['SCAN', '0', 'COUNT', '0'],
    ['SCAN', '0', 'COUNT', '-1'],
    ['SCAN', '0', 'COUNT', 'x'],
    ['SCAN', '0', 'COUNT'],
    ['SCAN', '0', 'FOO', 'bar'],
    ['SCAN', '0', 'MATCH'],
  ];
  // Key order within a reply is an implementation detail (hash order in Redis, slot order here).
  const sorted = (reply: Plain): Plain =>
    Array.isArray(reply) && Array.isArray(reply[1]) ? [reply[0]!, [...reply[1]].sort()] : reply;
  for (const argv of cases) {
    assert.deepEqual(sorted(await run([db], 0, ...argv)), sorted(await redis.call(...argv)), argv.join(' '));
  }
});

test('SCAN skips expired keys; RANDOMKEY returns live keys; empty keyspace answers', async () => {
  const db = new Keyspace();
  assert.equal(await run([db], 0, 'RANDOMKEY'), null);
  assert.deepEqual(await run([db], 0, 'SCAN', '0'), ['0', []]);
  assert.deepEqual(await run([db], 0, 'KEYS', '*'), []);
  db.set('live', 'v', 0);
  db.set('dead', 'v', 0, 10);
  assert.deepEqual(await fullScan((c) => run([db], 20, 'SCAN', c)), ['live']);
  assert.deepEqual(await run([db], 20, 'KEYS', '*'), ['live']);
  for (let i = 0; i < 20; i++) assert.equal(await run([db], 20, 'RANDOMKEY'), 'live');
  assert.equal(await run([db], 20, 'DBSIZE'), '2', 'DBSIZE counts keys not yet deleted, as Redis');
  const shards = twoShards(Array.from({ length: 100 }, (_, i) => `k${i}`));
  const seen = new Set<Plain>();
  for (let i = 0; i < 200; i++) seen.add(await run(shards, i, 'RANDOMKEY'));
  assert.ok(seen.size > 20, `RANDOMKEY spreads over keys of both shards (${seen.size})`);
});
