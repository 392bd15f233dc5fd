import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import '../../src/store/types/rdb.js';
import { dumpValue, loadDumpPayload, verifyDumpPayload } from '../../src/store/dump.js';
import { HashValue } from '../../src/store/types/hash.js';
import { ListValue } from '../../src/store/types/list.js';
import { SetValue } from '../../src/store/types/set.js';
import { ZSetValue } from '../../src/store/types/zset.js';
import type { Value } from '../../src/store/value.js';
import { RealRedis } from '../commands/hashes-lists-sets-zsets-harness.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(() => redis.stop());

/** The payload of a RESP2 bulk reply. */
function bulk(reply: string): string {
  assert.ok(reply.startsWith('$'), reply);
  const headerEnd = reply.indexOf('\r\n');
  return reply.slice(headerEnd + 2, reply.length - 2);
}

function contents(value: Value): unknown {
  if (value instanceof HashValue) return [...value.fields].sort();
  if (value instanceof ListValue) return value.toArray();
  if (value instanceof SetValue) return value.members().sort();
  if (value instanceof ZSetValue) return [...value.scores].sort();
  return value;
}

const many = (n: number, f: (i: number) => string[]) => Array.from({ length: n }, (_, i) => f(i)).flat();

/** Keys created on the real Redis in each of its encodings. */
const fixtures: string[][] = [
  ['HSET', 'hash-small', 'f1', 'v1', 'n', '12345', 'neg', '-7', 'big', '9223372036854775807'],
  ['HSET', 'hash-big', ...many(600, (i) => [`field${i}`, `value${i}`])],
  ['RPUSH', 'list-small', 'a', '1', '-300', '70000', 'x'.repeat(100), '-9223372036854775808'],
  ['RPUSH', 'list-big', ...many(3000, (i) => [`element-${i}`])],
  ['SADD', 'set-intset', '1', '-5', '100000', '4294967296'],
  ['SADD', 'set-hashtable', 'a', 'b', 'c'],
  ['ZADD', 'zset-small', '1', 'a', '2.5', 'b', '-inf', 'c', 'inf', 'd', '100', 'e'],
  ['ZADD', 'zset-big', ...many(300, (i) => [String(i / 3), `member${i}`])],
];

test('payloads DUMPed by Redis 7.0 RESTORE here with the same contents', async () => {
  const keys = fixtures.map((f) => f[1]!);
  await redis.script(2, [['FLUSHALL'], ...fixtures]);
  const dumps = await redis.script(2, keys.map((k) => ['DUMP', k]));
  const encodings = await redis.script(2, keys.map((k) => ['OBJECT', 'ENCODING', k]));
  assert.ok(encodings.some((e) => e.includes('listpack')) && encodings.some((e) => e.includes('intset')));
  for (const [i, key] of keys.entries()) {
    const payload = bulk(dumps[i]!);
    assert.ok(verifyDumpPayload(payload), key);
    const value = loadDumpPayload(payload);
    // Our DUMP of what we loaded goes back to Redis and must equal the original there.
    const ours = dumpValue(value)!;
    const [restore] = await redis.script(2, [['RESTORE', `${key}-copy`, '0', ours]]);
    assert.equal(restore, '+OK\r\n', key);
    const back = loadDumpPayload(bulk((await redis.script(2, [['DUMP', `${key}-copy`]]))[0]!));
    assert.deepEqual(contents(back), contents(value), key);
  }
  const hash = loadDumpPayload(bulk(dumps[0]!)) as HashValue;
  assert.equal(hash.get('big'), '9223372036854775807');
  assert.equal(hash.get('neg'), '-7');
  const zset = loadDumpPayload(bulk(dumps[6]!)) as ZSetValue;
  assert.equal(zset.score('c'), -Infinity);
  assert.equal(zset.score('b'), 2.5);
  assert.deepEqual((loadDumpPayload(bulk(dumps[2]!)) as ListValue).toArray(), fixtures[2]!.slice(2));
  assert.equal((loadDumpPayload(bulk(dumps[3]!)) as ListValue).length, 3000);
});

test('our payloads round-trip and corrupt ones are refused', () => {
  const set = SetValue.from(['x', 'y']);
  const back = loadDumpPayload(dumpValue(set)!) as SetValue;
  assert.deepEqual(back.members().sort(), ['x', 'y']);
  const payload = dumpValue(ListValue.from(['a', 'b']))!;
  const corrupt = payload.slice(0, 2) + 'Z' + payload.slice(3);
  assert.equal(verifyDumpPayload(corrupt), false);
});
