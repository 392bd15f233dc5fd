// Random scripts of order-deterministic commands, run on slotraft's handlers and on a real Redis 7.0:
// every reply must be byte-identical (replies in a hash order are compared as multisets). The sizes
// cross the encoding thresholds (listpack -> hashtable/skiplist, intset -> hashtable).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { RealRedis, Runner, compareWithRedis, lineMode, type ScriptLine } from './hashes-lists-sets-zsets-harness.js';
import { dumpValue } from '../../src/store/dump.js';
import { Prng } from '../sim/prng.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

const SCORES = ['0', '1', '-1', '2.5', '0.1', '1e-5', '3.14159', '-inf', '+inf', '1e20', '123456789012345678', '(1', '(2.5'];

function generate(seed: number, steps: number): ScriptLine[] {
  const rng = new Prng(seed);
  const pick = <T>(items: readonly T[]): T => items[rng.int(0, items.length - 1)]!;
  const member = () => (rng.chance(0.3) ? String(rng.int(-50, 700)) : `m${rng.int(0, 400)}${rng.chance(0.02) ? 'x'.repeat(70) : ''}`);
  const int = () => String(rng.int(-8, 8));
  const score = () => pick(SCORES.slice(0, 11));
  const bound = () => pick([...SCORES, '-inf', '+inf']);
  const lex = () => pick(['-', '+', '[m1', '(m2', '[m3', '(m', '[5']);
  const script: ScriptLine[] = [];
  const many = (n: number, f: () => string | string[]) => Array.from({ length: rng.int(1, n) }, f).flat();
  for (let i = 0; i < steps; i++) {
    const line: string[] = pick<() => string[]>([
      // hashes
      () => ['HSET', 'h', ...many(20, () => [member(), member()])],
      () => ['HDEL', 'h', ...many(5, member)],
      () => ['HGET', 'h', member()],
      () => ['HMGET', 'h', member(), member()],
      () => ['HLEN', 'h'],
      () => ['HINCRBY', 'h', `n${rng.int(0, 3)}`, int()],
      () => ['HSTRLEN', 'h', member()],
      () => ['sorted', 'HGETALL', 'h'],
      // lists
      () => ['RPUSH', 'l', ...many(30, member)],
      () => ['LPUSH', 'l', ...many(30, member)],
      () => ['LPOP', 'l', ...(rng.chance(0.5) ? [String(rng.int(0, 5))] : [])],
      () => ['RPOP', 'l', ...(rng.chance(0.5) ? [String(rng.int(0, 5))] : [])],
      () => ['LRANGE', 'l', int(), int()],
      () => ['LINDEX', 'l', int()],
      () => ['LSET', 'l', int(), member()],
      () => ['LINSERT', 'l', pick(['BEFORE', 'AFTER']), member(), member()],
      () => ['LREM', 'l', int(), member()],
      () => ['LTRIM', 'l', String(rng.int(0, 3)), String(rng.int(-3, 300))],
      () => ['LPOS', 'l', member(), 'RANK', pick(['1', '-1', '2']), 'COUNT', String(rng.int(0, 3))],
      () => ['LMOVE', 'l', pick(['l', 'l2']), pick(['LEFT', 'RIGHT']), pick(['LEFT', 'RIGHT'])],
      () => ['LLEN', 'l2'],
      // sets
      () => ['SADD', pick(['s', 't']), ...many(40, member)],
      () => ['SREM', pick(['s', 't']), ...many(10, member)],
      () => ['SISMEMBER', 's', member()],
      () => ['SCARD', pick(['s', 't'])],
      () => ['sorted', 'SMEMBERS', 's'],
      () => ['sorted', pick(['SINTER', 'SUNION', 'SDIFF']), 's', 't'],
      () => [pick(['SINTERSTORE', 'SUNIONSTORE', 'SDIFFSTORE']), 'u', 's', 't'],
      () => ['SCARD', 'u'],
      () => ['SINTERCARD', '2', 's', 't'],
      () => ['SMOVE', 's', 't', member()],
      // sorted sets
      () => ['ZADD', pick(['z', 'y']), ...pick([[], ['NX'], ['XX'], ['GT', 'CH'], ['LT']]), ...many(30, () => [score(), member()])],
      () => ['ZINCRBY', 'z', score(), member()],
      () => ['ZREM', 'z', ...many(8, member)],
      () => ['ZRANGE', 'z', int(), int(), ...pick([[], ['WITHSCORES'], ['REV', 'WITHSCORES']])],
      () => ['ZRANGE', 'z', bound(), bound(), 'BYSCORE', ...pick([[], ['WITHSCORES'], ['LIMIT', int(), int()]])],
      () => ['ZREVRANGEBYSCORE', 'z', bound(), bound(), 'WITHSCORES'],
      // Lex ranges are only defined when all scores are equal.
      () => ['ZADD', 'x', ...many(30, () => ['0', member()])],
      () => ['ZREM', 'x', ...many(8, member)],
      () => ['ZRANGEBYLEX', 'x', lex(), lex(), ...pick([[], ['LIMIT', int(), int()]])],
      () => ['ZREVRANGEBYLEX', 'x', lex(), lex()],
      () => ['ZLEXCOUNT', 'x', lex(), lex()],
      () => ['ZREMRANGEBYLEX', 'x', lex(), lex()],
      () => ['ZCOUNT', 'z', bound(), bound()],
      () => ['ZRANK', 'z', member()],
      () => ['ZREVRANK', 'z', member()],
      () => ['ZSCORE', 'z', member()],
      () => ['ZCARD', 'z'],
      () => [pick(['ZPOPMIN', 'ZPOPMAX']), 'z', ...(rng.chance(0.5) ? [String(rng.int(0, 4))] : [])],
      () => ['ZREMRANGEBYRANK', 'z', int(), int()],
      () => ['ZREMRANGEBYSCORE', 'z', bound(), bound()],
      () => [pick(['ZUNION', 'ZINTER', 'ZDIFF']), '2', 'z', 'y', 'WITHSCORES'],
      () => [pick(['ZUNIONSTORE', 'ZINTERSTORE']), 'w', '3', 'z', 'y', 's', 'AGGREGATE', pick(['SUM', 'MIN', 'MAX'])],
      () => ['ZRANGE', 'w', '0', '-1', 'WITHSCORES'],
      () => ['ZRANGESTORE', 'v', 'z', bound(), bound(), 'BYSCORE'],
      () => ['ZMPOP', '2', 'v', 'z', pick(['MIN', 'MAX']), 'COUNT', String(rng.int(1, 3))],
    ])();
    script.push(line);
  }
  return script;
}

for (const seed of [1, 2, 3]) {
  test(`random script ${seed} replies byte for byte like Redis 7.0`, async () => {
    const script = generate(seed, 1500);
    const mismatches = await compareWithRedis(redis, (seed % 2 === 0 ? 3 : 2) as 2 | 3, script);
    assert.deepEqual(mismatches.slice(0, 5), []);
  });
}

test('replicas that apply the same commands with the same seed end equal, random picks included', () => {
  const script = generate(9, 800);
  const rng = new Prng(4);
  for (let i = 0; i < 200; i++) {
    const random: ScriptLine[] = [
      ['SPOP', 's', String(rng.int(0, 3))],
      ['SPOP', 't'],
      ['SRANDMEMBER', 's', String(rng.int(-5, 5))],
      ['HRANDFIELD', 'h', String(rng.int(-5, 5)), 'WITHVALUES'],
      ['ZRANDMEMBER', 'z', String(rng.int(-5, 5)), 'WITHSCORES'],
    ];
    script.splice(rng.int(0, script.length), 0, random[rng.int(0, random.length - 1)]!);
  }
  const replicas = [new Runner(3, 77), new Runner(3, 77)];
  const replies = replicas.map((r) => script.map((line) => r.wire(...lineMode(line).argv)));
  assert.deepEqual(replies[0], replies[1]);
  for (const key of ['h', 'l', 'l2', 's', 't', 'u', 'z', 'y', 'x', 'w', 'v']) {
    const [a, b] = replicas.map((r) => r.db.get(key, r.nowMs));
    assert.deepEqual(a === undefined ? undefined : dumpValue(a), b === undefined ? undefined : dumpValue(b), key);
  }
  // A different seed makes different random choices (the PRNG is really used).
  const other = new Runner(3, 78);
  assert.notDeepEqual(script.map((line) => other.wire(...lineMode(line).argv)), replies[0]);
});
