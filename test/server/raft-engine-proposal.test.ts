// The shard entry format (round trips, garbage) and the shard state machine alone (dedup, bounded dedup
// table, snapshot/restore with the keyspace, malformed entries).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { SimpleString } from '../../src/resp/reply.js';
import { EntryKind, ProposalFormatError, decodeProposal, encodeProposal, type Proposal } from '../../src/server/proposal.js';
import { ShardStateMachine, SnapshotFormatError } from '../../src/server/shard-state-machine.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { RdbFormatError } from '../../src/store/dump.js';
import { seededRandom } from '../support/seeded-random.js';
import { commands } from './raft-engine-cluster.js';

const allBytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');

function commandsProposal(seq: number, ...argvs: string[][]): Proposal {
  return { kind: EntryKind.Commands, id: { node: 3, seq }, nowMs: 1_700_000_000_123, seed: -12345, resp: 2, argvs };
}

let index = 0;
function entry(p: Proposal | Uint8Array): Entry {
  const data = p instanceof Uint8Array ? p : encodeProposal(p);
  return { term: 1, index: ++index, type: EntryType.Normal, data };
}

test('proposals round-trip: binary arguments, batches, key lists, flush', () => {
  const cases: Proposal[] = [
    commandsProposal(1, ['SET', allBytes, '']),
    commandsProposal(2 ** 52, ['MULTI-LIKE', 'a'], ['INCR', 'n'], ['SET', 'k\r\n', allBytes.repeat(10)]),
    { kind: EntryKind.Expire, id: { node: 0xffffffff, seq: 0 }, nowMs: 5, seed: 0x7fffffff, resp: 3, argvs: [['a', '', allBytes]] },
    { kind: EntryKind.Evict, id: { node: 1, seq: 9 }, nowMs: 5, seed: 1, resp: 2, argvs: [[]] },
    { kind: EntryKind.Flush, id: { node: 1, seq: 10 }, nowMs: 5, seed: 1, resp: 2, argvs: [] },
  ];
  for (const p of cases) {
    const decoded = decodeProposal(encodeProposal(p));
    assert.deepEqual(decoded, p);
    // Through a plain Uint8Array copy too (what a log may hand back).
    assert.deepEqual(decodeProposal(new Uint8Array(encodeProposal(p))), p);
  }
  assert.throws(() => encodeProposal(commandsProposal(1)), RangeError, 'no command');
  assert.throws(() => encodeProposal(commandsProposal(-1, ['PING'])), RangeError);
  assert.throws(() => encodeProposal({ ...commandsProposal(1, ['PING']), nowMs: 0.5 }), RangeError);
});

test('garbage never decodes silently wrong: truncations, trailing bytes, random data', () => {
  const good = encodeProposal(commandsProposal(7, ['SET', 'key', 'value'], ['DEL', 'x']));
  for (let len = 0; len < good.length; len++) {
    assert.throws(() => decodeProposal(good.subarray(0, len)), ProposalFormatError, `truncated at ${len}`);
  }
  assert.throws(() => decodeProposal(Buffer.concat([good, Buffer.from([0])])), ProposalFormatError);
  const badVersion = Buffer.from(good);
  badVersion[0] = 9;
  assert.throws(() => decodeProposal(badVersion), /unknown entry version 9/);
  const badKind = Buffer.from(good);
  badKind[1] = 77;
  assert.throws(() => decodeProposal(badKind), /unknown entry kind 77/);
  // A huge argv count must be refused before allocating.
  const hugeArgc = Buffer.from(good);
  hugeArgc.writeUInt32LE(0xfffffff0, 31);
  assert.throws(() => decodeProposal(hugeArgc), ProposalFormatError);

  const random = seededRandom(42);
  let decoded = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = Buffer.from(good);
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    try {
      const p = decodeProposal(bytes);
      decoded++;
      assert.deepEqual(decodeProposal(encodeProposal(p)), p, 'whatever decodes re-encodes the same');
    } catch (err) {
      assert.ok(err instanceof ProposalFormatError, `only ProposalFormatError, got ${String(err)}`);
    }
  }
  assert.ok(decoded > 0 && decoded < 2000);
});

test('the state machine applies in order and skips re-proposals by id', () => {
  const sm = new ShardStateMachine(new Keyspace(), { commands });
  const first = sm.apply(entry(commandsProposal(10, ['INCR', 'n'])));
  assert.deepEqual(first?.results, [1]);
  assert.equal(first?.duplicate, false);
  const again = sm.apply(entry(commandsProposal(10, ['INCR', 'n'])));
  assert.equal(again?.duplicate, true);
  assert.deepEqual(again?.results, []);
  const older = sm.apply(entry(commandsProposal(9, ['INCR', 'n'])));
  assert.equal(older?.duplicate, true);
  assert.deepEqual(sm.apply(entry(commandsProposal(11, ['INCR', 'n'])))?.results, [2]);
  // Another proposer has its own sequence.
  const other: Proposal = { ...commandsProposal(1, ['INCR', 'n']), id: { node: 4, seq: 1 } };
  assert.deepEqual(sm.apply(entry(other))?.results, [3]);
  // Empty (no-op) and malformed entries advance the applied index and change nothing.
  const appliedBefore = sm.appliedIndex;
  assert.equal(sm.apply({ term: 2, index: ++index, type: EntryType.Normal, data: new Uint8Array() }), undefined);
  assert.equal(sm.apply(entry(Buffer.from('garbage'))), undefined);
  assert.equal(sm.malformedEntries, 1);
  assert.equal(sm.appliedIndex, appliedBefore + 2);
  // An entry at or below the applied index (already in a restored snapshot) is ignored.
  assert.equal(sm.apply({ ...entry(commandsProposal(99, ['INCR', 'n'])), index: 1 }), undefined);
  assert.equal(sm.keyspace.size(), 1);
});

test('the dedup table is bounded, dropping the least recently updated proposer', () => {
  const sm = new ShardStateMachine(new Keyspace(), { commands, maxProposers: 3 });
  const from = (node: number, seq: number): Proposal => ({ ...commandsProposal(seq, ['INCR', 'n']), id: { node, seq } });
  for (const node of [1, 2, 3]) sm.apply(entry(from(node, 5)));
  sm.apply(entry(from(1, 6))); // node 1 is now the most recent
  sm.apply(entry(from(4, 1))); // evicts node 2
  assert.equal(sm.lastSequence(1), 6);
  assert.equal(sm.lastSequence(2), 0);
  assert.equal(sm.lastSequence(3), 5);
  assert.equal(sm.lastSequence(4), 1);
});

test('snapshot and restore carry keyspace, dedup table and applied index', () => {
  const sm = new ShardStateMachine(new Keyspace(), { commands });
  sm.apply(
    entry(
      commandsProposal(
        20,
        ['SET', allBytes, allBytes, 'PX', '60000'],
        ['HSET', 'h', 'f', 'v'],
        ['SADD', 's', 'a', 'b'],
        ['ZADD', 'z', '1.5', 'm'],
        ['RPUSH', 'l', '1', '2', '3'],
      ),
    ),
  );
  const data = sm.snapshot();
  const copy = new ShardStateMachine(new Keyspace(), { commands });
  copy.apply(entry(commandsProposal(1, ['SET', 'stale', 'x']))); // replaced by the restore
  copy.restore(data);
  assert.equal(copy.appliedIndex, sm.appliedIndex);
  assert.equal(copy.lastSequence(3), 20);
  assert.equal(copy.keyspace.size(), 5);
  assert.equal(copy.keyspace.getExpireAt(allBytes), 1_700_000_000_123 + 60000);
  assert.deepEqual(copy.snapshot(), data);
  // The restored dedup table still refuses the re-proposal.
  assert.equal(copy.apply(entry(commandsProposal(20, ['SET', 'k', 'v'])))?.duplicate, true);
  const ok = copy.apply(entry(commandsProposal(21, ['SET', 'k', 'v'])));
  assert.ok(ok?.results[0] instanceof SimpleString);

  assert.throws(() => copy.restore(Buffer.from('nope')), SnapshotFormatError);
  assert.throws(() => copy.restore(data.subarray(0, data.length - 3)), (e: unknown) =>
    e instanceof SnapshotFormatError || e instanceof RdbFormatError,
  );
  assert.throws(() => copy.restore(Buffer.concat([data, Buffer.from([1])])), SnapshotFormatError);
});
