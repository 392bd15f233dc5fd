// A keyspace snapshot carries every type (design §7): hashes, lists, sets and sorted sets round-trip
// through encodeSnapshot/SnapshotLoader with their contents, encodings and expiries.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyspace } from '../../src/store/keyspace.js';
import { SnapshotLoader, encodeSnapshot } from '../../src/store/snapshot.js';
import { buildCommandTable } from '../../src/commands/table.js';
import type { DataContext } from '../../src/commands/types.js';
import type { Reply } from '../../src/resp/reply.js';

const table = buildCommandTable();

function run(db: Keyspace, ...argv: string[]): Reply {
  const spec = table.get(argv[0]!.toLowerCase());
  assert.ok(spec !== undefined && spec.kind === 'data', `${argv[0]} is a data command`);
  const ctx: DataContext = { db, nowMs: 1_000_000, random: () => 0.5, resp: 2 };
  const reply = spec.run(ctx, argv);
  assert.equal(typeof reply === 'symbol', false);
  return reply as Reply;
}

test('every collection type survives a snapshot round trip', () => {
  const db = new Keyspace();
  for (let i = 0; i < 300; i++) {
    run(db, 'HSET', 'h', `f${i}`, `v${i}`);
    run(db, 'RPUSH', 'l', `e${i}`);
    run(db, 'SADD', 's', `m${i}`);
    run(db, 'SADD', 'ints', String(i));
    run(db, 'ZADD', 'z', String(i / 7), `z${i}`);
  }
  run(db, 'HSET', 'small', 'a', '\x00\xff');
  run(db, 'PEXPIREAT', 'z', '5000000');
  const keys = ['h', 'l', 's', 'ints', 'z', 'small'];

  const copy = new Keyspace();
  const loader = new SnapshotLoader(copy);
  for (const chunk of encodeSnapshot(db, 1024)) loader.push(chunk);

  assert.equal(copy.size(), db.size());
  for (const key of keys) {
    assert.deepEqual(run(copy, 'DUMP', key), run(db, 'DUMP', key), `DUMP of ${key}`);
    assert.deepEqual(run(copy, 'OBJECT', 'ENCODING', key), run(db, 'OBJECT', 'ENCODING', key));
    assert.deepEqual(run(copy, 'TYPE', key), run(db, 'TYPE', key));
  }
  assert.deepEqual(run(copy, 'ZRANGE', 'z', '0', '-1', 'WITHSCORES'), run(db, 'ZRANGE', 'z', '0', '-1', 'WITHSCORES'));
  assert.deepEqual(run(copy, 'LRANGE', 'l', '0', '-1'), run(db, 'LRANGE', 'l', '0', '-1'));
  assert.equal(copy.getExpireAt('z'), 5_000_000);
});
