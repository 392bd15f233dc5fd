// The string commands side by side with a real redis-server 7.0: same commands, same replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeCollection, RealRedis, Runner, assertSameReplies, compareScript, words } from '../store/harness.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(async () => {
  await redis.stop();
});

const check = (script: string[][]): Promise<void> => assertSameReplies(redis, script);

test('SET options, errors and GET', async () => {
  await check(
    words(`
      SET k v
      GET k
      SET k v2 NX
      SET k v2 XX
      GET k
      SET k v NX XX
      SET k v XX NX
      SET k v KEEPTTL EX 10
      SET k v EX 10 KEEPTTL
      SET k v EX 10 PX 100
      SET k v EX 10 EX 20
      TTL k
      SET k v KEEPTTL
      TTL k
      SET k v
      TTL k
      SET k v EX 0
      SET k v EX -5
      SET k v PX 0
      SET k v EXAT 0
      SET k v EX abc
      SET k v EX 9223372036854775
      SET k v PX 9223372036854775807
      SET k v EXAT 9223372036854775
      SET k v EX
      SET k v foo
      SET k v GET
      SET k v3 GET
      SET k2 x GET
      SET k2 y NX GET
      SET k2 z XX GET
      SET missing z XX GET
      SET k v PXAT 1
      GET k
      EXISTS k
      SET
      SET k
      GET nokey
    `),
  );
});

test('SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX', async () => {
  await check(
    words(`
      SETNX a 1
      SETNX a 2
      GET a
      SETEX b 100 v
      TTL b
      SETEX b 0 v
      SETEX b -1 v
      SETEX b x v
      PSETEX c 100000 v
      TTL c
      PSETEX c 0 v
      GETSET a 3
      GETSET newkey 1
      TTL b
      GETSET b 2
      TTL b
      GETDEL a
      GETDEL a
      EXISTS a
      GETEX nokey EX -1
      GETEX c
      GETEX c PERSIST
      TTL c
      GETEX c EX 100
      TTL c
      GETEX c PX 200000
      TTL c
      GETEX c EXAT 1
      EXISTS c
      SET d v
      GETEX d EX -1
      GETEX d EX 0
      GETEX d KEEPTTL
      GETEX d NX
      GETEX d EX 10 PERSIST
      GETEX d PERSIST EX 10
      GETEX d EX abc
      GETEX d EX
      TTL d
    `),
  );
});

test('MGET, MSET, MSETNX', async () => {
  await check(
    words(`
      MSET a 1 b 2 c 3
      MGET a b c nokey
      MSET a 1 b
      MSETNX a 5 z 6
      MSETNX y 5 z 6
      MGET y z a
      MSET a 1 a 2
      GET a
      SETEX t 100 v
      MSET t w
      TTL t
      MSETNX q 1 q 2
      GET q
    `),
  );
});

test('APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE', async () => {
  await check(
    words(`
      APPEND s hello
      APPEND s _world
      STRLEN s
      STRLEN nokey
      GETRANGE s 0 4
      GETRANGE s -5 -1
      GETRANGE s -1 -5
      GETRANGE s 5 3
      GETRANGE s 0 -100
      GETRANGE s -100 100
      GETRANGE s 100 200
      GETRANGE nokey 0 10
      GETRANGE s a 1
      GETRANGE s 0 9223372036854775807
      SUBSTR s 1 3
      SETRANGE s 0 HELLO
      GET s
      SETRANGE s 15 !!
      GET s
      SETRANGE s -1 x
      SETRANGE s x x
      SETRANGE new 3 abc
      GET new
      SETRANGE empty 5 ""
      EXISTS empty
      SETRANGE s 2 ""
      SETRANGE s 536870911 xx
      SETRANGE big 536870912 x
      SET n 12
      APPEND n 3
      GET n
      GETRANGE n 0 0
    `),
  );
});

test('INCR family and INCRBYFLOAT', async () => {
  await check(
    words(`
      INCR i
      INCR i
      DECR i
      INCRBY i 100
      DECRBY i 50
      INCRBY i abc
      INCRBY i 1.5
      DECRBY i -9223372036854775808
      SET big 9223372036854775806
      INCR big
      INCR big
      DECRBY big -1
      SET small -9223372036854775807
      DECR small
      DECR small
      SET s abc
      INCR s
      SET lead 012
      INCR lead
      SET sp " 1"
      INCR sp
      SET plus +1
      INCR plus
      INCRBY i 9007199254740993
      GET i
      SETEX ttl 100 5
      INCR ttl
      TTL ttl
      INCRBYFLOAT f 10.5
      INCRBYFLOAT f 0.1
      INCRBYFLOAT f -10.6
      INCRBYFLOAT f abc
      INCRBYFLOAT f inf
      INCRBYFLOAT f 1e5
      INCRBYFLOAT f 5.0e3
      INCRBYFLOAT f 0.1
      INCRBYFLOAT f 0.2
      SET g 1e400
      INCRBYFLOAT g 1
      SET h nan
      INCRBYFLOAT h 1
      INCRBYFLOAT s 1
      INCRBYFLOAT x 3
      GET x
      INCRBYFLOAT x 1.23456789012345678901
      INCRBYFLOAT y " 1"
      INCRBYFLOAT y 1.
      INCRBYFLOAT y .5
      INCRBYFLOAT y -0
      INCRBYFLOAT y 1e-30
    `),
  );
});

test('LCS', async () => {
  await check(
    words(`
      MSET a ohmytext b mynewtext
      LCS a b
      LCS a b LEN
      LCS a b IDX
      LCS a b IDX MINMATCHLEN 4
      LCS a b IDX WITHMATCHLEN
      LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN
      LCS a b LEN IDX
      LCS a b foo
      LCS a b MINMATCHLEN
      LCS a b MINMATCHLEN x
      LCS a nokey
      LCS nokey nokey2 IDX
      SET c abcdefgh
      SET d xbcdyefgz
      LCS c d IDX WITHMATCHLEN
      LCS c d
    `),
  );
});

test('WRONGTYPE on every string command', async () => {
  // A list key, created through RPUSH on both sides where available; on ours we plant it directly.
  await redis.call('FLUSHALL');
  const runner = new Runner();
  await redis.call('RPUSH', 'l', 'a');
  runner.db.set('l', new FakeCollection('list', 1), runner.nowMs);
  const script = words(`
    GET l
    SET l v GET
    GETSET l v
    GETDEL l
    GETEX l
    MGET l
    APPEND l x
    STRLEN l
    GETRANGE l 0 1
    SETRANGE l 0 x
    INCR l
    INCRBYFLOAT l 1
    LCS l l
  `);
  const diffs = await compareScript(redis, runner, script);
  assert.deepEqual(diffs, []);
});
