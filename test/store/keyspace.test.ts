// The Keyspace against a naive model, plus TTL, SCAN guarantees, active expiry, eviction, memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EVICTION_POLICIES,
  EXPIRE_OVERHEAD_BYTES,
  KEEP_TTL,
  KEY_OVERHEAD_BYTES,
  Keyspace,
  scanKeyspaces,
  stringBytes,
  trackingForPolicy,
} from '../../src/store/keyspace.js';
import { keySlot } from '../../src/cluster/slot.js';
import type { Value } from '../../src/store/value.js';
import { FakeCollection } from './harness.js';
import { seededRandom } from '../support/seeded-random.js';


interface ModelEntry {
  value: Value;
  expireAt: number | undefined;
}

function expectedMemory(model: Map<string, ModelEntry>): number {
  let bytes = 0;
  for (const [key, { value, expireAt }] of model) {
    bytes += KEY_OVERHEAD_BYTES + stringBytes(key);
    bytes += typeof value === 'string' ? stringBytes(value) : value.memoryBytes();
    if (expireAt !== undefined) bytes += EXPIRE_OVERHEAD_BYTES;
  }
  return bytes;
}

test('model-based: random operations agree with a naive Map model', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = seededRandom(seed);
    const db = new Keyspace();
    const model = new Map<string, ModelEntry>();
    let now = 1_000_000;
    const live = (key: string): ModelEntry | undefined => {
      const entry = model.get(key);
      return entry && (entry.expireAt === undefined || entry.expireAt > now) ? entry : undefined;
    };
    for (let step = 0; step < 4000; step++) {
      const key = `k${Math.floor(random() * 60)}${random() < 0.1 ? '{tag}' : ''}`;
      const op = random();
      if (op < 0.3) {
        const value: Value = random() < 0.8 ? 'v'.repeat(Math.floor(random() * 20)) : new FakeCollection('hash', 1 + Math.floor(random() * 100));
        const ttl = random();
        const expireAt = ttl < 0.3 ? now + Math.floor(random() * 50) + 1 : ttl < 0.5 ? KEEP_TTL : undefined;
        const before = model.get(key);
        db.set(key, value, now, expireAt);
        let kept: number | undefined;
        if (expireAt === KEEP_TTL) kept = before?.expireAt !== undefined && before.expireAt > now ? before.expireAt : undefined;
        else kept = expireAt;
        model.set(key, { value, expireAt: kept });
      } else if (op < 0.45) {
        assert.equal(db.delete(key, now), live(key) !== undefined, `delete ${key} seed ${seed}`);
        model.delete(key);
      } else if (op < 0.55) {
        const got = db.getForWrite(key, now);
        if (!live(key)) model.delete(key);
        assert.equal(got, model.get(key)?.value);
      } else if (op < 0.62) {
        if (live(key)) {
          const at = now + 1 + Math.floor(random() * 30);
          db.setExpireAt(key, at);
          model.get(key)!.expireAt = at;
        }
      } else if (op < 0.67) {
        const entry = model.get(key);
        assert.equal(db.persist(key), entry !== undefined && entry.expireAt !== undefined);
        if (entry) entry.expireAt = undefined;
      } else if (op < 0.72) {
        const value = db.peek(key, now);
        if (value !== undefined && typeof value !== 'string') {
          (value as FakeCollection).bytes += 7;
          db.touched(key);
        }
      } else if (op < 0.75) {
        now += Math.floor(random() * 20);
      } else {
        assert.equal(db.get(key, now), live(key)?.value, `get ${key} seed ${seed} step ${step}`);
        assert.equal(db.exists(key, now), live(key) !== undefined);
        assert.equal(db.getExpireAt(key), model.get(key)?.expireAt);
      }
      if (step % 97 === 0) {
        assert.equal(db.size(), model.size);
        assert.equal(db.expiresCount(), [...model.values()].filter((e) => e.expireAt !== undefined).length);
        assert.equal(db.usedMemoryBytes(), expectedMemory(model), `memory seed ${seed} step ${step}`);
        let inSlots = 0;
        for (const slot of db.slotsWithKeys()) inSlots += db.countKeysInSlot(slot);
        assert.equal(inSlots, model.size);
      }
    }
    db.flush();
    assert.equal(db.size(), 0);
    assert.equal(db.usedMemoryBytes(), 0);
    assert.equal(db.expiresCount(), 0);
  }
});

test('expired keys read as absent but stay until a write or a delete removes them', () => {
  const db = new Keyspace();
  db.set('a', '1', 0, 100);
  assert.equal(db.get('a', 99), '1');
  assert.equal(db.get('a', 100), undefined, 'expiry <= now is absent');
  assert.equal(db.size(), 1, 'a read does not delete');
  assert.equal(db.type('a', 100), 'none');
  db.set('b', '2', 0, 100);
  db.set('b', '3', 150, KEEP_TTL);
  assert.equal(db.getExpireAt('b'), undefined, 'KEEPTTL over an expired key keeps nothing');
  assert.equal(db.getForWrite('a', 100), undefined);
  assert.equal(db.size(), 1, 'getForWrite deleted the expired key');
  assert.equal(db.lazyExpired, 1);
  db.set('c', 'x', 0, 10);
  assert.equal(db.delete('c', 20), false, 'deleting an expired key reports it absent');
  assert.equal(db.size(), 1);
});

test('listeners see every modification', () => {
  const db = new Keyspace();
  const seen: (string | null)[] = [];
  const remove = db.addListener((key) => seen.push(key));
  db.set('a', '1', 0);
  db.setExpireAt('a', 50);
  db.persist('a');
  db.set('h', new FakeCollection('hash', 5), 0);
  db.touched('h');
  db.delete('h', 0);
  db.set('e', '1', 0, 10);
  db.getForWrite('e', 10);
  db.flush();
  assert.deepEqual(seen, ['a', 'a', 'a', 'h', 'h', 'h', 'e', 'e', null]);
  remove();
  db.set('z', '1', 0);
  assert.equal(seen.length, 9);
});

test('per-slot index: counts, keys, deletion of a slot', () => {
  const db = new Keyspace();
  for (let i = 0; i < 50; i++) db.set(`{user1}:${i}`, 'x', 0);
  db.set('other', 'y', 0);
  const slot = keySlot('{user1}');
  assert.equal(db.countKeysInSlot(slot), 50);
  assert.equal(db.keysInSlot(slot, 10).length, 10);
  assert.ok(db.keysInSlot(slot, 100).every((k) => k.startsWith('{user1}')));
  assert.deepEqual(db.slotsWithKeys(), [slot, keySlot('other')].sort((a, b) => a - b));
  assert.equal(db.deleteSlot(slot), 50);
  assert.equal(db.countKeysInSlot(slot), 0);
  assert.equal(db.size(), 1);
});

test('SCAN returns every key present for the whole scan, despite changes between calls', () => {
  for (const seed of [7, 8, 9]) {
    const random = seededRandom(seed);
    const shards = [new Keyspace(), new Keyspace()];
    // Two shards own alternate slots, as on a node that leads two shard groups.
    const shardOf = (key: string) => shards[keySlot(key) % 2]!;
    for (let i = 0; i < 3000; i++) shardOf(`key:${i}`).set(`key:${i}`, 'v', 0);
    const stable = new Set<string>();
    for (let i = 0; i < 3000; i++) if (i % 3 !== 0) stable.add(`key:${i}`);
    const seen = new Set<string>();
    let cursor = 0;
    let calls = 0;
    let added = 3000;
    do {
      const result = scanKeyspaces(shards, cursor, 1 + Math.floor(random() * 40), 0);
      for (const key of result.keys) seen.add(key);
      cursor = result.cursor;
      // Churn between calls: delete some of the unstable keys, add new ones.
      for (let j = 0; j < 5; j++) {
        const victim = `key:${3 * Math.floor(random() * 1000)}`;
        shardOf(victim).delete(victim, 0);
        const fresh = `key:${added++}`;
        shardOf(fresh).set(fresh, 'v', 0);
      }
      calls++;
      assert.ok(calls < 20000, 'scan terminates');
    } while (cursor !== 0);
    for (const key of stable) assert.ok(seen.has(key), `stable ${key} returned (seed ${seed})`);
  }
});

test('SCAN filters: MATCH, TYPE, expired keys; COUNT is a hint', () => {
  const db = new Keyspace();
  db.set('user:1', 'a', 0);
  db.set('user:2', 'b', 0, 5);
  db.set('item:1', new FakeCollection('set', 3), 0);
  const all = (filter = {}, now = 0) => {
    const keys: string[] = [];
    let cursor = 0;
    do {
      const r = db.scan(cursor, 1, now, filter);
      keys.push(...r.keys);
      cursor = r.cursor;
    } while (cursor !== 0);
    return keys.sort();
  };
  assert.deepEqual(all(), ['item:1', 'user:1', 'user:2']);
  assert.deepEqual(all({ match: 'user:*' }), ['user:1', 'user:2']);
  assert.deepEqual(all({ type: 'SET' }), ['item:1']);
  assert.deepEqual(all({}, 5), ['item:1', 'user:1'], 'a key whose time passed is not returned');
  assert.equal(db.scan(0, 1000, 0).cursor, 0, 'a large COUNT finishes in one call');
});

test('active expiry returns only expired keys, bounded per call, and finds them all', () => {
  const db = new Keyspace();
  for (let i = 0; i < 1000; i++) db.set(`k${i}`, 'v', 0, i % 2 === 0 ? 100 : 10_000);
  for (let i = 0; i < 200; i++) db.set(`p${i}`, 'v', 0);
  const found = new Set<string>();
  for (let round = 0; round < 100 && found.size < 500; round++) {
    const keys = db.expireCycle(200, 20);
    assert.ok(keys.length <= 20);
    for (const key of keys) {
      assert.ok(db.getExpireAt(key)! <= 200, `${key} has expired`);
      found.add(key);
      db.delete(key, 200); // what the server does through the write path
    }
  }
  assert.equal(found.size, 500);
  assert.deepEqual(db.expireCycle(200, 20), []);
});

test('eviction: every policy picks plausible victims and noeviction none', () => {
  const now = 10_000_000;
  for (const policy of EVICTION_POLICIES) {
    const db = new Keyspace();
    db.setAccessTracking(trackingForPolicy(policy));
    const random = seededRandom(42);
    for (let i = 0; i < 400; i++) db.set(`k${i}`, 'v', now - 1_000_000, i < 100 ? now + 1000 * (i + 1) : undefined);
    // Keys 200..399 are "hot": read many times recently.
    for (let r = 0; r < 20; r++) for (let i = 200; i < 400; i++) db.get(`k${i}`, now - 10_000 + r);
    const victims = db.evictionCandidates(policy, 5, random, now, 30);
    if (policy === 'noeviction') {
      assert.deepEqual(victims, []);
      continue;
    }
    assert.equal(victims.length, 30, policy);
    assert.equal(new Set(victims).size, 30, `${policy}: distinct victims`);
    const index = (k: string) => Number(k.slice(1));
    if (policy.startsWith('volatile-')) assert.ok(victims.every((k) => index(k) < 100), `${policy}: only keys with a TTL`);
    if (policy === 'allkeys-lru' || policy === 'allkeys-lfu') {
      const cold = victims.filter((k) => index(k) < 200).length;
      assert.ok(cold >= 25, `${policy}: mostly cold keys (${cold}/30)`);
    }
    if (policy === 'volatile-ttl') {
      const mean = victims.reduce((s, k) => s + index(k), 0) / victims.length;
      assert.ok(mean < 50, `volatile-ttl prefers the soonest expiries (mean index ${mean})`);
    }
  }
  const empty = new Keyspace();
  assert.deepEqual(empty.evictionCandidates('volatile-lru', 5, seededRandom(1), 0, 3), []);
});

test('LFU counter grows logarithmically and decays; LRU idle time follows the clock', () => {
  const db = new Keyspace();
  db.setAccessTracking('lfu');
  db.set('k', 'v', 0);
  assert.equal(db.frequency('k', 0), 5, 'LFU_INIT_VAL for a new key');
  for (let i = 0; i < 1000; i++) db.get('k', 0);
  const hot = db.frequency('k', 0);
  assert.ok(hot > 10 && hot < 40, `log counter after 1000 hits: ${hot}`);
  assert.equal(db.frequency('k', 3 * 60_000), hot - 3, 'one decrement per minute');
  db.setAccessTracking('lru');
  db.set('j', 'v', 5_000);
  assert.equal(db.idleSeconds('j', 65_000), 60);
  db.get('j', 70_000);
  assert.equal(db.idleSeconds('j', 75_000), 5);
});

test('randomKey returns live keys only, and undefined on an empty keyspace', () => {
  const db = new Keyspace();
  const random = seededRandom(3);
  assert.equal(db.randomKey(random, 0), undefined);
  for (let i = 0; i < 100; i++) db.set(`k${i}`, 'v', 0, i < 50 ? 10 : undefined);
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const key = db.randomKey(random, 20)!;
    assert.ok(Number(key.slice(1)) >= 50, 'never an expired key');
    seen.add(key);
  }
  assert.ok(seen.size > 30, `spread over many keys (${seen.size})`);
});

test('a collection keeps its memory figure when moved to another key or stored again', () => {
  const db = new Keyspace();
  const value = new FakeCollection('list', 100);
  db.set('a', value, 0);
  assert.equal(db.usedMemoryBytes(), 100 + KEY_OVERHEAD_BYTES + stringBytes('a'));
  value.bytes = 150;
  db.touched('a', value);
  db.delete('a', 0); // RENAME: delete the source, store the value under the target
  db.set('bb', value, 0);
  assert.equal(db.usedMemoryBytes(), 150 + KEY_OVERHEAD_BYTES + stringBytes('bb'));
  value.bytes = 90;
  db.set('bb', value, 0); // the same object stored again over itself
  assert.equal(db.usedMemoryBytes(), 90 + KEY_OVERHEAD_BYTES + stringBytes('bb'));
  db.set('bb', 'xyz', 0); // replaced by a string
  assert.equal(db.usedMemoryBytes(), stringBytes('xyz') + KEY_OVERHEAD_BYTES + stringBytes('bb'));
  db.delete('bb', 0);
  assert.equal(db.usedMemoryBytes(), 0);
});
