import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RealRedis, Runner, commandTable, compareWithRedis, type ScriptLine } from './hashes-lists-sets-zsets-harness.js';
import { SetReply } from '../../src/resp/reply.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

const script: ScriptLine[] = [
  ['SADD', 'i', '3', '1', '2', '10', '-5'],
  ['SADD', 'i', '1', '7'],
  ['SMEMBERS', 'i'],
  ['OBJECT', 'ENCODING', 'i'],
  ['SADD', 's', 'a', 'b', 'c', 'd'],
  ['sorted', 'SMEMBERS', 's'],
  ['SMEMBERS', 'missing'],
  ['SISMEMBER', 's', 'a'],
  ['SISMEMBER', 's', 'z'],
  ['SISMEMBER', 'missing', 'z'],
  ['SMISMEMBER', 's', 'a', 'z', 'b'],
  ['SMISMEMBER', 'missing', 'a'],
  ['SCARD', 's'],
  ['SCARD', 'missing'],
  ['SREM', 's', 'a', 'z', 'a'],
  ['SREM', 'missing', 'a'],
  ['SADD', 'j', '2', '3', '4', '100'],
  ['SINTER', 'i', 'j'],
  ['SUNION', 'i', 'j'],
  ['SDIFF', 'i', 'j'],
  ['SDIFF', 'j', 'i', 'missing'],
  ['SINTER', 'i', 'missing'],
  ['SUNION', 'missing', 'i'],
  ['SDIFF', 'missing', 'i'],
  ['SINTERSTORE', 'dst', 'i', 'j'],
  ['SMEMBERS', 'dst'],
  ['SUNIONSTORE', 'dst', 'i', 'j'],
  ['SMEMBERS', 'dst'],
  ['SDIFFSTORE', 'dst', 'i', 'j'],
  ['SMEMBERS', 'dst'],
  ['SINTERSTORE', 'dst', 'i', 'missing'],
  ['EXISTS', 'dst'],
  ['SINTERCARD', '2', 'i', 'j'],
  ['SINTERCARD', '2', 'i', 'j', 'LIMIT', '1'],
  ['SINTERCARD', '2', 'i', 'missing'],
  ['SINTERCARD', '0', 'i'],
  ['SINTERCARD', 'x', 'i'],
  ['SINTERCARD', '3', 'i', 'j'],
  ['SINTERCARD', '1', 'i', 'LIMIT', '-1'],
  ['SINTERCARD', '1', 'i', 'LIMIT', 'x'],
  ['SINTERCARD', '1', 'i', 'FOO'],
  ['SET', 'str', 'x'],
  ['SADD', 'str', 'a'],
  ['SMEMBERS', 'str'],
  ['SINTER', 'i', 'str'],
  ['SINTER', 'missing', 'str'],
  ['SUNIONSTORE', 'dst', 'i', 'str'],
  ['SCARD', 'str'],
  ['SPOP', 'str'],
  ['SMOVE', 'str', 'i', 'a'],
  ['SMOVE', 'i', 'str', '1'],
  ['SMOVE', 'i', 'k', '1'],
  ['SMOVE', 'i', 'k', '1'],
  ['SMOVE', 'i', 'i', '2'],
  ['SMOVE', 'missing', 'k', '2'],
  ['SMOVE', 'missing', 'str', '2'],
  ['SMEMBERS', 'k'],
  ['SPOP', 'missing'],
  ['SPOP', 'missing', '2'],
  ['SPOP', 'i', '0'],
  ['SPOP', 'i', '-1'],
  ['SPOP', 'i', 'x'],
  ['SPOP', 'i', '1', '2'],
  ['SPOP', 'k'],
  ['EXISTS', 'k'],
  ['SRANDMEMBER', 'missing'],
  ['SRANDMEMBER', 'missing', '3'],
  ['SRANDMEMBER', 'i', '0'],
  ['SRANDMEMBER', 'i', '100'],
  ['SRANDMEMBER', 'i', 'x'],
  ['SRANDMEMBER', 'i', '-9223372036854775808'],
  ['SRANDMEMBER', 'i', '1', '2'],
  ['shape', 'SRANDMEMBER', 'i', '-7'],
  ['shape', 'SRANDMEMBER', 'i', '2'],
  ['SADD', 'r', 'a', 'b', 'c', 'd', 'e'],
  ['shape', 'SPOP', 'r', '2'],
  ['shape', 'SPOP', 'r'],
  ['SCARD', 'r'],
  ['SPOP', 'i', '100'],
  ['EXISTS', 'i'],
  ['SSCAN', 'j', '0'],
  ['SSCAN', 'j', '0', 'MATCH', '1*'],
  ['SSCAN', 'j', 'x'],
  ['SSCAN', 'j', '0', 'COUNT', '0'],
  ['SSCAN', 'missing', '0'],
  ['SSCAN', 'str', '0'],
];

for (const resp of [2, 3] as const) {
  test(`set commands reply like Redis 7.0 (RESP${resp})`, async () => {
    assert.deepEqual(await compareWithRedis(redis, resp, script), []);
  });
}

test('SPOP and SRANDMEMBER are deterministic per seed and distinct for positive counts', () => {
  const run = (seed: number) => {
    const r = new Runner(2, seed);
    r.run('SADD', 's', ...Array.from({ length: 50 }, (_, i) => `m${i}`));
    const picked = r.run('SRANDMEMBER', 's', '10') as string[];
    const popped = (r.run('SPOP', 's', '5') as SetReply).items as string[];
    return { picked, popped, left: r.run('SCARD', 's') };
  };
  const a = run(11);
  assert.deepEqual(a, run(11));
  assert.equal(new Set(a.picked).size, 10);
  assert.equal(new Set(a.popped).size, 5);
  assert.equal(a.left, 45);
});

const many = (n: number, f: (i: number) => string[]) => Array.from({ length: n }, (_, i) => f(i)).flat();

const encodings: ScriptLine[] = [
  ['HSET', 'h1', ...many(512, (i) => [`f${i}`, 'v'])],
  ['OBJECT', 'ENCODING', 'h1'],
  ['HSET', 'h1', 'one-more', 'v'],
  ['OBJECT', 'ENCODING', 'h1'],
  ['HDEL', 'h1', 'one-more', 'f1', 'f2'],
  ['OBJECT', 'ENCODING', 'h1'],
  ['HSET', 'h2', 'f', 'v'.repeat(64)],
  ['OBJECT', 'ENCODING', 'h2'],
  ['HSET', 'h2', 'f'.repeat(65), 'v'],
  ['OBJECT', 'ENCODING', 'h2'],
  ['SADD', 's1', ...many(512, (i) => [String(i)])],
  ['OBJECT', 'ENCODING', 's1'],
  ['SADD', 's1', '512'],
  ['OBJECT', 'ENCODING', 's1'],
  ['SADD', 's2', '1', '2'],
  ['SADD', 's2', 'x'],
  ['OBJECT', 'ENCODING', 's2'],
  ['SREM', 's2', 'x'],
  ['OBJECT', 'ENCODING', 's2'],
  ['SADD', 's3', 'x', '1'],
  ['OBJECT', 'ENCODING', 's3'],
  ['SUNIONSTORE', 's4', 's2', 's2'],
  ['OBJECT', 'ENCODING', 's4'],
  ['SINTERSTORE', 's5', 's3', 's2'],
  ['OBJECT', 'ENCODING', 's5'],
  ['ZADD', 'z1', ...many(128, (i) => [String(i), `m${i}`])],
  ['OBJECT', 'ENCODING', 'z1'],
  ['ZADD', 'z1', '1', 'extra'],
  ['OBJECT', 'ENCODING', 'z1'],
  ['ZADD', 'z2', '1', 'm'.repeat(65)],
  ['OBJECT', 'ENCODING', 'z2'],
  ['ZRANGESTORE', 'z3', 'z1', '0', '3'],
  ['OBJECT', 'ENCODING', 'z3'],
  ['ZUNIONSTORE', 'z4', '2', 'z1', 'z2'],
  ['OBJECT', 'ENCODING', 'z4'],
  ['ZUNIONSTORE', 'z5', '1', 's2'],
  ['OBJECT', 'ENCODING', 'z5'],
  ['RPUSH', 'l', 'a'],
  ['OBJECT', 'ENCODING', 'l'],
];

test('encodings follow Redis 7.0 (OBJECT ENCODING)', async () => {
  assert.deepEqual(await compareWithRedis(redis, 2, encodings), []);
});

test('sintercard movable keys', () => {
  assert.deepEqual(commandTable.get('sintercard')!.getKeys!(['SINTERCARD', '2', 'a', 'b', 'LIMIT', '1']), [2, 3]);
});
