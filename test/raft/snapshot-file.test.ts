import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SnapshotCorruptionError,
  SnapshotFileReader,
  SnapshotFileWriter,
  SnapshotUnavailableError,
  listSnapshotFiles,
  loadNewestValidSnapshot,
  pruneSnapshotFiles,
  readSnapshotFile,
  removeTemporarySnapshotFiles,
  snapshotFileName,
  writeSnapshotFile,
} from '../../src/raft/snapshot-file.js';
import type { Snapshot } from '../../src/raft/types.js';
import { Rand, tempDir } from './fixtures/storage-fixtures.js';

function snapshotOf(index: number, term: number, data: Uint8Array): Snapshot {
  const confState = { voters: [1, 2, 3], votersOutgoing: [], learners: [4], learnersNext: [], autoLeave: false };
  return { metadata: { index, term, confState }, data };
}

/** Compressible but not trivial: repeated text with a counter. */
function stateBytes(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i += 16) out.write(`key:${i.toString(36)}=v;`, i, 'latin1');
  return out;
}

test('snapshots of many sizes round-trip, streaming chunk by chunk', async () => {
  const dir = tempDir('snap');
  try {
    for (const size of [0, 1, 999, 1000, 1001, 25_000]) {
      const snap = snapshotOf(10 + size, 3, stateBytes(size));
      const path = await writeSnapshotFile(dir.path, 7, snap, 1000);
      assert.equal(path, join(dir.path, snapshotFileName(7, snap.metadata)));
      const { group, snapshot } = await readSnapshotFile(path);
      assert.equal(group, 7);
      assert.deepEqual(snapshot.metadata, snap.metadata);
      assert.ok(Buffer.from(snapshot.data).equals(Buffer.from(snap.data)), `size ${size}`);

      const reader = await SnapshotFileReader.open(path);
      let chunks = 0;
      for await (const chunk of reader.chunks()) {
        assert.ok(chunk.length <= 1000 && chunk.length > 0);
        chunks++;
      }
      await reader.close();
      assert.equal(chunks, Math.ceil(size / 1000));
      assert.equal(reader.totalBytes, size);
    }
    assert.equal(readdirSync(dir.path).filter((n) => n.endsWith('.tmp')).length, 0);
  } finally {
    dir.remove();
  }
});

test('the writer accepts data in arbitrary pieces and copies them', async () => {
  const dir = tempDir('snap');
  try {
    const data = new Rand(3).bytes(5000);
    const w = await SnapshotFileWriter.create(dir.path, 1, snapshotOf(50, 2, data).metadata, 700);
    const scratch = Buffer.alloc(300);
    for (let at = 0; at < data.length; at += 300) {
      const piece = data.subarray(at, at + 300);
      scratch.set(piece);
      await w.write(scratch.subarray(0, piece.length));
      scratch.fill(0); // the writer must not keep a view of the caller's buffer
    }
    const { snapshot } = await readSnapshotFile(await w.finish());
    assert.deepEqual(Array.from(snapshot.data), Array.from(data));
  } finally {
    dir.remove();
  }
});

test('a flipped byte anywhere in the file is caught', async () => {
  const dir = tempDir('snap');
  try {
    const path = await writeSnapshotFile(dir.path, 2, snapshotOf(9, 1, new Rand(8).bytes(3000)), 1024);
    const good = readFileSync(path);
    const size = good.length;
    // Every byte of the header and trailer, and a spread of bytes inside the chunks.
    const positions = new Set<number>();
    for (let i = 0; i < 60; i++) positions.add(i);
    for (let i = size - 25; i < size; i++) positions.add(i);
    for (let i = 60; i < size - 25; i += 37) positions.add(i);
    for (const pos of positions) {
      const bad = Buffer.from(good);
      bad[pos] ^= 0x20;
      writeFileSync(path, bad);
      await assert.rejects(readSnapshotFile(path), SnapshotCorruptionError, `flip at ${pos}`);
    }
    writeFileSync(path, good);
    await readSnapshotFile(path);
  } finally {
    dir.remove();
  }
});

test('a truncated file is caught at every length', async () => {
  const dir = tempDir('snap');
  try {
    const path = await writeSnapshotFile(dir.path, 2, snapshotOf(9, 1, stateBytes(4000)), 1024);
    const size = statSync(path).size;
    const good = readFileSync(path);
    for (let len = 0; len < size; len += len < 64 ? 1 : 13) {
      writeFileSync(path, good.subarray(0, len));
      await assert.rejects(readSnapshotFile(path), /snapshot file .*: /, `length ${len}`);
    }
    writeFileSync(path, Buffer.concat([good, Buffer.from([0])]));
    await assert.rejects(readSnapshotFile(path), SnapshotCorruptionError);
  } finally {
    dir.remove();
  }
});

test('the loader falls back to the older snapshot, or refuses with a clear error', async () => {
  const dir = tempDir('snap');
  try {
    const older = snapshotOf(100, 2, stateBytes(3000));
    const newer = snapshotOf(200, 3, stateBytes(6000));
    await writeSnapshotFile(dir.path, 5, older, 1024);
    const newerPath = await writeSnapshotFile(dir.path, 5, newer, 1024);
    await writeSnapshotFile(dir.path, 6, snapshotOf(300, 3, stateBytes(10)));

    let loaded = await loadNewestValidSnapshot(dir.path, 5, 100, 200);
    assert.equal(loaded.snapshot.metadata.index, 200);
    assert.equal(loaded.rejected.length, 0);

    truncateSync(newerPath, statSync(newerPath).size - 100);
    loaded = await loadNewestValidSnapshot(dir.path, 5, 100, 200);
    assert.equal(loaded.snapshot.metadata.index, 100);
    assert.deepEqual(Array.from(loaded.snapshot.data), Array.from(older.data));
    assert.equal(loaded.rejected.length, 1);
    assert.match(loaded.rejected[0]!.error.message, /snap-00000005-000000000000c8-/);

    // The log only covers the gap from index 150: the older snapshot cannot be used.
    await assert.rejects(loadNewestValidSnapshot(dir.path, 5, 150, 200), (err: Error) => {
      assert.ok(err instanceof SnapshotUnavailableError);
      assert.match(err.message, /group 5: no valid snapshot with index in \[150, 200\]: snapshot file /);
      assert.match(err.message, /refusing to start the group$/);
      return true;
    });
  } finally {
    dir.remove();
  }
});

test('a file renamed to another snapshot name is refused', async () => {
  const dir = tempDir('snap');
  try {
    const path = await writeSnapshotFile(dir.path, 5, snapshotOf(100, 2, stateBytes(50)));
    writeFileSync(join(dir.path, snapshotFileName(5, { index: 120, term: 2 })), readFileSync(path));
    const loaded = await loadNewestValidSnapshot(dir.path, 5, 0, 120);
    assert.equal(loaded.snapshot.metadata.index, 100);
    assert.match(loaded.rejected[0]!.error.message, /header says group 5 index 100 term 2, the name disagrees/);
  } finally {
    dir.remove();
  }
});

test('pruning keeps the newest two per group; stray temporary files are removed', async () => {
  const dir = tempDir('snap');
  try {
    for (const index of [10, 20, 30, 40]) await writeSnapshotFile(dir.path, 1, snapshotOf(index, 1, stateBytes(20)));
    await writeSnapshotFile(dir.path, 2, snapshotOf(5, 1, stateBytes(20)));
    const removed = await pruneSnapshotFiles(dir.path, 1, 2);
    assert.equal(removed.length, 2);
    assert.deepEqual((await listSnapshotFiles(dir.path, 1)).map((f) => f.index), [40, 30]);
    assert.deepEqual((await listSnapshotFiles(dir.path, 2)).map((f) => f.index), [5]);

    const w = await SnapshotFileWriter.create(dir.path, 1, snapshotOf(50, 1, new Uint8Array(0)).metadata);
    await w.write(stateBytes(100)); // a crash now would leave the .tmp file behind
    assert.equal(readdirSync(dir.path).filter((n) => n.endsWith('.tmp')).length, 1);
    assert.equal(await removeTemporarySnapshotFiles(dir.path), 1);
    assert.equal(readdirSync(dir.path).filter((n) => n.endsWith('.tmp')).length, 0);
    await w.abort();
  } finally {
    dir.remove();
  }
});
