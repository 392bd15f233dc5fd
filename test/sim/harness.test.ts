// The simulator's own parts: the disk model, the network model and the key-value state machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { MemoryStorage } from '../../src/raft/log-storage.js';
import { SimDisk } from './disk.js';
import { SimNetwork } from './network.js';
import { KvStateMachine } from './kv.js';
import { Prng } from './prng.js';

const entry = (index: number, term: number): Entry => ({ index, term, type: EntryType.Normal, data: new Uint8Array([index]) });

test('disk: synced writes survive a crash, unsynced ones may not, a later fsync covers earlier writes', () => {
  const disk = new SimDisk();
  disk.complete({ entries: [entry(1, 1), entry(2, 1)], hardState: { term: 1, vote: 1, commit: 0 }, sync: true });
  disk.complete({ entries: [], hardState: { term: 1, vote: 1, commit: 2 }, sync: false });
  assert.equal(disk.durable.hardState.commit, 0); // only in the page cache
  disk.complete({ entries: [entry(3, 1)], sync: true });
  assert.equal(disk.durable.hardState.commit, 2); // the fsync flushed it too
  disk.complete({ entries: [], hardState: { term: 1, vote: 1, commit: 3 }, sync: false });
  // A crash keeps a random prefix of the unsynced writes: here there is one, kept or not.
  const outcomes = new Set<number>();
  for (let seed = 0; seed < 20; seed++) {
    const d = new SimDisk();
    d.complete({ entries: [entry(1, 1)], hardState: { term: 1, vote: 0, commit: 0 }, sync: true });
    d.complete({ entries: [], hardState: { term: 1, vote: 0, commit: 1 }, sync: false });
    d.crash(new Prng(seed));
    outcomes.add(d.durable.hardState.commit);
    assert.equal(d.durable.lastIndex(), 1);
  }
  assert.deepEqual([...outcomes].sort(), [0, 1]);
});

test('disk: an entry at index i replaces stored entries from i; a snapshot replaces the log', () => {
  const disk = new SimDisk();
  disk.complete({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)], sync: true });
  disk.complete({ entries: [entry(2, 2)], sync: true });
  assert.deepEqual(disk.durable.entries.map((e) => [e.index, e.term]), [[1, 1], [2, 2]]);
  const snapshot = { metadata: { index: 5, term: 2, confState: { voters: [1], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array() };
  disk.complete({ snapshot, entries: [entry(6, 2)], sync: true });
  assert.deepEqual(disk.durable.entries.map((e) => e.index), [6]);
  const storage = disk.durable.load(new MemoryStorage());
  assert.deepEqual([storage.firstIndex(), storage.lastIndex(), storage.term(5)], [6, 6, 2]);
});

test('network: FIFO per path without reordering, partitions one way and both ways, heal', () => {
  const net = new SimNetwork<number>(new Prng(3));
  net.faults = { loss: 0, duplicate: 0, reorder: 0, minDelay: 1, maxDelay: 9 };
  for (let i = 0; i < 50; i++) assert.equal(net.send(0, 1, 2, i), null);
  const got: number[] = [];
  for (let t = 0; t <= 20; t++) got.push(...net.takeDue(t, () => false).delivered.map((e) => e.message));
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
  net.cutLink(1, 2);
  assert.equal(net.send(30, 1, 2, 99), 'partition');
  assert.equal(net.send(30, 2, 1, 98), null); // one way only
  net.separate([1], [3]);
  assert.equal(net.send(30, 3, 1, 97), 'partition');
  net.heal();
  assert.equal(net.send(30, 1, 2, 96), null);
  assert.equal(net.partitioned, false);
});

test('network: held messages wait for a paused receiver; a cut link drops messages in flight', () => {
  const net = new SimNetwork<string>(new Prng(4));
  net.faults = { loss: 0, duplicate: 0, reorder: 0, minDelay: 1, maxDelay: 1 };
  net.send(0, 1, 2, 'a');
  assert.deepEqual(net.takeDue(1, () => true).delivered, []);
  assert.deepEqual(net.takeDue(2, () => false).delivered.map((e) => e.message), ['a']);
  net.send(2, 1, 2, 'b');
  net.cutLink(1, 2);
  const { delivered, dropped } = net.takeDue(3, () => false);
  assert.deepEqual([delivered.length, dropped.map((e) => e.message)], [0, ['b']]);
});

test('kv state machine: a retried command applies once; snapshots round-trip', () => {
  const sm = new KvStateMachine();
  assert.equal(sm.apply({ client: 1, seq: 1, input: { op: 'append', key: 'k', value: 'ab' } }), 2);
  assert.equal(sm.apply({ client: 1, seq: 1, input: { op: 'append', key: 'k', value: 'ab' } }), 2);
  assert.equal(sm.read('k'), 'ab');
  assert.equal(sm.apply({ client: 2, seq: 1, input: { op: 'cas', key: 'k', expect: 'ab', value: 'z' } }), true);
  assert.equal(sm.apply({ client: 2, seq: 2, input: { op: 'cas', key: 'k', expect: 'ab', value: 'y' } }), false);
  const copy = KvStateMachine.restore(sm.snapshot());
  assert.equal(copy.fingerprint(), sm.fingerprint());
  assert.equal(copy.read('k'), 'z');
  // The session survives the snapshot: an old retry is still ignored.
  assert.equal(copy.apply({ client: 1, seq: 1, input: { op: 'put', key: 'k', value: 'late' } }), 2);
  assert.equal(copy.read('k'), 'z');
});
