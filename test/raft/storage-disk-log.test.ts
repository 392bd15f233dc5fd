import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { AssertionError } from '../../src/assert.js';
import { ErrCompacted, ErrSnapshotOutOfDate, ErrUnavailable } from '../../src/raft/errors.js';
import { DiskLog, type DiskLogOptions } from '../../src/raft/storage/disk-log.js';
import { StorageBusyError, StorageCorruptionError } from '../../src/raft/storage/errors.js';
import { entryKey } from '../../src/raft/storage/keys.js';
import { snapshotFileName } from '../../src/raft/snapshot-file.js';
import type { Entry, Snapshot } from '../../src/raft/types.js';
import { makeEntries, tempDir } from './fixtures/storage-fixtures.js';

const CONF = { voters: [1, 2, 3], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };

async function withDir(label: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = tempDir(label);
  try {
    await body(dir.path);
  } finally {
    dir.remove();
  }
}

async function openLog(dir: string, options: DiskLogOptions = {}) {
  return DiskLog.open(dir, { fsync: 'always', ...options });
}

function assertEntries(actual: readonly Entry[], expected: readonly Entry[]): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((e, i) => {
    const x = expected[i]!;
    assert.equal(e.index, x.index);
    assert.equal(e.term, x.term);
    assert.equal(e.type, x.type);
    assert.ok(Buffer.from(e.data).equals(Buffer.from(x.data)), `data of entry ${e.index}`);
  });
}

function snapshotAt(index: number, term: number, text: string): Snapshot {
  return { metadata: { index, term, confState: CONF }, data: Buffer.from(text, 'latin1') };
}

/** Rewrites one raw LevelDB value, as a disk fault would. */
async function tamper(dir: string, key: Buffer, change: (v: Buffer) => Buffer | null): Promise<void> {
  const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const value = await db.get(key);
  assert.ok(value, 'record to tamper with exists');
  const next = change(Buffer.from(value));
  if (next) await db.put(key, next);
  else await db.del(key);
  await db.close();
}

test('entries and hard states of many groups go in one batch and survive a restart', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    const groups = Array.from({ length: 50 }, (_, i) => i + 1);
    const hardState = (g: number) => ({ term: 1, vote: g % 3, commit: 10 });
    await log.write(groups.map((g) => ({ groupId: g, entries: makeEntries(g, 1, 20, 1), hardState: hardState(g) })));
    assert.equal(log.stats.batches, 1);
    assert.equal(log.stats.syncedBatches, 1);
    assert.equal(log.stats.puts, 50 * 21);
    await log.close();

    const { log: again, report } = await openLog(dir);
    assert.equal(report.groups, 50);
    assert.equal(report.entries, 1000);
    for (const g of groups) {
      const s = again.group(g);
      assert.equal(s.firstIndex(), 1);
      assert.equal(s.lastIndex(), 20);
      assert.deepEqual(s.initialState().hardState, hardState(g));
      assertEntries(s.entries(1, 21, Infinity), makeEntries(g, 1, 20, 1));
      assert.equal(s.term(0), 0);
      assert.throws(() => s.term(21), (e) => e === ErrUnavailable);
    }
    assert.equal(again.group(2).entries(1, 21, 250).length, 2, 'maxSize limits the reply');
    await again.close();
  });
});

test('a conflicting suffix is replaced and its stale tail deleted', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 1, entries: makeEntries(1, 1, 10, 1) }]);
    await log.write([{ groupId: 1, entries: makeEntries(1, 6, 2, 2) }]);
    const expected = [...makeEntries(1, 1, 5, 1), ...makeEntries(1, 6, 2, 2)];
    assert.equal(log.group(1).lastIndex(), 7);
    assertEntries(log.group(1).entries(1, 8, Infinity), expected);
    assert.equal(log.stats.dels, 3); // entries 8, 9, 10
    await log.close();

    const { log: again } = await openLog(dir);
    assert.equal(again.group(1).lastIndex(), 7, 'entries 8..10 were deleted on disk too');
    assertEntries(again.group(1).entries(1, 8, Infinity), expected);
    await again.close();
  });
});

test('writes issued without waiting are batched together and keep their order', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    const writes: Promise<void>[] = [];
    writes.push(log.write([{ groupId: 1, entries: makeEntries(1, 1, 100, 1) }]));
    for (let i = 0; i < 20; i++) {
      // Each write overwrites from index 50 with a higher term: only the last may survive.
      const hardState = { term: 2 + i, vote: 1, commit: 0 };
      writes.push(log.write([{ groupId: 1, entries: makeEntries(1, 50, 10 + i, 2 + i), hardState }]));
    }
    await Promise.all(writes);
    assert.ok(log.stats.batches < writes.length, `${log.stats.batches} batches for ${writes.length} writes`);
    const expected = [...makeEntries(1, 1, 49, 1), ...makeEntries(1, 50, 29, 21)];
    assertEntries(log.group(1).entries(1, 79, Infinity), expected);
    await log.close();
    const { log: again } = await openLog(dir);
    assertEntries(again.group(1).entries(1, again.group(1).lastIndex() + 1, Infinity), expected);
    assert.equal(again.group(1).initialState().hardState.term, 21);
    await again.close();
  });
});

test('taking snapshots and compacting; the state is recovered with the snapshot data', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 3, entries: makeEntries(3, 1, 30, 2), hardState: { term: 2, vote: 1, commit: 30 } }]);
    const s10 = snapshotAt(10, 2, 'state at 10');
    await log.saveSnapshotFile(3, s10);
    await log.write([{ groupId: 3, snapshotTaken: s10 }]);
    const s20 = snapshotAt(20, 2, 'state at 20');
    await log.saveSnapshotFile(3, s20);
    // Compaction lags one snapshot behind, so the older snapshot plus the log can replace the newer one.
    await log.write([{ groupId: 3, snapshotTaken: s20, compactTo: 10 }]);
    const g = log.group(3);
    assert.equal(g.firstIndex(), 11);
    assert.equal(g.term(10), 2);
    assert.throws(() => g.entries(10, 12, Infinity), (e) => e === ErrCompacted);
    assert.throws(() => g.term(9), (e) => e === ErrCompacted);
    assert.equal(g.snapshot().metadata.index, 20);
    assert.throws(() => log.write([{ groupId: 3, compactTo: 25 }]), AssertionError, 'never past the newest snapshot');
    await log.close();

    const { log: again, report } = await openLog(dir);
    const r = again.group(3);
    assert.equal(r.firstIndex(), 11);
    assert.equal(r.lastIndex(), 30);
    assert.equal(Buffer.from(r.snapshot().data).toString('latin1'), 'state at 20');
    assert.deepEqual(r.initialState().confState, CONF);
    assert.equal(report.snapshotFallbacks.length, 0);
    assertEntries(r.entries(11, 31, Infinity), makeEntries(3, 11, 20, 2));
    await again.close();
  });
});

test('a corrupt newest snapshot falls back to the older one; with neither usable the node refuses', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 4, entries: makeEntries(4, 1, 30, 1), hardState: { term: 1, vote: 1, commit: 30 } }]);
    for (const [index, compactTo] of [[10, 0], [20, 10]] as const) {
      const s = snapshotAt(index, 1, `state at ${index}`);
      await log.saveSnapshotFile(4, s);
      await log.write([{ groupId: 4, snapshotTaken: s, compactTo }]);
    }
    await log.close();
    const newest = join(dir, 'snapshots', snapshotFileName(4, { index: 20, term: 1 }));
    const bytes = readFileSync(newest);
    bytes[bytes.length - 30] ^= 1;
    writeFileSync(newest, bytes);

    const { log: again, report } = await openLog(dir);
    assert.equal(report.snapshotFallbacks.length, 1);
    assert.equal(report.snapshotFallbacks[0]!.usedIndex, 10);
    assert.match(report.snapshotFallbacks[0]!.rejected[0]!, /snap-00000004-00000000000014-.*checksum mismatch/);
    assert.equal(again.group(4).snapshot().metadata.index, 10);
    assert.equal(Buffer.from(again.group(4).snapshot().data).toString('latin1'), 'state at 10');
    assert.equal(again.group(4).firstIndex(), 11);
    await again.close();

    const older = join(dir, 'snapshots', snapshotFileName(4, { index: 10, term: 1 }));
    writeFileSync(older, readFileSync(older).subarray(0, 40)); // truncated too
    await assert.rejects(openLog(dir), /refusing to start: group 4: no valid snapshot with index in \[10, 20\]/);
  });
});

test('installing a snapshot from the leader replaces the log; an older one is refused', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 1, entries: makeEntries(1, 1, 5, 1) }]);
    const snap = snapshotAt(100, 4, 'leader state');
    await log.saveSnapshotFile(1, snap);
    const hardState = { term: 4, vote: 0, commit: 100 };
    await log.write([{ groupId: 1, snapshot: snap, entries: makeEntries(1, 101, 3, 4), hardState }]);
    assert.equal(log.group(1).firstIndex(), 101);
    assert.equal(log.group(1).lastIndex(), 103);
    const older = log.write([{ groupId: 1, snapshot: snapshotAt(50, 3, 'old') }]);
    await assert.rejects(older, (e) => e === ErrSnapshotOutOfDate);
    assert.equal(readdirSync(join(dir, 'snapshots')).length, 1, 'no file for a refused snapshot');
    assert.equal(log.group(1).lastIndex(), 103, 'a refused write changes nothing');
    await log.close();
    const { log: again } = await openLog(dir);
    assert.equal(again.group(1).firstIndex(), 101);
    assertEntries(again.group(1).entries(101, 104, Infinity), makeEntries(1, 101, 3, 4));
    assert.equal(Buffer.from(again.group(1).snapshot().data).toString('latin1'), 'leader state');
    await again.close();
  });
});

test('a flipped byte in a log record is caught and names the group and index', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    const hardState = { term: 1, vote: 1, commit: 5 };
    await log.write([1, 2, 3].map((g) => ({ groupId: g, entries: makeEntries(g, 1, 10, 1), hardState })));
    await log.close();
    await tamper(dir, entryKey(2, 7), (v) => {
      v[v.length - 1] ^= 0x04;
      return v;
    });
    await assert.rejects(openLog(dir), (err: Error) => {
      assert.ok(err instanceof StorageCorruptionError);
      assert.match(err.message, /refusing to start: group 2 entry 7: checksum mismatch/);
      assert.match(err.message, /\(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)/);
      return true;
    });
    // Tolerant mode: the other groups start; group 2 is reported and never silently restarted empty.
    const { log: partial, report } = await openLog(dir, { tolerateCorruptGroups: true });
    assert.deepEqual([...report.failedGroups.keys()], [2]);
    assert.equal(partial.group(1).lastIndex(), 10);
    assert.equal(partial.group(3).lastIndex(), 10);
    assert.throws(() => partial.group(2), /group 2 entry 7: checksum mismatch/);
    // The remedy: destroy the group's records (it is then rebuilt from its peers as a new replica).
    await partial.destroyGroup(2);
    assert.equal(partial.group(2).lastIndex(), 0);
    await partial.close();
    const { log: repaired, report: after } = await openLog(dir);
    assert.deepEqual(repaired.groupIds(), [1, 3]);
    assert.equal(after.entries, 20);
    await repaired.close();
  });
});

test('a record under the wrong key, a missing entry and a bad hard state are caught', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 1, entries: makeEntries(1, 1, 10, 1), hardState: { term: 1, vote: 1, commit: 10 } }]);
    await log.close();
    // Copy entry 3's (valid) record over entry 4: the CRC covers the key, so it cannot pass as entry 4.
    const db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    await db.open();
    const e3 = (await db.get(entryKey(1, 3)))!;
    const e4 = (await db.get(entryKey(1, 4)))!;
    await db.put(entryKey(1, 4), e3);
    await db.close();
    await assert.rejects(openLog(dir), /group 1 entry 4: checksum mismatch/);

    await tamper(dir, entryKey(1, 4), () => e4); // repaired
    await tamper(dir, entryKey(1, 6), () => null); // a hole
    await assert.rejects(openLog(dir), /group 1 entry 7: gap in the log \(expected entry 6\)/);
  });
});

test('a commit index outside the log is corruption', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 9, entries: makeEntries(9, 1, 3, 1), hardState: { term: 1, vote: 1, commit: 7 } }]);
    await log.close();
    await assert.rejects(openLog(dir), /group 9: commit index 7 outside the log \[0, 3\]/);
  });
});

test('fsync policies: always syncs each batch, no never does, everysec syncs on a timer', async () => {
  for (const fsync of ['always', 'no', 'everysec'] as const) {
    await withDir('log', async (dir) => {
      const { log } = await DiskLog.open(dir, { fsync, syncIntervalMs: 20 });
      for (let i = 0; i < 5; i++) await log.write([{ groupId: 1, entries: makeEntries(1, 1 + i * 10, 10, 1) }]);
      if (fsync === 'always') assert.equal(log.stats.syncedBatches, 5);
      else assert.equal(log.stats.syncedBatches, 0);
      // A commit-only hard state change need not sync even under 'always'.
      await log.write([{ groupId: 1, hardState: { term: 1, vote: 1, commit: 3 } }], false);
      assert.equal(log.stats.syncedBatches, fsync === 'always' ? 5 : 0);
      if (fsync === 'everysec') {
        for (let i = 0; i < 50 && log.stats.syncedBatches === 0; i++) await new Promise((r) => setTimeout(r, 10));
        assert.ok(log.stats.syncedBatches >= 1, 'the timer synced');
      }
      await log.close();
      const { log: again } = await DiskLog.open(dir, { fsync });
      assert.equal(again.group(1).lastIndex(), 50);
      await again.close();
    });
  }
});

test('too many bytes waiting for the disk is refused without changing anything', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir, { pendingBytesMax: 5000 });
    const first = log.write([{ groupId: 1, entries: makeEntries(1, 1, 10, 1) }]); // in flight
    const second = log.write([{ groupId: 1, entries: makeEntries(1, 11, 100, 1) }]); // waits: > 5000 bytes
    assert.throws(() => log.write([{ groupId: 1, entries: makeEntries(1, 111, 1, 1) }]), StorageBusyError);
    assert.equal(log.group(1).lastIndex(), 110);
    await Promise.all([first, second]);
    await log.write([{ groupId: 1, entries: makeEntries(1, 111, 1, 1) }]); // accepted again
    assert.equal(log.group(1).lastIndex(), 111);
    await log.close();
  });
});

test('invalid writes are refused before anything changes', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 1, entries: makeEntries(1, 1, 5, 1) }]);
    assert.throws(
      () =>
        log.write([
          { groupId: 2, entries: makeEntries(2, 1, 1, 1) },
          { groupId: 1, entries: makeEntries(1, 9, 1, 1) },
        ]),
      /group 1: missing log entry \[last: 5, append at: 9\]/,
    );
    assert.equal(log.group(2).lastIndex(), 0, 'the valid part of a refused write was not applied');
    const gap = [makeEntries(1, 6, 1, 1)[0]!, makeEntries(1, 8, 1, 1)[0]!];
    assert.throws(() => log.write([{ groupId: 1, entries: gap }]), /not contiguous/);
    await log.close();
  });
});

test('destroying a group deletes all of its records', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    const hardState = { term: 1, vote: 0, commit: 5 };
    await log.write([1, 2].map((g) => ({ groupId: g, entries: makeEntries(g, 1, 5, 1), hardState })));
    const snap = snapshotAt(5, 1, 'state');
    await log.saveSnapshotFile(1, snap);
    await log.write([{ groupId: 1, snapshotTaken: snap, compactTo: 2 }]);
    await log.destroyGroup(1);
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), []);
    await log.close();
    const { log: again, report } = await openLog(dir);
    assert.deepEqual(again.groupIds(), [2]);
    assert.equal(report.entries, 5);
    assertEntries(again.group(2).entries(1, 6, Infinity), makeEntries(2, 1, 5, 1));
    await again.close();
  });
});

test('a failed LevelDB write is fatal: every later write fails', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    const first = log.write([{ groupId: 1, entries: makeEntries(1, 1, 3, 1) }]); // in flight
    const second = log.write([{ groupId: 1, entries: makeEntries(1, 4, 1, 1) }]); // waits behind it
    // Pull the database out from under the log, as a dying disk would.
    await (log as unknown as { db: ClassicLevel<Buffer, Buffer> }).db.close();
    await first;
    await assert.rejects(second, { name: 'StorageFailedError', message: /write failed, storage stopped/ });
    assert.throws(() => log.write([{ groupId: 1, entries: makeEntries(1, 4, 1, 1) }]), {
      name: 'StorageFailedError',
      message: /write failed, storage stopped/,
    });
    assert.throws(() => log.write([{ groupId: 1, entries: makeEntries(1, 5, 1, 1) }]), { name: 'StorageFailedError' });
    assert.throws(() => log.sync(), { name: 'StorageFailedError' });
  });
});

test('a snapshot write without its file writes the file first, keeping later writes in order', async () => {
  await withDir('log', async (dir) => {
    const { log } = await openLog(dir);
    await log.write([{ groupId: 1, entries: makeEntries(1, 1, 5, 1) }]);
    const snap = snapshotAt(50, 2, 'from the leader');
    const installed = log.write([{ groupId: 1, snapshot: snap, hardState: { term: 2, vote: 0, commit: 50 } }]);
    // Issued before the file exists: must still land after the install, not before it.
    const appended = log.write([{ groupId: 1, entries: makeEntries(1, 51, 3, 2) }]);
    await Promise.all([installed, appended]);
    assert.deepEqual(readdirSync(join(dir, 'snapshots')), [snapshotFileName(1, snap.metadata)]);
    assert.equal(log.group(1).lastIndex(), 53);
    await log.close();
    const { log: again } = await openLog(dir);
    assert.equal(again.group(1).firstIndex(), 51);
    assert.equal(Buffer.from(again.group(1).snapshot().data).toString('latin1'), 'from the leader');
    assertEntries(again.group(1).entries(51, 54, Infinity), makeEntries(1, 51, 3, 2));
    await again.close();
  });
});
