import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RealRedis, Runner, compareWithRedis, type ScriptLine } from './hashes-lists-sets-zsets-harness.js';
import { HashValue } from '../../src/store/types/hash.js';
import { ErrorReply } from '../../src/resp/reply.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

const script: ScriptLine[] = [
  ['HSET', 'h', 'f1', 'v1', 'f2', 'v2'],
  ['HSET', 'h', 'f1', 'x', 'f3', 'v3'],
  ['HSET', 'h', 'f1'],
  ['HMSET', 'h', 'a', 'b'],
  ['HMSET', 'h', 'a'],
  ['HGET', 'h', 'f1'],
  ['HGET', 'h', 'nope'],
  ['HGET', 'missing', 'f'],
  ['HMGET', 'h', 'f1', 'nope', 'f2'],
  ['HMGET', 'missing', 'a', 'b'],
  ['HGETALL', 'h'],
  ['HGETALL', 'missing'],
  ['HKEYS', 'h'],
  ['HVALS', 'h'],
  ['HKEYS', 'missing'],
  ['HLEN', 'h'],
  ['HLEN', 'missing'],
  ['HEXISTS', 'h', 'f2'],
  ['HEXISTS', 'h', 'zz'],
  ['HSTRLEN', 'h', 'f3'],
  ['HSTRLEN', 'h', 'zz'],
  ['HSETNX', 'h', 'f1', 'y'],
  ['HSETNX', 'h', 'new', 'y'],
  ['HSETNX', 'fresh', 'f', 'v'],
  ['HDEL', 'h', 'f1', 'f1', 'nope'],
  ['HDEL', 'missing', 'x'],
  ['HINCRBY', 'h', 'n', '5'],
  ['HINCRBY', 'h', 'n', '-7'],
  ['HINCRBY', 'h', 'f2', '1'],
  ['HINCRBY', 'h', 'n', 'x'],
  ['HINCRBY', 'h', 'big', '9223372036854775807'],
  ['HINCRBY', 'h', 'big', '1'],
  ['HINCRBYFLOAT', 'h', 'fl', '10.5'],
  ['HINCRBYFLOAT', 'h', 'fl', '0.1'],
  ['HINCRBYFLOAT', 'h', 'fl', '-0.6'],
  ['HINCRBYFLOAT', 'h', 'fl', '1e3'],
  ['HINCRBYFLOAT', 'h', 'f2', '1'],
  ['HINCRBYFLOAT', 'h', 'fl', 'abc'],
  ['HINCRBYFLOAT', 'h', 'fl', 'inf'],
  ['HINCRBYFLOAT', 'h', 'n', '1.5'],
  ['HGETALL', 'h'],
  ['SET', 'str', 'x'],
  ['HGET', 'str', 'f'],
  ['HSET', 'str', 'f', 'v'],
  ['HGETALL', 'str'],
  ['HDEL', 'str', 'f'],
  ['HLEN', 'str'],
  ['HRANDFIELD', 'str'],
  ['HSCAN', 'str', '0'],
  ['HINCRBY', 'str', 'f', '1'],
  ['HRANDFIELD', 'missing'],
  ['HRANDFIELD', 'missing', '3'],
  ['HRANDFIELD', 'h', '0'],
  ['HRANDFIELD', 'h', '100'],
  ['HRANDFIELD', 'h', '100', 'WITHVALUES'],
  ['HRANDFIELD', 'h', '100', 'withvalue'],
  ['HRANDFIELD', 'h', 'x'],
  ['HRANDFIELD', 'h', '1', 'WITHVALUES', 'x'],
  ['HRANDFIELD', 'h', '-9223372036854775808', 'WITHVALUES'],
  ['shape', 'HRANDFIELD', 'h', '-5'],
  ['shape', 'HRANDFIELD', 'h', '-5', 'WITHVALUES'],
  ['shape', 'HRANDFIELD', 'h', '2'],
  ['HSCAN', 'h', '0'],
  ['HSCAN', 'h', '0', 'MATCH', 'f*'],
  ['HSCAN', 'h', '0', 'COUNT', '0'],
  ['HSCAN', 'h', '0', 'COUNT', 'x'],
  ['HSCAN', 'h', '0', 'FOO', 'x'],
  ['HSCAN', 'h', 'abc'],
  ['HSCAN', 'missing', '0', 'COUNT', '0'],
  ['HDEL', 'h', 'f2', 'f3', 'a', 'new', 'n', 'big', 'fl'],
  ['EXISTS', 'h'],
];

for (const resp of [2, 3] as const) {
  test(`hash commands reply like Redis 7.0 (RESP${resp})`, async () => {
    const mismatches = await compareWithRedis(redis, resp, script);
    assert.deepEqual(mismatches, []);
  });
}

test('hash encodings and big-hash HSCAN cover every field', () => {
  const r = new Runner(2);
  const args: string[] = [];
  for (let i = 0; i < 600; i++) args.push(`field:${i}`, 'v');
  r.run('HSET', 'big', ...args);
  const hash = r.db.get("big", r.nowMs) as unknown as HashValue;
  assert.equal(hash.encoding(), 'hashtable');
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  do {
    const [next, items] = r.run('HSCAN', 'big', cursor, 'COUNT', '50') as [string, string[]];
    for (let i = 0; i < items.length; i += 2) seen.add(items[i]!);
    cursor = next;
    calls++;
  } while (cursor !== '0' && calls < 1000);
  assert.equal(seen.size, 600);
  assert.ok(calls > 5);
});

test('random picks with a huge negative count are refused instead of building a giant reply', () => {
  const r = new Runner(2);
  r.run('HSET', 'h', 'a', '1');
  r.run('SADD', 's', 'a');
  r.run('ZADD', 'z', '1', 'a');
  for (const argv of [['HRANDFIELD', 'h', '-20000000'], ['SRANDMEMBER', 's', '-20000000'], ['ZRANDMEMBER', 'z', '-20000000']]) {
    assert.deepEqual(r.run(...argv), new ErrorReply('ERR value is out of range'));
  }
  assert.equal((r.run('SRANDMEMBER', 's', '-1000') as string[]).length, 1000);
});

test('HRANDFIELD is deterministic for a given seed and picks distinct fields for positive counts', () => {
  const picks = (seed: number) => {
    const r = new Runner(2, seed);
    r.run('HSET', 'h', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5');
    return r.run('HRANDFIELD', 'h', '3') as string[];
  };
  assert.deepEqual(picks(5), picks(5));
  assert.equal(new Set(picks(9)).size, 3);
});
