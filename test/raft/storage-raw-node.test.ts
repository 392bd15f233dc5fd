// The durable storage under the real Raft core: a single-member group persists every Ready through
// DiskLog, takes a snapshot and compacts, restarts from disk and replays to the same state.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeConfChange } from '../../src/raft/confchange/encoding.js';
import { RawNode } from '../../src/raft/raw-node.js';
import { DiskLog } from '../../src/raft/storage/disk-log.js';
import { EntryType, type ConfState, type GroupId } from '../../src/raft/types.js';
import { Rand, tempDir } from './fixtures/storage-fixtures.js';

const GROUP: GroupId = 5;

/** A tiny state machine: the list of applied payloads. */
class Replica {
  applied: string[] = [];
  appliedIndex = 0;
  confState: ConfState | null = null;

  constructor(
    readonly log: DiskLog,
    readonly node: RawNode,
  ) {}

  /** Handles Readys until there are none: persist, apply, advance. */
  async drive(): Promise<void> {
    for (let round = 0; round < 100 && this.node.hasReady(); round++) {
      const rd = this.node.ready();
      const write = { groupId: GROUP, entries: rd.entries, ...(rd.hardState ? { hardState: rd.hardState } : {}) };
      await this.log.write([write], rd.mustSync);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange) this.confState = this.node.applyConfChange(decodeConfChange(e.data));
        else if (e.data.length > 0) this.applied.push(Buffer.from(e.data).toString('latin1'));
        this.appliedIndex = e.index;
      }
      this.node.advance(rd);
    }
    assert.equal(this.node.hasReady(), false, 'bounded drive loop finished');
  }
}

test('a Raft group on DiskLog survives a restart with a snapshot and a compacted log', async () => {
  const dir = tempDir('rawnode');
  const rand = new Rand(42);
  try {
    let { log } = await DiskLog.open(dir.path, { fsync: 'always' });
    let r = new Replica(log, new RawNode({ id: 1, storage: log.group(GROUP), random: () => rand.next() }));
    r.node.bootstrap([1]);
    await r.drive(); // persist and apply the bootstrap entries (a node does not campaign before)
    r.node.campaign();
    await r.drive();
    for (let i = 0; i < 40; i++) {
      r.node.propose(Buffer.from(`cmd${i}`, 'latin1'));
      await r.drive();
    }
    assert.equal(r.applied.length, 40);

    // Snapshot the state machine and compact all but the last 10 entries.
    const snap = {
      metadata: { index: r.appliedIndex, term: log.group(GROUP).term(r.appliedIndex), confState: r.confState! },
      data: Buffer.from(JSON.stringify(r.applied), 'latin1'),
    };
    await log.saveSnapshotFile(GROUP, snap);
    await log.write([{ groupId: GROUP, snapshotTaken: snap, compactTo: r.appliedIndex - 10 }]);
    for (let i = 40; i < 50; i++) r.node.propose(Buffer.from(`cmd${i}`, 'latin1'));
    await r.drive();
    const before = r.applied.slice();
    const hardStateBefore = log.group(GROUP).initialState().hardState;
    await log.close();

    ({ log } = await DiskLog.open(dir.path, { fsync: 'always' }));
    const storage = log.group(GROUP);
    assert.deepEqual(storage.initialState().hardState, hardStateBefore);
    assert.equal(storage.firstIndex(), snap.metadata.index - 9);
    const restored = storage.snapshot();
    r = new Replica(log, new RawNode({ id: 1, storage, applied: restored.metadata.index, random: () => rand.next() }));
    r.applied = JSON.parse(Buffer.from(restored.data).toString('latin1')) as string[];
    r.confState = restored.metadata.confState;
    r.node.campaign();
    await r.drive();
    assert.deepEqual(r.applied, before, 'snapshot + replayed log = the state before the restart');
    r.node.propose(Buffer.from('after restart', 'latin1'));
    await r.drive();
    assert.equal(r.applied.at(-1), 'after restart');
    assert.ok(log.group(GROUP).initialState().hardState.term > hardStateBefore.term);
    await log.close();
  } finally {
    dir.remove();
  }
});
