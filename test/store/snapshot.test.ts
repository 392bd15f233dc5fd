// Keyspace snapshots: chunked round trip with values, expiries, binary keys and collections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyspace } from '../../src/store/keyspace.js';
import { SnapshotLoader, encodeSnapshot } from '../../src/store/snapshot.js';
import { registerRdbType } from '../../src/store/dump.js';
import { FakeCollection } from './harness.js';

registerRdbType('hash', {
  loadTypes: [201],
  load: (_type, reader) => new FakeCollection('hash', Number(reader.readString())),
  save: (value, writer) => {
    writer.writeString(String(value.memoryBytes()));
    return 201;
  },
});

test('encode then load gives the same keys, values, expiries and memory', () => {
  const db = new Keyspace();
  for (let i = 0; i < 3000; i++) db.set(`key:${i}`, `value-${i}`.repeat(i % 5), 0, i % 4 === 0 ? 1_000_000 + i : undefined);
  db.set('\x00\xff binary', '\x80\x81', 0);
  db.set('h', new FakeCollection('hash', 123), 0, 5);
  const chunks = [...encodeSnapshot(db, 4096)];
  assert.ok(chunks.length > 10, `several chunks (${chunks.length})`);
  assert.ok(chunks.every((c) => c.length <= 4096), 'chunks respect the size when records are small');
  const copy = new Keyspace();
  const loader = new SnapshotLoader(copy);
  for (const chunk of chunks) loader.push(chunk);
  assert.equal(loader.loadedKeys(), db.size());
  assert.equal(copy.size(), db.size());
  assert.equal(copy.expiresCount(), db.expiresCount());
  assert.equal(copy.usedMemoryBytes(), db.usedMemoryBytes());
  for (const slot of db.slotsWithKeys()) {
    for (const [key, value, expireAt] of db.entriesInSlot(slot)) {
      const loaded = copy.peek(key, 0);
      if (typeof value === 'string') assert.equal(loaded, value);
      else assert.equal((loaded as FakeCollection).bytes, (value as FakeCollection).bytes);
      assert.equal(copy.getExpireAt(key), expireAt);
    }
  }
});

test('a foreign or corrupt stream is refused', () => {
  const db = new Keyspace();
  db.set('a', 'b', 0);
  const [chunk] = [...encodeSnapshot(db)];
  assert.throws(() => new SnapshotLoader(new Keyspace()).push('XXXX' + chunk!.slice(4)), /not a keyspace snapshot/);
  assert.throws(() => new SnapshotLoader(new Keyspace()).push(chunk!.slice(0, chunk!.length - 1)));
  assert.throws(() => new SnapshotLoader(db), /empty keyspace/);
});
