import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RealRedis, Runner, compareWithRedis, type ScriptLine } from './hashes-lists-sets-zsets-harness.js';
import { WOULD_BLOCK } from '../../src/commands/types.js';
import { commandTable } from './hashes-lists-sets-zsets-harness.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

const script: ScriptLine[] = [
  ['RPUSH', 'l', 'a', 'b', 'c', 'd', 'e'],
  ['LPUSH', 'l', 'z', 'y'],
  ['LPUSHX', 'missing', 'a'],
  ['RPUSHX', 'missing', 'a'],
  ['RPUSHX', 'l', 'f'],
  ['LLEN', 'l'],
  ['LLEN', 'missing'],
  ['LRANGE', 'l', '0', '-1'],
  ['LRANGE', 'l', '-3', '100'],
  ['LRANGE', 'l', '5', '2'],
  ['LRANGE', 'l', '-100', '1'],
  ['LRANGE', 'l', '100', '200'],
  ['LRANGE', 'l', 'x', '1'],
  ['LRANGE', 'missing', '0', '-1'],
  ['LINDEX', 'l', '0'],
  ['LINDEX', 'l', '-1'],
  ['LINDEX', 'l', '99'],
  ['LINDEX', 'l', 'x'],
  ['LINDEX', 'missing', '0'],
  ['LSET', 'l', '1', 'Y'],
  ['LSET', 'l', '99', 'Y'],
  ['LSET', 'l', 'x', 'Y'],
  ['LSET', 'missing', '0', 'Y'],
  ['LINSERT', 'l', 'BEFORE', 'a', 'pre'],
  ['LINSERT', 'l', 'after', 'f', 'post'],
  ['LINSERT', 'l', 'AFTER', 'nope', 'x'],
  ['LINSERT', 'l', 'MIDDLE', 'a', 'x'],
  ['LINSERT', 'missing', 'AFTER', 'a', 'x'],
  ['RPUSH', 'r', 'x', 'y', 'x', 'z', 'x', 'x'],
  ['LREM', 'r', '2', 'x'],
  ['LREM', 'r', '-1', 'x'],
  ['LRANGE', 'r', '0', '-1'],
  ['LREM', 'r', '0', 'x'],
  ['LREM', 'r', 'q', 'x'],
  ['LREM', 'missing', '0', 'x'],
  ['LTRIM', 'r', '1', '-1'],
  ['LRANGE', 'r', '0', '-1'],
  ['LTRIM', 'r', '5', '1'],
  ['EXISTS', 'r'],
  ['LTRIM', 'missing', '0', '1'],
  ['RPUSH', 'p', 'a', 'b', 'c', '1', '2', '3', 'c', 'c'],
  ['LPOS', 'p', 'c'],
  ['LPOS', 'p', 'c', 'RANK', '2'],
  ['LPOS', 'p', 'c', 'RANK', '-1'],
  ['LPOS', 'p', 'c', 'COUNT', '0'],
  ['LPOS', 'p', 'c', 'COUNT', '2', 'RANK', '-1'],
  ['LPOS', 'p', 'c', 'MAXLEN', '3', 'COUNT', '0'],
  ['LPOS', 'p', 'c', 'RANK', '0'],
  ['LPOS', 'p', 'c', 'COUNT', '-1'],
  ['LPOS', 'p', 'c', 'MAXLEN', '-1'],
  ['LPOS', 'p', 'c', 'RANK', '-9223372036854775808'],
  ['LPOS', 'p', 'c', 'RANK'],
  ['LPOS', 'p', 'c', 'COUNT', 'x'],
  ['LPOS', 'p', 'c', 'RANK', 'x'],
  ['LPOS', 'p', 'c', 'MAXLEN', 'x'],
  ['LPOS', 'p', 'c', 'FOO', '1'],
  ['LPOS', 'p', 'zz'],
  ['LPOS', 'p', 'zz', 'COUNT', '1'],
  ['LPOS', 'missing', 'zz'],
  ['LPOS', 'missing', 'zz', 'COUNT', '1'],
  ['LPOP', 'p'],
  ['RPOP', 'p'],
  ['LPOP', 'p', '2'],
  ['RPOP', 'p', '2'],
  ['LPOP', 'p', '0'],
  ['LPOP', 'p', '-1'],
  ['LPOP', 'p', 'x'],
  ['LPOP', 'p', '1', '2'],
  ['LPOP', 'missing'],
  ['LPOP', 'missing', '2'],
  ['LPOP', 'missing', '0'],
  ['RPOP', 'p', '100'],
  ['EXISTS', 'p'],
  ['RPUSH', 'm', '1', '2', '3'],
  ['LMOVE', 'm', 'n', 'LEFT', 'RIGHT'],
  ['LMOVE', 'm', 'n', 'right', 'left'],
  ['LMOVE', 'm', 'm', 'LEFT', 'RIGHT'],
  ['LMOVE', 'm', 'n', 'UP', 'LEFT'],
  ['LMOVE', 'missing', 'n', 'LEFT', 'LEFT'],
  ['RPOPLPUSH', 'm', 'n'],
  ['RPOPLPUSH', 'n', 'n'],
  ['LRANGE', 'n', '0', '-1'],
  ['EXISTS', 'm'],
  ['SET', 's', 'x'],
  ['RPOPLPUSH', 'n', 's'],
  ['RPOPLPUSH', 's', 'n'],
  ['LPUSH', 's', 'a'],
  ['LRANGE', 's', '0', '1'],
  ['LLEN', 's'],
  ['LPOP', 's'],
  ['LMPOP', '2', 'missing', 'n', 'LEFT'],
  ['LMPOP', '2', 'missing', 'n', 'RIGHT', 'COUNT', '10'],
  ['LMPOP', '1', 'missing', 'LEFT'],
  ['LMPOP', '0', 'n', 'LEFT'],
  ['LMPOP', '3', 'n', 'LEFT'],
  ['LMPOP', '1', 'n', 'LEFT', 'COUNT', '0'],
  ['LMPOP', '1', 'n', 'LEFT', 'COUNT'],
  ['LMPOP', '1', 'n', 'UP'],
  ['LMPOP', '1', 's', 'LEFT'],
  ['LMPOP', 'x', 'n', 'LEFT'],
  ['RPUSH', 'b', 'x', 'y'],
  ['BLPOP', 'missing', 'b', '0'],
  ['BRPOP', 'b', '0.5'],
  ['BLPOP', 'b', 'x'],
  ['BLPOP', 'b', '-1'],
  ['BLPOP', 's', '0'],
  ['RPUSH', 'b', 'x', 'y'],
  ['BLMOVE', 'b', 'c', 'LEFT', 'LEFT', '0'],
  ['BLMOVE', 'b', 'c', 'LEFT', 'DOWN', '0'],
  ['BRPOPLPUSH', 'b', 'c', '1'],
  ['BRPOPLPUSH', 'c', 'c', 'abc'],
  ['BLMPOP', '0', '1', 'c', 'LEFT', 'COUNT', '5'],
  ['BLMPOP', 'x', '1', 'c', 'LEFT'],
  ['BLMPOP', '0', '0', 'c', 'LEFT'],
  ['RPUSH', 'bb', '1', '2', '3', '4', '5', '6', '7', '8'],
  ['BLPOP', 'bb', 'inf'],
  ['BLPOP', 'bb', '1e400'],
  ['BLPOP', 'bb', '9223372036854775807'],
  ['BLPOP', 'bb', '9223372036854775.807'],
  ['BLPOP', 'bb', ' 1'],
  ['BLPOP', 'bb', '0.0001'],
  ['BLPOP', 'bb', '-0.0001'],
  ['BLPOP', 'bb', ''],
];

for (const resp of [2, 3] as const) {
  test(`list commands reply like Redis 7.0 (RESP${resp})`, async () => {
    assert.deepEqual(await compareWithRedis(redis, resp, script), []);
  });
}

test('blocking list commands return WOULD_BLOCK when nothing can be served, and change nothing', () => {
  const r = new Runner(2);
  assert.equal(r.run('BLPOP', 'a', 'b', '0'), WOULD_BLOCK);
  assert.equal(r.run('BRPOP', 'a', '1.5'), WOULD_BLOCK);
  assert.equal(r.run('BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '0'), WOULD_BLOCK);
  assert.equal(r.run('BRPOPLPUSH', 'a', 'b', '0'), WOULD_BLOCK);
  assert.equal(r.run('BLMPOP', '0', '2', 'a', 'b', 'LEFT'), WOULD_BLOCK);
  assert.equal(r.db.size(), 0);
  r.run('RPUSH', 'b', 'v');
  assert.deepEqual(r.run('BLPOP', 'a', 'b', '0'), ['b', 'v']);
  assert.equal(r.db.size(), 0);
});

test('list specs: movable keys and blocking flags', () => {
  const lmpop = commandTable.get('lmpop')!;
  assert.deepEqual(lmpop.getKeys!(['LMPOP', '2', 'a', 'b', 'LEFT']), [2, 3]);
  assert.deepEqual(commandTable.get('blmpop')!.getKeys!(['BLMPOP', '0', '1', 'a', 'LEFT']), [3]);
  assert.ok(commandTable.get('blpop')!.flags.includes('blocking'));
  assert.deepEqual(commandTable.get('blpop')!.keys, { first: 1, last: -2, step: 1 });
});

test('a long list stays fast at both ends', () => {
  const r = new Runner(2);
  for (let i = 0; i < 2000; i++) r.run('RPUSH', 'big', ...Array.from({ length: 50 }, (_, j) => `v${i}:${j}`));
  assert.equal(r.run('LLEN', 'big'), 100_000);
  assert.equal(r.run('LINDEX', 'big', '50000'), 'v1000:0');
  const t0 = performance.now();
  for (let i = 0; i < 50_000; i++) r.run('LPOP', 'big');
  assert.ok(performance.now() - t0 < 10_000);
  assert.equal(r.run('LLEN', 'big'), 50_000);
});
