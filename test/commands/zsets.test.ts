import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RealRedis, Runner, commandTable, compareWithRedis, type ScriptLine } from './hashes-lists-sets-zsets-harness.js';
import { WOULD_BLOCK } from '../../src/commands/types.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

const basics: ScriptLine[] = [
  ['ZADD', 'z', '1', 'a', '2', 'b', '3', 'c', '1.5', 'ab'],
  ['ZADD', 'z', '0.1', 'x', '-inf', 'ninf', '+inf', 'pinf', '1e3', 'big'],
  ['ZADD', 'z', 'NX', '9', 'a', '9', 'new'],
  ['ZADD', 'z', 'XX', 'CH', '5', 'a', '5', 'nope'],
  ['ZADD', 'z', 'GT', 'CH', '1', 'a', '10', 'b'],
  ['ZADD', 'z', 'LT', 'CH', '1', 'a', '10', 'c'],
  ['ZADD', 'z', 'INCR', '2.5', 'a'],
  ['ZADD', 'z', 'NX', 'INCR', '2.5', 'a'],
  ['ZADD', 'z', 'XX', 'INCR', '1', 'nope'],
  ['ZADD', 'z', 'INCR', '1', 'a', '2', 'b'],
  ['ZADD', 'z', 'NX', 'XX', '1', 'a'],
  ['ZADD', 'z', 'GT', 'LT', '1', 'a'],
  ['ZADD', 'z', 'GT', 'NX', '1', 'a'],
  ['ZADD', 'z', '1'],
  ['ZADD', 'z', '1', 'a', '2'],
  ['ZADD', 'z', 'nan', 'a'],
  ['ZADD', 'z', 'abc', 'a'],
  ['ZADD', 'z', '1e400', 'a'],
  ['ZADD', 'z', ' 1', 'a'],
  ['ZADD', 'z', 'INCR', '-inf', 'pinf'],
  ['ZADD', 'missing', 'XX', '1', 'a'],
  ['ZADD', 'missing', 'XX', 'INCR', '1', 'a'],
  ['EXISTS', 'missing'],
  ['ZINCRBY', 'z', '0.1', 'x'],
  ['ZINCRBY', 'z', '0.2', 'x'],
  ['ZINCRBY', 'z', 'x', 'x'],
  ['ZINCRBY', 'fresh', '5', 'm'],
  ['ZSCORE', 'z', 'x'],
  ['ZSCORE', 'z', 'pinf'],
  ['ZSCORE', 'z', 'nope'],
  ['ZSCORE', 'missing', 'nope'],
  ['ZMSCORE', 'z', 'a', 'nope', 'ninf'],
  ['ZMSCORE', 'missing', 'a'],
  ['ZCARD', 'z'],
  ['ZCARD', 'missing'],
  ['ZRANGE', 'z', '0', '-1', 'WITHSCORES'],
  ['ZRANGE', 'z', '0', '-1'],
  ['ZRANGE', 'z', '-3', '-2', 'withscores'],
  ['ZRANGE', 'z', '5', '2'],
  ['ZRANGE', 'z', '0', '-1', 'REV'],
  ['ZRANGE', 'z', '0', '1', 'REV', 'WITHSCORES'],
  ['ZRANGE', 'z', '(1', '3', 'BYSCORE'],
  ['ZRANGE', 'z', '3', '(1', 'BYSCORE', 'REV', 'WITHSCORES'],
  ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '1', '2'],
  ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '-1', '2'],
  ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '2', '-1'],
  ['ZRANGE', 'z', '-inf', '+inf', 'BYSCORE', 'LIMIT', '2', '0'],
  ['ZRANGE', 'z', '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', '1', '3', 'WITHSCORES'],
  ['ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '1'],
  ['ZRANGE', 'z', '0', '-1', 'LIMIT', '0', '-1'],
  ['ZRANGE', 'z', 'x', '-1'],
  ['ZRANGE', 'z', 'x', '1', 'BYSCORE'],
  ['ZRANGE', 'z', '[a', '[c', 'BYLEX', 'WITHSCORES'],
  ['ZRANGE', 'z', '0', '-1', 'BYSCORE', 'BYLEX'],
  ['ZRANGE', 'z', '0', '-1', 'REV', 'REV'],
  ['ZRANGE', 'z', '0', '-1', 'FOO'],
  ['ZRANGE', 'z', '0', '-1', 'LIMIT', '1'],
  ['ZRANGE', 'missing', '0', '-1'],
  ['ZRANGE', 'missing', 'x', '-1'],
  ['ZRANGEBYSCORE', 'z', '1', '3', 'WITHSCORES'],
  ['ZRANGEBYSCORE', 'z', '(1', '(3'],
  ['ZRANGEBYSCORE', 'z', '', '2'],
  ['ZRANGEBYSCORE', 'z', '(', '2'],
  ['ZRANGEBYSCORE', 'z', '1', '3', 'LIMIT', '1', '1', 'WITHSCORES'],
  ['ZRANGEBYSCORE', 'z', '1', '3', 'REV'],
  ['ZRANGEBYSCORE', 'z', 'a', '3'],
  ['ZRANGEBYSCORE', 'z', '3', '1'],
  ['ZREVRANGEBYSCORE', 'z', '3', '1', 'WITHSCORES'],
  ['ZREVRANGEBYSCORE', 'z', '+inf', '-inf', 'LIMIT', '0', '2'],
  ['ZREVRANGE', 'z', '0', '2', 'WITHSCORES'],
  ['ZREVRANGE', 'z', '0', '2', 'LIMIT', '0', '1'],
  ['ZRANK', 'z', 'a'],
  ['ZRANK', 'z', 'ninf'],
  ['ZRANK', 'z', 'nope'],
  ['ZREVRANK', 'z', 'ninf'],
  ['ZREVRANK', 'missing', 'ninf'],
  ['ZCOUNT', 'z', '1', '3'],
  ['ZCOUNT', 'z', '(1', '+inf'],
  ['ZCOUNT', 'z', '3', '1'],
  ['ZCOUNT', 'z', 'x', '1'],
  ['ZCOUNT', 'missing', '1', '2'],
  ['SET', 'str', 'x'],
  ['ZADD', 'str', '1', 'a'],
  ['ZSCORE', 'str', 'a'],
  ['ZRANGE', 'str', '0', '-1'],
  ['ZRANGE', 'str', 'x', '-1'],
  ['ZCARD', 'str'],
  ['ZINCRBY', 'str', '1', 'a'],
  ['ZPOPMIN', 'str'],
  ['ZRANDMEMBER', 'str'],
];

const lex: ScriptLine[] = [
  ['ZADD', 'l', '0', 'a', '0', 'b', '0', 'c', '0', 'd', '0', 'e', '0', 'ee', '0', 'f'],
  ['ZRANGEBYLEX', 'l', '-', '+'],
  ['ZRANGEBYLEX', 'l', '[b', '(e'],
  ['ZRANGEBYLEX', 'l', '(b', '[e'],
  ['ZRANGEBYLEX', 'l', '(b', '[e', 'LIMIT', '1', '2'],
  ['ZRANGEBYLEX', 'l', '+', '-'],
  ['ZRANGEBYLEX', 'l', '-', '-'],
  ['ZRANGEBYLEX', 'l', 'b', 'e'],
  ['ZRANGEBYLEX', 'l', '[b', '++'],
  ['ZRANGEBYLEX', 'l', '-', '+', 'WITHSCORES'],
  ['ZREVRANGEBYLEX', 'l', '[e', '(b'],
  ['ZREVRANGEBYLEX', 'l', '+', '-', 'LIMIT', '0', '3'],
  ['ZRANGE', 'l', '(e', '-', 'BYLEX', 'REV'],
  ['ZLEXCOUNT', 'l', '-', '+'],
  ['ZLEXCOUNT', 'l', '[c', '[e'],
  ['ZLEXCOUNT', 'l', 'c', '[e'],
  ['ZLEXCOUNT', 'missing', '-', '+'],
  ['ZREMRANGEBYLEX', 'l', '[ee', '+'],
  ['ZREMRANGEBYLEX', 'l', 'x', '+'],
  ['ZRANGE', 'l', '0', '-1'],
  ['ZADD', 'r', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
  ['ZREMRANGEBYRANK', 'r', '0', '1'],
  ['ZREMRANGEBYRANK', 'r', '-1', '-1'],
  ['ZREMRANGEBYRANK', 'r', '5', '10'],
  ['ZREMRANGEBYRANK', 'r', 'x', '1'],
  ['ZREMRANGEBYSCORE', 'r', '(3', '+inf'],
  ['ZREMRANGEBYSCORE', 'r', 'y', '+inf'],
  ['ZRANGE', 'r', '0', '-1', 'WITHSCORES'],
  ['ZREMRANGEBYSCORE', 'r', '-inf', '+inf'],
  ['EXISTS', 'r'],
  ['ZREMRANGEBYRANK', 'missing', '0', '1'],
  ['ZADD', 'src', '1', 'a', '2', 'b', '3', 'c'],
  ['ZRANGESTORE', 'dst', 'src', '0', '1'],
  ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
  ['ZRANGESTORE', 'dst', 'src', '(1', '+inf', 'BYSCORE', 'LIMIT', '0', '1'],
  ['ZRANGE', 'dst', '0', '-1', 'WITHSCORES'],
  ['ZRANGESTORE', 'dst', 'src', '0', '-1', 'WITHSCORES'],
  ['ZRANGESTORE', 'dst', 'missing', '0', '-1'],
  ['EXISTS', 'dst'],
  ['ZRANGESTORE', 'dst', 'src', '5', '6'],
];

const pops: ScriptLine[] = [
  ['ZADD', 'p', '1', 'a', '2', 'b', '3', 'c', '4', 'd', '5', 'e'],
  ['ZPOPMIN', 'p'],
  ['ZPOPMAX', 'p'],
  ['ZPOPMIN', 'p', '2'],
  ['ZPOPMAX', 'p', '0'],
  ['ZPOPMAX', 'p', '-1'],
  ['ZPOPMAX', 'p', 'x'],
  ['ZPOPMAX', 'p', '1', '2'],
  ['ZPOPMIN', 'missing'],
  ['ZPOPMIN', 'missing', '2'],
  ['ZPOPMAX', 'p', '10'],
  ['EXISTS', 'p'],
  ['ZADD', 'p', '1', 'a', '2', 'b', '3', 'c'],
  ['ZMPOP', '2', 'missing', 'p', 'MIN'],
  ['ZMPOP', '1', 'p', 'MAX', 'COUNT', '10'],
  ['ZMPOP', '1', 'p', 'MAX'],
  ['ZMPOP', '0', 'p', 'MAX'],
  ['ZMPOP', '1', 'p', 'UP'],
  ['ZMPOP', '1', 'p', 'MIN', 'COUNT', '0'],
  ['ZMPOP', '5', 'p', 'MIN'],
  ['ZADD', 'b', '1', 'a', '2', 'b'],
  ['BZPOPMIN', 'missing', 'b', '0'],
  ['BZPOPMAX', 'b', '0.1'],
  ['BZPOPMIN', 'b', 'x'],
  ['BZPOPMIN', 'b', '-1'],
  ['ZADD', 'b', '5', 'x', '6', 'y'],
  ['BZMPOP', '0', '1', 'b', 'MIN'],
  ['BZMPOP', '0', '0', 'b', 'MIN'],
  ['ZADD', 'q', '1', 'a', '2', 'b', '3', 'c'],
  ['ZRANDMEMBER', 'missing'],
  ['ZRANDMEMBER', 'missing', '2'],
  ['ZRANDMEMBER', 'q', '0'],
  ['ZRANDMEMBER', 'q', '10'],
  ['ZRANDMEMBER', 'q', '10', 'WITHSCORES'],
  ['ZRANDMEMBER', 'q', '1', 'WITHSCORE'],
  ['ZRANDMEMBER', 'q', 'x'],
  ['ZRANDMEMBER', 'q', '-9223372036854775808'],
  ['ZRANDMEMBER', 'q', '-4611686018427387904', 'WITHSCORES'],
  ['shape', 'ZRANDMEMBER', 'q', '-5', 'WITHSCORES'],
  ['shape', 'ZRANDMEMBER', 'q', '2'],
  ['ZSCAN', 'q', '0'],
  ['ZSCAN', 'q', '0', 'MATCH', 'a*'],
  ['ZSCAN', 'q', 'x'],
  ['ZSCAN', 'missing', '0'],
];

const algebra: ScriptLine[] = [
  ['ZADD', 'z1', '1', 'a', '2', 'b', '3', 'c'],
  ['ZADD', 'z2', '10', 'b', '20', 'c', '30', 'd'],
  ['SADD', 's1', 'a', 'd', 'e'],
  ['ZUNION', '2', 'z1', 'z2', 'WITHSCORES'],
  ['ZUNION', '3', 'z1', 'z2', 's1', 'WITHSCORES'],
  ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '2', '0.5', 'WITHSCORES'],
  ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'MAX', 'WITHSCORES'],
  ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'min'],
  ['ZUNION', '2', 'z1', 'missing'],
  ['ZINTER', '2', 'z1', 'z2', 'WITHSCORES'],
  ['ZINTER', '2', 'z1', 's1', 'WITHSCORES'],
  ['ZINTER', '2', 'z1', 'z2', 'WEIGHTS', '1', '-1', 'AGGREGATE', 'SUM', 'WITHSCORES'],
  ['ZINTER', '2', 'z1', 'missing'],
  ['ZDIFF', '2', 'z1', 'z2', 'WITHSCORES'],
  ['ZDIFF', '2', 'z1', 's1'],
  ['ZDIFF', '2', 'z1', 'z2', 'WEIGHTS', '1', '1'],
  ['ZDIFF', '2', 'z1', 'z2', 'AGGREGATE', 'MAX'],
  ['ZUNION', '0', 'z1'],
  ['ZUNION', 'x', 'z1'],
  ['ZUNION', '3', 'z1', 'z2'],
  ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1'],
  ['ZUNION', '2', 'z1', 'z2', 'WEIGHTS', '1', 'x'],
  ['ZUNION', '2', 'z1', 'z2', 'AGGREGATE', 'AVG'],
  ['ZUNION', '2', 'z1', 'z2', 'FOO'],
  ['SET', 'str', 'x'],
  ['ZUNION', '2', 'z1', 'str', 'FOO'],
  ['ZUNIONSTORE', 'out', '2', 'z1', 'z2'],
  ['ZRANGE', 'out', '0', '-1', 'WITHSCORES'],
  ['ZINTERSTORE', 'out', '2', 'z1', 'z2', 'WEIGHTS', '2', '3', 'AGGREGATE', 'MIN'],
  ['ZRANGE', 'out', '0', '-1', 'WITHSCORES'],
  ['ZDIFFSTORE', 'out', '2', 'z2', 'z1'],
  ['ZRANGE', 'out', '0', '-1', 'WITHSCORES'],
  ['ZINTERSTORE', 'out', '2', 'z1', 'missing'],
  ['EXISTS', 'out'],
  ['ZUNIONSTORE', 'out', '2', 'z1', 'z2', 'WITHSCORES'],
  ['ZUNIONSTORE', 'out', '0', 'z1'],
  ['ZINTERSTORE', 'out', '0', 'z1'],
  ['ZDIFFSTORE', 'out', '0', 'z1'],
  ['ZINTERCARD', '2', 'z1', 'z2'],
  ['ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '1'],
  ['ZINTERCARD', '2', 'z1', 'z2', 'LIMIT', '-1'],
  ['ZINTERCARD', '0', 'z1'],
  ['ZINTERCARD', '2', 'z1', 'z2', 'WITHSCORES'],
  ['ZADD', 'inf1', '+inf', 'a'],
  ['ZADD', 'inf2', '-inf', 'a'],
  ['ZUNION', '2', 'inf1', 'inf2', 'WITHSCORES'],
  ['ZUNION', '1', 'inf1', 'WEIGHTS', '0', 'WITHSCORES'],
];

const scripts = { basics, lex, pops, algebra };
for (const [name, script] of Object.entries(scripts)) {
  for (const resp of [2, 3] as const) {
    test(`sorted-set ${name} reply like Redis 7.0 (RESP${resp})`, async () => {
      assert.deepEqual(await compareWithRedis(redis, resp, script), []);
    });
  }
}

test('blocking sorted-set pops return WOULD_BLOCK when nothing can be served', () => {
  const r = new Runner(2);
  assert.equal(r.run('BZPOPMIN', 'a', 'b', '0'), WOULD_BLOCK);
  assert.equal(r.run('BZPOPMAX', 'a', '0'), WOULD_BLOCK);
  assert.equal(r.run('BZMPOP', '0', '1', 'a', 'MIN'), WOULD_BLOCK);
  assert.equal(r.db.size(), 0);
});

test('sorted-set movable keys', () => {
  assert.deepEqual(commandTable.get('zunionstore')!.getKeys!(['ZUNIONSTORE', 'd', '2', 'a', 'b', 'WEIGHTS', '1', '2']), [1, 3, 4]);
  assert.deepEqual(commandTable.get('zinter')!.getKeys!(['ZINTER', '2', 'a', 'b']), [2, 3]);
  assert.deepEqual(commandTable.get('zmpop')!.getKeys!(['ZMPOP', '1', 'a', 'MIN']), [2]);
  assert.deepEqual(commandTable.get('zunion')!.getKeys!(['ZUNION', 'x', 'a']), []);
});

test('a big sorted set through the commands: encoding, ranges and scan', () => {
  const r = new Runner(3);
  for (let i = 0; i < 200; i++) r.run('ZADD', 'big', String(i % 50), `m${i}`);
  assert.equal(r.run('ZCARD', 'big'), 200);
  assert.equal(r.run('ZCOUNT', 'big', '10', '(20'), 40);
  assert.deepEqual(r.run('ZRANGE', 'big', '0', '1'), ['m0', 'm100']);
  const seen = new Set<string>();
  let cursor = '0';
  let calls = 0;
  do {
    const [next, items] = r.run('ZSCAN', 'big', cursor) as [string, string[]];
    for (let i = 0; i < items.length; i += 2) seen.add(items[i]!);
    cursor = next;
    calls++;
  } while (cursor !== '0' && calls < 500);
  assert.equal(seen.size, 200);
  assert.ok(calls > 1);
});
