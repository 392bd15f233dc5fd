// Property test: DiskLog's per-group storage must read exactly like the core's reference MemoryStorage
// after any sequence of appends (with conflicting suffixes), hard states, snapshots and compactions, both
// in memory and after closing and reopening the database.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage, type LogStorage } from '../../src/raft/log-storage.js';
import { DiskLog } from '../../src/raft/storage/disk-log.js';
import type { GroupWrite } from '../../src/raft/storage/disk-log.js';
import { makeEntries, Rand, tempDir } from './fixtures/storage-fixtures.js';

const CONF = { voters: [1], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };

function readAll(s: LogStorage): unknown {
  const first = s.firstIndex();
  const last = s.lastIndex();
  const entries = last >= first ? s.entries(first, last + 1, Infinity) : [];
  return {
    first,
    last,
    termBeforeFirst: s.term(first - 1),
    entries: entries.map((e) => [e.index, e.term, e.type, Buffer.from(e.data).toString('latin1')]),
    hardState: s.initialState().hardState,
    confState: s.initialState().confState,
    snapshot: [s.snapshot().metadata, Buffer.from(s.snapshot().data).toString('latin1')],
  };
}

for (const seed of [1, 2, 3]) {
  test(`DiskLog reads like MemoryStorage through random operations and restarts (seed ${seed})`, async () => {
    const dir = tempDir('equiv');
    const rand = new Rand(seed);
    const groups = [1, 2, 3];
    const mem = new Map(groups.map((g) => [g, new MemoryStorage()]));
    const terms = new Map(groups.map((g) => [g, 1]));
    let { log } = await DiskLog.open(dir.path, { fsync: 'no' });
    try {
      for (let step = 0; step < 300; step++) {
        const writes: GroupWrite[] = [];
        for (const g of groups) {
          if (rand.int(2) === 0) continue;
          const m = mem.get(g)!;
          const op = rand.int(10);
          if (op < 6) {
            const last = m.lastIndex();
            const from = Math.max(m.firstIndex(), last + 1 - (rand.int(4) === 0 ? rand.int(5) : 0));
            if (from <= last) terms.set(g, terms.get(g)! + 1);
            const entries = makeEntries(g, from, 1 + rand.int(8), terms.get(g)!, 1 + rand.int(30));
            const hardState = { term: terms.get(g)!, vote: 1, commit: Math.min(from - 1, m.lastIndex()) };
            m.append(entries);
            m.setHardState(hardState);
            writes.push({ groupId: g, entries, hardState });
          } else if (op < 8) {
            // Snapshots are taken of applied, so committed, state.
            const snapIndex = m.snapshot().metadata.index;
            const commit = m.initialState().hardState.commit;
            if (commit <= snapIndex) continue;
            const at = snapIndex + 1 + rand.int(commit - snapIndex);
            const snap = m.createSnapshot(at, CONF, Buffer.from(`state ${g}@${at}`, 'latin1'));
            await log.saveSnapshotFile(g, snap);
            // Compact up to the previous snapshot at most, so the previous file stays a valid fallback.
            const compactTo = Math.min(snapIndex, m.firstIndex() - 1 + rand.int(3));
            if (compactTo >= m.firstIndex()) {
              m.compact(compactTo);
              writes.push({ groupId: g, snapshotTaken: snap, compactTo });
            } else {
              writes.push({ groupId: g, snapshotTaken: snap });
            }
          } else if (op === 8) {
            // A snapshot from the leader, ahead of everything we have.
            terms.set(g, terms.get(g)! + 1);
            const at = m.lastIndex() + 1 + rand.int(5);
            const metadata = { index: at, term: terms.get(g)!, confState: CONF };
            const snap = { metadata, data: Buffer.from(`leader ${g}@${at}`) };
            await log.saveSnapshotFile(g, snap);
            m.applySnapshot(snap);
            const hardState = { term: terms.get(g)!, vote: 0, commit: at };
            m.setHardState(hardState);
            writes.push({ groupId: g, snapshot: snap, hardState });
          }
        }
        await log.write(writes);
        for (const g of groups) {
          assert.deepEqual(readAll(log.group(g)), readAll(mem.get(g)!), `step ${step} group ${g}`);
        }
        if (step % 25 === 24) {
          for (const g of groups) await log.pruneSnapshots(g, 2);
          await log.close();
          ({ log } = await DiskLog.open(dir.path, { fsync: 'no' }));
          for (const g of groups) {
            assert.deepEqual(readAll(log.group(g)), readAll(mem.get(g)!), `after restart at step ${step}, group ${g}`);
          }
        }
      }
    } finally {
      await log.close();
      dir.remove();
    }
  });
}
