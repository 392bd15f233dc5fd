// The generic key commands side by side with a real redis-server 7.0: same commands, same replies.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeCollection, RealRedis, Runner, assertSameReplies, compareScript, plain, words } from '../store/harness.js';

let redis: RealRedis;
before(async () => {
  redis = await RealRedis.start();
});
after(async () => {
  await redis.stop();
});

const check = (script: string[][]): Promise<void> => assertSameReplies(redis, script);

test('DEL, UNLINK, EXISTS, TYPE, TOUCH', async () => {
  await check(
    words(`
      MSET a 1 b 2 c 3
      EXISTS a a b nokey
      DEL a nokey a
      UNLINK b c
      EXISTS a b c
      SET d 1
      TYPE d
      TYPE nokey
      TOUCH d nokey d
      SET e v PXAT 1
      DEL e
      EXISTS e
      TYPE e
    `),
  );
});

test('RENAME, RENAMENX, COPY', async () => {
  await check(
    words(`
      RENAME nokey x
      RENAMENX nokey x
      SET a 1
      RENAME a a
      RENAMENX a a
      SETEX b 100 2
      RENAME b c
      TTL c
      EXISTS b
      RENAME a c
      TTL c
      GET c
      SET d 4
      RENAMENX d c
      RENAMENX d e
      COPY e e
      COPY e f
      COPY e f
      COPY e f REPLACE
      COPY nokey f
      COPY e f foo
      COPY e f DB
      COPY e f DB x
      COPY e f DB 16
      COPY e f DB -1
      SETEX g 100 v
      COPY g h
      TTL h
    `),
  );
});

test('EXPIRE family, TTL family, PERSIST', async () => {
  await check(
    words(`
      SET k v
      EXPIRE k 100 NX
      EXPIRE k 100 NX
      EXPIRE k 50 GT
      EXPIRE k 200 GT
      TTL k
      EXPIRE k 100 XX LT
      TTL k
      EXPIRE k 10 NX XX
      EXPIRE k 10 GT LT
      EXPIRE k 10 NX GT
      EXPIRE k 10 foo
      EXPIRE k 10 nx foo
      EXPIRE k abc
      EXPIRE k 9223372036854775807
      EXPIRE k -9223372036854775807
      EXPIRE k 9223372036854775
      PEXPIRE k 9223372036854775807
      EXPIREAT k 9223372036854775
      PERSIST k
      PERSIST k
      PERSIST nokey
      EXPIRE nokey 10
      SET p v
      EXPIRE p 100 GT
      EXPIRE p 100 LT
      PTTL nokey
      TTL p
      SET q v
      PEXPIREAT q -5
      EXISTS q
      SET q v
      EXPIRE q -1
      EXISTS q
      SET q v
      EXPIRE q 0
      EXISTS q
      SET r v
      EXPIRETIME r
      PEXPIRETIME r
      EXPIRETIME nokey
      EXPIREAT r 4000000000
      EXPIRETIME r
      PEXPIREAT r 4000000000123
      PEXPIRETIME r
      EXPIRETIME r
      TTL nokey
      TTL r
    `),
  );
});

test('OBJECT', async () => {
  await check(
    words(`
      SET i 123
      SET bigint 12345678901
      SET e short
      SET r aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
      OBJECT ENCODING i
      OBJECT ENCODING bigint
      OBJECT ENCODING e
      OBJECT ENCODING r
      OBJECT ENCODING nokey
      OBJECT REFCOUNT i
      OBJECT REFCOUNT e
      OBJECT FREQ e
      OBJECT IDLETIME e
      OBJECT foo
      OBJECT HELP
      OBJECT ENCODING
      OBJECT ENCODING a b
      APPEND e 1
      OBJECT ENCODING e
      SET n 12
      APPEND n 3
      OBJECT ENCODING n
      INCR n
      OBJECT ENCODING n
      APPEND new 42
      OBJECT ENCODING new
      SETRANGE sr 0 7
      OBJECT ENCODING sr
      SETRANGE e 0 x
      OBJECT ENCODING e
      INCRBYFLOAT f 10
      OBJECT ENCODING f
      SET e abc
      OBJECT ENCODING e
      APPEND e d
      RENAME e e2
      OBJECT ENCODING e2
      COPY e2 e3
      OBJECT ENCODING e3
      SET e3 x
      OBJECT ENCODING e3
    `),
  );
});

test('DUMP and RESTORE: payloads identical both ways, errors identical', async () => {
  await check(
    words(`
      SET s hello
      SET n 12345
      SET m -7
      SET l 100000
      SET x 3000000000
      DUMP s
      DUMP n
      DUMP m
      DUMP l
      DUMP x
      DUMP nokey
      RESTORE s 0 abc
      RESTORE t -1 abc
      RESTORE t 0 abc
      RESTORE t 0 abc IDLETIME -1
      RESTORE t 0 abc FREQ 300
      RESTORE t 0 abc IDLETIME 1 FREQ 2
      RESTORE t 0 abc foo
      RESTORE t x abc
    `),
  );
  // Redis's own payloads (including an LZF-compressed one) restore here with the same value.
  const runner = new Runner();
  const long = 'a'.repeat(100) + 'b'.repeat(50);
  await redis.call('SET', 'long', long);
  await redis.call('SET', 'short', 'xyz');
  for (const key of ['long', 'short']) {
    const payload = (await redis.call('DUMP', key)) as string;
    runner.nowMs = Date.now();
    assert.deepEqual(plain(runner.run('RESTORE', key, '0', payload)), 'OK');
    assert.equal(runner.run('GET', key), await redis.call('GET', key));
    // And ours restores there.
    const ours = plain(runner.run('DUMP', key)) as string;
    assert.deepEqual(await redis.call('RESTORE', key + '2', '0', ours), 'OK');
    assert.deepEqual(await redis.call('GET', key + '2'), await redis.call('GET', key));
  }
  // A flipped byte is caught by the checksum on both sides.
  const payload = plain(runner.run('DUMP', 'short')) as string;
  const broken = payload.slice(0, 2) + String.fromCharCode(payload.charCodeAt(2) ^ 1) + payload.slice(3);
  assert.deepEqual(plain(runner.run('RESTORE', 'zz', '0', broken)), await redis.call('RESTORE', 'zz', '0', broken));
  // REPLACE, BUSYKEY, TTL and ABSTTL.
  assert.deepEqual(plain(runner.run('RESTORE', 'short', '0', payload)), await redis.call('RESTORE', 'short', '0', payload));
  runner.nowMs = Date.now();
  assert.deepEqual(plain(runner.run('RESTORE', 'short', '100000', payload, 'REPLACE')), 'OK');
  assert.deepEqual(plain(runner.run('PTTL', 'short')), '100000');
  assert.deepEqual(plain(runner.run('RESTORE', 'short', '1', payload, 'REPLACE', 'ABSTTL')), 'OK');
  assert.equal(runner.run('EXISTS', 'short'), 0, 'an absolute TTL in the past deletes the key');
});

test('WRONGTYPE-free commands work on collections; COPY clones them', async () => {
  const runner = new Runner();
  const list = new FakeCollection('list', 10);
  runner.db.set('l', list, runner.nowMs);
  assert.deepEqual(plain(runner.run('TYPE', 'l')), 'list');
  assert.deepEqual(plain(runner.run('OBJECT', 'ENCODING', 'l')), 'listpack');
  assert.equal(runner.run('COPY', 'l', 'l2'), 1);
  const copy = runner.db.get('l2', runner.nowMs);
  assert.ok(copy instanceof FakeCollection && copy !== list, 'COPY stores a deep copy');
  assert.deepEqual(plain(runner.run('RENAME', 'l2', 'l3')), 'OK');
  assert.deepEqual(plain(runner.run('TYPE', 'l3')), 'list');
});

test('COPY to another DB in cluster mode is refused as Redis Cluster does', async () => {
  const cluster = await RealRedis.start({ cluster: true, waitForClusterOk: true });
  try {
    const runner = new Runner();
    await cluster.call('SET', '{k}', 'v');
    runner.run('SET', '{k}', 'v');
    const script = words(`
      COPY {k} {k}t DB 1
      COPY {k} {k}t DB 15
      COPY {k} {k}t DB 16
      COPY {k} {k}t DB 0
    `);
    assert.deepEqual(await compareScript(cluster, runner, script), []);
  } finally {
    await cluster.stop();
  }
});
