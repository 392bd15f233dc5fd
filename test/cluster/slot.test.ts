import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { crc16, keySlot, SLOT_COUNT } from '../../src/cluster/slot.js';
import { startRealClusterRedis } from '../support/real-redis.js';

const clusterKeySlot = createRequire(import.meta.url)('cluster-key-slot') as (key: string | Buffer) => number;

test('CRC16/XMODEM check value and slot count', () => {
  assert.equal(SLOT_COUNT, 16384);
  assert.equal(crc16('123456789'), 0x31c3);
  assert.equal(keySlot('123456789'), 12739);
});

test('hash tags follow Redis keyHashSlot (captured CLUSTER KEYSLOT values)', () => {
  assert.equal(keySlot('foo'), 12182);
  assert.equal(keySlot('{user1000}.following'), 3443);
  assert.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'));
  assert.equal(keySlot('foo{}{bar}'), 8363); // empty first tag: the whole key
  assert.equal(keySlot('foo{}{bar}'), crc16('foo{}{bar}') % 16384);
  assert.equal(keySlot('foo{{bar}}zap'), 4015); // hashes `{bar`
  assert.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'));
  assert.equal(keySlot('foo{bar}{zap}'), 5061);
  assert.equal(keySlot('foo{bar}{zap}'), keySlot('bar'));
  assert.equal(keySlot(''), 0);
  assert.equal(keySlot('{'), crc16('{') % 16384);
  assert.equal(keySlot('}{'), crc16('}{') % 16384);
});

test('agrees with cluster-key-slot on keys without an empty tag (ASCII as string, bytes as Buffer)', () => {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; i < 2000; i++) {
    const length = next() % 24;
    let key = '';
    for (let j = 0; j < length; j++) key += String.fromCharCode(next() % 256);
    const open = key.indexOf('{');
    if (open !== -1 && key[open + 1] === '}') continue; // cluster-key-slot differs from Redis there
    assert.equal(keySlot(key), clusterKeySlot(Buffer.from(key, 'latin1')), `key ${Buffer.from(key, 'latin1').toString('hex')}`);
  }
  assert.equal(keySlot('user:1000'), clusterKeySlot('user:1000'));
});

test('binary keys match a real redis-server CLUSTER KEYSLOT', async () => {
  const redis = await startRealClusterRedis();
  try {
    const client = await redis.client();
    const keys = [
      '\xff\x80abc',
      '\xe9t\xe9',
      '{\xc3\xa9}x',
      '\x00\x01\x02\xfe',
      Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''),
      'foo{}{bar}',
      'a{\xff}b',
      '{}',
      'key:{8M}}:__rand_int__',
    ];
    for (const key of keys) {
      const reply = (await client.send(['CLUSTER', 'KEYSLOT', key])).toString('latin1');
      assert.equal(reply, `:${keySlot(key)}\r\n`, `key ${Buffer.from(key, 'latin1').toString('hex')}`);
    }
    client.close();
  } finally {
    await redis.stop();
  }
});
