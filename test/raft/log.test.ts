// Unit tests of the log layers: MemoryStorage, Unstable, RaftLog (etcd's storage_test, log_test,
// log_unstable_test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrCompacted, ErrSnapshotOutOfDate, ErrUnavailable } from '../../src/raft/errors.js';
import { MemoryStorage, limitSize } from '../../src/raft/log-storage.js';
import { Unstable } from '../../src/raft/log-unstable.js';
import { RaftLog } from '../../src/raft/raft-log.js';
import { EntryType, type Entry } from '../../src/raft/types.js';

const ent = (index: number, term: number, size = 0): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: new Uint8Array(size),
});
const ents = (pairs: [number, number][]): Entry[] => pairs.map(([i, t]) => ent(i, t));
const terms = (es: Entry[]) => es.map((e) => [e.index, e.term]);

function storageWith(pairs: [number, number][]): MemoryStorage {
  const s = new MemoryStorage();
  s.append(ents(pairs));
  return s;
}

test('MemoryStorage term/entries/first/last with a compacted prefix', () => {
  const s = storageWith([[1, 1], [2, 1], [3, 2], [4, 3], [5, 3]]);
  s.createSnapshot(3, undefined, new Uint8Array([9]));
  s.compact(3);
  assert.equal(s.firstIndex(), 4);
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(3), 2, 'term of the compacted boundary is kept');
  assert.throws(() => s.term(2), (e) => e === ErrCompacted);
  assert.throws(() => s.term(6), (e) => e === ErrUnavailable);
  assert.throws(() => s.entries(3, 5, Infinity), (e) => e === ErrCompacted);
  assert.throws(() => s.entries(4, 7, Infinity), (e) => e === ErrUnavailable);
  assert.deepEqual(terms(s.entries(4, 6, Infinity)), [[4, 3], [5, 3]]);
  assert.throws(() => s.compact(3), (e) => e === ErrCompacted);
});

test('MemoryStorage append truncates a conflicting suffix and ignores compacted entries', () => {
  const s = storageWith([[1, 1], [2, 1], [3, 1]]);
  s.append(ents([[2, 2], [3, 2], [4, 2]]));
  assert.deepEqual(terms(s.entries(1, 5, Infinity)), [[1, 1], [2, 2], [3, 2], [4, 2]]);
  s.createSnapshot(2, undefined, new Uint8Array());
  s.compact(2);
  s.append(ents([[1, 1], [2, 2], [3, 3]])); // 1 and 2 are compacted, 3 conflicts
  assert.deepEqual(terms(s.entries(3, 4, Infinity)), [[3, 3]]);
  assert.equal(s.lastIndex(), 3);
});

test('MemoryStorage entries honours maxSize but returns at least one entry', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)]);
  assert.equal(s.entries(1, 4, 0).length, 1);
  assert.equal(s.entries(1, 4, 20).length, 2);
  assert.equal(s.entries(1, 4, 25).length, 2);
  assert.equal(s.entries(1, 4, 30).length, 3);
  assert.equal(limitSize([], 0).length, 0);
});

test('MemoryStorage applySnapshot refuses an older snapshot', () => {
  const s = new MemoryStorage();
  const cs = { voters: [1], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  s.applySnapshot({ metadata: { index: 5, term: 2, confState: cs }, data: new Uint8Array() });
  assert.equal(s.firstIndex(), 6);
  assert.equal(s.lastIndex(), 5);
  assert.equal(s.term(5), 2);
  assert.throws(
    () => s.applySnapshot({ metadata: { index: 4, term: 2, confState: cs }, data: new Uint8Array() }),
    (e) => e === ErrSnapshotOutOfDate,
  );
  assert.deepEqual(s.initialState().confState, cs);
});

test('Unstable truncateAndAppend: append, replace, and truncate in the middle', () => {
  const u = new Unstable(5);
  u.truncateAndAppend(ents([[5, 1], [6, 1]]));
  u.truncateAndAppend(ents([[7, 1]]));
  assert.deepEqual(terms(u.entries), [[5, 1], [6, 1], [7, 1]]);
  u.truncateAndAppend(ents([[6, 2]]));
  assert.deepEqual(terms(u.entries), [[5, 1], [6, 2]]);
  u.truncateAndAppend(ents([[4, 3], [5, 3]]));
  assert.equal(u.offset, 4);
  assert.deepEqual(terms(u.entries), [[4, 3], [5, 3]]);
});

test('Unstable tracks what is in progress and ignores a stale stableTo (ABA)', () => {
  const u = new Unstable(1);
  u.truncateAndAppend(ents([[1, 1], [2, 1]]));
  assert.equal(u.nextEntries().length, 2);
  u.acceptInProgress();
  assert.equal(u.nextEntries().length, 0);
  // A new leader overwrites index 2 while the write of (2, 1) is in flight.
  u.truncateAndAppend(ents([[2, 2]]));
  assert.deepEqual(terms(u.nextEntries()), [[2, 2]]);
  u.stableTo(2, 1); // the old write completes: term differs, so nothing is marked stable
  assert.equal(u.offset, 1);
  u.stableTo(1, 1);
  assert.equal(u.offset, 2);
  assert.deepEqual(terms(u.entries), [[2, 2]]);
});

test('RaftLog.findConflict and maybeAppend truncate only at a real conflict', () => {
  const log = new RaftLog(new MemoryStorage(), Infinity);
  log.append(ents([[1, 1], [2, 2], [3, 3]]));
  assert.equal(log.findConflict(ents([[1, 1], [2, 2]])), 0);
  assert.equal(log.findConflict(ents([[2, 2], [3, 4]])), 3);
  assert.equal(log.findConflict(ents([[3, 3], [4, 4]])), 4);
  // A stale MsgApp carrying a prefix must not truncate the longer matching log.
  assert.equal(log.maybeAppend(0, 0, 1, ents([[1, 1]])), 1);
  assert.equal(log.lastIndex(), 3);
  assert.equal(log.committed, 1);
  // A mismatching prev entry is refused.
  assert.equal(log.maybeAppend(3, 2, 3, ents([[4, 4]])), undefined);
  // A conflict replaces the tail.
  assert.equal(log.maybeAppend(1, 1, 2, ents([[2, 4], [3, 4]])), 3);
  assert.deepEqual(
    [1, 2, 3].map((i) => log.term(i)),
    [1, 4, 4],
  );
  assert.equal(log.committed, 2);
  // Commit never goes beyond the last new entry of the message.
  assert.equal(log.maybeAppend(1, 1, 99, ents([[2, 4]])), 2);
  assert.equal(log.committed, 2);
});

test('RaftLog.maybeAppend refuses to rewrite a committed entry', () => {
  const log = new RaftLog(new MemoryStorage(), Infinity);
  log.append(ents([[1, 1], [2, 1]]));
  log.commitTo(2);
  assert.throws(() => log.maybeAppend(0, 0, 2, ents([[1, 1], [2, 2]])), /conflict with committed/);
});

test('RaftLog.findConflictByTerm finds the last index with term <= the probe term', () => {
  const s = storageWith([[1, 1], [2, 1], [3, 1], [4, 4], [5, 4], [6, 5]]);
  const log = new RaftLog(s, Infinity);
  assert.deepEqual(log.findConflictByTerm(6, 4), { index: 5, term: 4 });
  assert.deepEqual(log.findConflictByTerm(6, 3), { index: 3, term: 1 });
  assert.deepEqual(log.findConflictByTerm(6, 5), { index: 6, term: 5 });
  assert.deepEqual(log.findConflictByTerm(2, 0), { index: 0, term: 0 });
  s.createSnapshot(3, undefined, new Uint8Array());
  s.compact(3);
  const log2 = new RaftLog(s, Infinity);
  assert.deepEqual(log2.findConflictByTerm(6, 0), { index: 2, term: 0 }, 'unknown term below the snapshot');
});

test('RaftLog.isUpToDate compares (lastTerm, lastIndex)', () => {
  const log = new RaftLog(storageWith([[1, 1], [2, 2], [3, 3]]), Infinity);
  assert.equal(log.isUpToDate(2, 4), true);
  assert.equal(log.isUpToDate(3, 3), true);
  assert.equal(log.isUpToDate(4, 3), true);
  assert.equal(log.isUpToDate(2, 3), false);
  assert.equal(log.isUpToDate(9, 2), false);
});

test('RaftLog commits only entries of the given term and never goes backwards', () => {
  const log = new RaftLog(storageWith([[1, 1], [2, 2]]), Infinity);
  assert.equal(log.maybeCommit(2, 1), false);
  assert.equal(log.maybeCommit(2, 2), true);
  assert.equal(log.committed, 2);
  log.commitTo(1);
  assert.equal(log.committed, 2);
  assert.throws(() => log.commitTo(3), /out of range/);
});

test('RaftLog hands out only durable committed entries, paginated by the applying budget', () => {
  const s = new MemoryStorage();
  s.append([ent(1, 1, 10), ent(2, 1, 10), ent(3, 1, 10)]);
  const log = new RaftLog(s, 15);
  log.append([ent(4, 1, 10)]); // unstable
  log.commitTo(4);
  const first = log.nextCommittedEntries();
  assert.deepEqual(terms(first), [[1, 1]]);
  log.acceptApplying(1, 10);
  assert.deepEqual(terms(log.nextCommittedEntries()), [[2, 1]]);
  log.acceptApplying(2, 10);
  assert.equal(log.hasNextCommittedEntries(), false, 'paused: budget exhausted');
  log.appliedTo(2, 20);
  assert.deepEqual(terms(log.nextCommittedEntries()), [[3, 1]]);
  log.acceptApplying(3, 10);
  log.appliedTo(3, 10);
  assert.equal(log.hasNextCommittedEntries(), false, 'entry 4 is committed but not durable here');
  s.append([ent(4, 1, 10)]); // the host writes it
  log.stableTo(4, 1);
  assert.deepEqual(terms(log.nextCommittedEntries()), [[4, 1]]);
});

test('RaftLog.slice spans storage and unstable and reports compaction', () => {
  const s = storageWith([[1, 1], [2, 1], [3, 1]]);
  s.createSnapshot(1, undefined, new Uint8Array());
  s.compact(1);
  const log = new RaftLog(s, Infinity);
  log.append(ents([[4, 2], [5, 2]]));
  assert.deepEqual(terms(log.slice(2, 6, Infinity)), [[2, 1], [3, 1], [4, 2], [5, 2]]);
  assert.throws(() => log.slice(1, 3, Infinity), (e) => e === ErrCompacted);
  assert.deepEqual(terms(log.entries(6, Infinity)), []);
  assert.equal(log.firstIndex(), 2);
  assert.equal(log.term(1), 1);
});

test('a stale suffix left in storage after a conflicting append is not part of the log', () => {
  // Found by the simulator (seed 9172): storage holds 1..6 of term 1; a new leader's append replaces the
  // tail from 5 in the unstable log, while storage still has the old 5 and 6 until the write lands.
  // An append after "6 of term 1" must then be rejected, not matched against the stale entry.
  const storage = new MemoryStorage({ voters: [1, 2], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false });
  storage.append([1, 2, 3, 4, 5, 6].map((index) => ({ term: 1, index, type: EntryType.Normal, data: new Uint8Array() })));
  const log = new RaftLog(storage, Number.MAX_SAFE_INTEGER);
  assert.equal(log.maybeAppend(4, 1, 0, [{ term: 2, index: 5, type: EntryType.Normal, data: new Uint8Array() }]), 5);
  assert.equal(log.lastIndex(), 5);
  assert.equal(log.termOrUndefined(6), undefined, 'index 6 is beyond the log now');
  assert.equal(log.matchTerm(6, 1), false);
  assert.equal(log.termOrUndefined(5), 2);
});
