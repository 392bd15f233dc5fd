// The node's durable Raft storage: one classic-level (LevelDB) database shared by every group on the node,
// plus a directory of snapshot files. Layout on disk:
//
//   <dir>/db/          LevelDB (key layout in keys.ts, record format in records.ts)
//   <dir>/snapshots/   snapshot files (snapshot-file.ts)
//
// Writes: write() takes the changes of MANY groups (snapshots to install, entries, hard states, snapshots
// taken, compactions) and puts them in ONE chained batch, applying them to each group's in-memory log at
// once. Batches reach LevelDB one at a time, in order; writes arriving while one is in flight join the
// next batch (group commit: the slower the disk, the bigger the batch). The returned promise settles when
// the batch is as durable as the fsync policy promises:
//   'always'    each batch that must sync is written with sync (fdatasync) before its promise resolves;
//   'everysec'  batches are written without sync (they survive a process crash, not a power loss) and
//               a tiny synced marker batch flushes LevelDB's log once a second;
//   'no'        never synced by us (the OS decides).
// A failed LevelDB write is fatal: every later write fails with StorageFailedError.
//
// Recovery (open): every group's records are read and CRC-checked; entries must be contiguous after the
// compaction point and the hard state's commit must lie inside the log. The newest valid snapshot file is
// loaded; if it is corrupt the previous one is used when the log still covers the gap. Anything else is a
// StorageCorruptionError naming the group and index: the group never starts on bad data.

import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { assert } from '../../assert.js';
import { EMPTY_HARD_STATE, EMPTY_SNAPSHOT } from '../log-storage.js';
import {
  loadNewestValidSnapshot,
  pruneSnapshotFiles,
  removeTemporarySnapshotFiles,
  snapshotFileName,
  SnapshotUnavailableError,
  writeSnapshotFile,
} from '../snapshot-file.js';
import type { Entry, GroupId, Index, Snapshot, SnapshotMetadata } from '../types.js';
import { StorageBusyError, StorageCorruptionError, StorageFailedError } from './errors.js';
import { GroupLog, type BatchSink, type GroupChange } from './group-log.js';
import {
  GROUP_ID_MAX,
  KeyKind,
  entryKey,
  groupKey,
  kindRange,
  nodeKey,
  parseEntryKey,
  parseGroupKey,
} from './keys.js';
import {
  readEntryRecord,
  readHardStateRecord,
  readSnapshotMetaRecord,
  readTruncatedRecord,
  type TruncatedState,
} from './records.js';

export type FsyncPolicy = 'always' | 'everysec' | 'no';

export interface DiskLogOptions {
  /** Default 'everysec', like Redis's appendfsync. */
  readonly fsync?: FsyncPolicy;
  /** The 'everysec' period. Default 1000. */
  readonly syncIntervalMs?: number;
  /** Bytes that may wait behind the batch in flight before write() refuses with StorageBusyError. */
  readonly pendingBytesMax?: number;
  /** Report groups with corrupt records in RecoveryReport.failedGroups instead of refusing to open. */
  readonly tolerateCorruptGroups?: boolean;
  /** LevelDB memtable size. Default 64 MiB (log records are short-lived; fewer L0 flushes). */
  readonly writeBufferSize?: number;
}

/** One group's part of a write (see GroupChange). Snapshot files are written first if missing. */
export interface GroupWrite extends GroupChange {
  readonly groupId: GroupId;
}

export interface RecoveryReport {
  readonly groups: number;
  readonly entries: number;
  readonly durationMs: number;
  /** Groups that use an older snapshot because newer files were corrupt, and why. */
  readonly snapshotFallbacks: readonly { groupId: GroupId; usedIndex: Index; rejected: string[] }[];
  /** Only with tolerateCorruptGroups: groups that could not be recovered (not available via group()). */
  readonly failedGroups: ReadonlyMap<GroupId, Error>;
  readonly removedTemporaryFiles: number;
}

export interface DiskLogStats {
  batches: number;
  syncedBatches: number;
  puts: number;
  dels: number;
  bytes: number;
}

const DEFAULT_PENDING_BYTES_MAX = 64 << 20;
const FORMAT_KEY = nodeKey('format');
const SYNC_MARKER_KEY = nodeKey('sync');
const STORAGE_FORMAT = Buffer.from([1]);
const RECOVERY_PAGE = 1024;

type Db = ClassicLevel<Buffer, Buffer>;
type ChainedBatch = ReturnType<Db['batch']>;

/** The batch being filled: a LevelDB chained batch plus who waits for it. */
class PendingBatch implements BatchSink {
  sync = false;
  bytes = 0;
  ops = 0;
  puts = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (err: Error) => void;

  constructor(readonly batch: ChainedBatch) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.done.catch(() => undefined); // callers observe it; an unobserved failure must not crash the process
  }

  put(key: Buffer, value: Buffer): void {
    this.batch.put(key, value);
    this.bytes += key.length + value.length;
    this.ops++;
    this.puts++;
  }

  del(key: Buffer): void {
    this.batch.del(key);
    this.bytes += key.length;
    this.ops++;
  }
}

export class DiskLog {
  private readonly groupLogs = new Map<GroupId, GroupLog>();
  /** Groups whose records failed recovery (tolerateCorruptGroups): never silently restarted empty. */
  private readonly failedGroups = new Map<GroupId, Error>();
  /** Set while writes wait for snapshot files (see write()); later writes queue behind it. */
  private gate: Promise<void> | null = null;
  private pending: PendingBatch | null = null;
  private inFlight: PendingBatch | null = null;
  private dirty = false; // written since the last sync
  private failure: Error | null = null;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: DiskLogStats = { batches: 0, syncedBatches: 0, puts: 0, dels: 0, bytes: 0 };
  readonly snapshotDir: string;

  private constructor(
    private readonly db: Db,
    readonly dir: string,
    readonly fsync: FsyncPolicy,
    private readonly pendingBytesMax: number,
  ) {
    this.snapshotDir = join(dir, 'snapshots');
  }

  /** Opens (creating if needed) and recovers every group. Throws StorageCorruptionError on bad data. */
  static async open(dir: string, options: DiskLogOptions = {}): Promise<{ log: DiskLog; report: RecoveryReport }> {
    const started = performance.now();
    await mkdir(join(dir, 'snapshots'), { recursive: true });
    const db: Db = new ClassicLevel<Buffer, Buffer>(join(dir, 'db'), {
      keyEncoding: 'buffer',
      valueEncoding: 'buffer',
      writeBufferSize: options.writeBufferSize ?? 64 << 20,
    });
    await db.open();
    const log = new DiskLog(db, dir, options.fsync ?? 'everysec', options.pendingBytesMax ?? DEFAULT_PENDING_BYTES_MAX);
    let report: RecoveryReport;
    try {
      await log.checkFormat();
      report = await log.recover(options.tolerateCorruptGroups ?? false, started);
    } catch (err) {
      await db.close();
      throw err;
    }
    if (log.fsync === 'everysec') {
      log.timer = setInterval(() => log.syncIfDirty(), options.syncIntervalMs ?? 1000);
      log.timer.unref();
    }
    return { log, report };
  }

  private async checkFormat(): Promise<void> {
    const format = await this.db.get(FORMAT_KEY);
    if (format === undefined) {
      await this.db.put(FORMAT_KEY, STORAGE_FORMAT, { sync: true });
    } else if (!format.equals(STORAGE_FORMAT)) {
      throw new StorageCorruptionError(`${this.dir}: unknown storage format ${format.toString('hex')}`);
    }
  }

  /** The group's log; a group never seen before starts empty. */
  group(groupId: GroupId): GroupLog {
    let g = this.groupLogs.get(groupId);
    if (!g) {
      const failure = this.failedGroups.get(groupId);
      if (failure) throw failure;
      assert(Number.isInteger(groupId) && groupId >= 0 && groupId <= GROUP_ID_MAX, `bad group id ${groupId}`);
      g = new GroupLog(groupId);
      this.groupLogs.set(groupId, g);
    }
    return g;
  }

  /** Groups that have state on this node (recovered or written since). */
  groupIds(): GroupId[] {
    return [...this.groupLogs.keys()];
  }

  /**
   * Applies the writes (at most one per group) to the groups' in-memory logs now and queues them as one
   * batch. Throws (changing nothing) on an invalid write, when closed or failed, or with
   * StorageBusyError when too much waits.
   * The promise resolves once the batch is durable per the fsync policy. `mustSync` false (a commit-only
   * hard state change) lets even the 'always' policy skip the sync.
   *
   * A write with a snapshot whose file is not in the snapshot directory yet first writes the file
   * (durably); until then it and every later write wait, in order, and refusals arrive as rejections.
   * This makes DiskLog usable directly as the Multi-Raft host's StoragePort.
   */
  write(writes: readonly GroupWrite[], mustSync = true): Promise<void> {
    const needsFiles = writes.some((w) => w.snapshot || w.snapshotTaken);
    return this.gate || needsFiles ? this.writeAfterFiles(writes, mustSync) : this.writeNow(writes, mustSync);
  }

  private writeAfterFiles(writes: readonly GroupWrite[], mustSync: boolean): Promise<void> {
    let queued: Promise<void> = Promise.resolve();
    const gate = (this.gate ?? Promise.resolve()).then(async () => {
      for (const w of writes) this.check(w); // refuse before writing any file
      for (const w of writes) {
        if (w.snapshot) await this.ensureSnapshotFile(w.groupId, w.snapshot);
        if (w.snapshotTaken) await this.ensureSnapshotFile(w.groupId, w.snapshotTaken);
      }
      queued = this.writeNow(writes, mustSync);
    });
    const settled = gate.then(
      () => undefined,
      () => undefined,
    );
    this.gate = settled;
    void settled.then(() => {
      if (this.gate === settled) this.gate = null;
    });
    return gate.then(() => queued);
  }

  private async ensureSnapshotFile(groupId: GroupId, snap: Snapshot): Promise<void> {
    const path = join(this.snapshotDir, snapshotFileName(groupId, snap.metadata));
    try {
      await access(path);
    } catch {
      try {
        await writeSnapshotFile(this.snapshotDir, groupId, snap);
      } catch (err) {
        throw this.fail(err); // the disk failed us: nothing later may be written out of order
      }
    }
  }

  private writeNow(writes: readonly GroupWrite[], mustSync: boolean): Promise<void> {
    this.checkWritable();
    const seen = new Set<GroupId>();
    for (const w of writes) {
      if (seen.has(w.groupId)) assert(false, `group ${w.groupId} appears twice in one write`);
      seen.add(w.groupId);
      this.check(w);
    }
    const batch = this.batchToFill();
    try {
      for (const w of writes) this.group(w.groupId).apply(w, batch);
    } catch (err) {
      // A bug (the checks passed): memory and the batch may disagree, so nothing more may be written.
      const failure = this.fail(err);
      if (!this.inFlight) {
        batch.reject(failure);
        this.pending = null;
      }
      throw err;
    }
    if (this.fsync === 'always' && mustSync) batch.sync = true;
    if (this.inFlight) return batch.done; // goes out when the batch in flight completes
    if (batch.ops === 0 && !batch.sync) {
      this.pending = null; // nothing to write, and nothing earlier is still in flight
      return Promise.resolve();
    }
    const done = batch.done;
    this.flush();
    return done;
  }

  /** Makes everything written so far durable (a synced marker batch), whatever the policy. */
  sync(): Promise<void> {
    this.checkOpen();
    const batch = this.batchToFill();
    batch.put(SYNC_MARKER_KEY, Buffer.from([1]));
    batch.sync = true;
    if (!this.inFlight) this.flush();
    return batch.done;
  }

  private syncIfDirty(): void {
    if (this.closed || this.failure || (!this.dirty && !this.pending)) return;
    this.sync().catch(() => undefined); // a failure is kept in this.failure and fails the next write
  }

  /** Writes a snapshot file durably now (write() would do it too, but holding later writes back). */
  async saveSnapshotFile(groupId: GroupId, snapshot: Snapshot): Promise<string> {
    return writeSnapshotFile(this.snapshotDir, groupId, snapshot);
  }

  /** Deletes the group's snapshot files beyond the newest `keep`. */
  async pruneSnapshots(groupId: GroupId, keep = 2): Promise<string[]> {
    return pruneSnapshotFiles(this.snapshotDir, groupId, keep);
  }

  /**
   * Deletes every record and snapshot file of a group (the replica left this node, or its records are
   * corrupt and it will be rebuilt from its peers). Writes to the group are refused meanwhile.
   */
  async destroyGroup(groupId: GroupId): Promise<void> {
    this.checkWritable();
    this.groupLogs.delete(groupId);
    const previousFailure = this.failedGroups.get(groupId);
    this.failedGroups.set(groupId, new StorageFailedError(`group ${groupId} is being destroyed`));
    try {
      await this.idle();
      const end = groupId === GROUP_ID_MAX ? Buffer.from([KeyKind.Entry + 1]) : entryKey(groupId + 1, 0);
      const keys = await this.db.keys({ gte: entryKey(groupId, 0), lt: end }).all();
      for (const kind of [KeyKind.HardState, KeyKind.Truncated, KeyKind.SnapshotMeta]) {
        keys.push(groupKey(kind, groupId));
      }
      // Fill the batch without awaiting in between: another write may flush it at any await.
      const batch = this.batchToFill();
      for (const key of keys) batch.del(key);
      batch.sync = this.fsync !== 'no';
      if (!this.inFlight) this.flush();
      await batch.done;
      this.failedGroups.delete(groupId);
    } catch (err) {
      if (previousFailure) this.failedGroups.set(groupId, previousFailure);
      throw err;
    }
    await pruneSnapshotFiles(this.snapshotDir, groupId, 0);
  }

  /** Resolves when every write issued so far has completed. */
  private async idle(): Promise<void> {
    while (this.gate || this.pending || this.inFlight) {
      await (this.gate ?? (this.pending ?? this.inFlight)!.done);
    }
  }

  /** Waits for queued writes, syncs unless the policy is 'no', and closes the database. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    await this.idle().catch(() => undefined); // queued writes, and those waiting for snapshot files
    if (!this.failure && this.fsync !== 'no') await this.sync().catch(() => undefined);
    this.closed = true; // refuse new writes; those already queued complete
    await this.idle().catch(() => undefined);
    await this.db.close();
  }

  private checkOpen(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new StorageFailedError(`${this.dir}: storage is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.pending && this.pending.bytes > this.pendingBytesMax) {
      throw new StorageBusyError(`${this.pending.bytes} bytes wait for the disk (limit ${this.pendingBytesMax})`);
    }
  }

  private check(w: GroupWrite): void {
    this.group(w.groupId).checkChange(w);
  }

  private batchToFill(): PendingBatch {
    if (!this.pending) {
      try {
        this.pending = new PendingBatch(this.db.batch());
      } catch (err) {
        throw this.fail(err);
      }
    }
    return this.pending;
  }

  /** Records a storage failure: fatal, every later write fails with it. */
  private fail(err: unknown): StorageFailedError {
    const cause = err instanceof Error ? err.message : String(err);
    this.failure ??= new StorageFailedError(`${this.dir}: write failed, storage stopped: ${cause}`);
    return this.failure as StorageFailedError;
  }

  /** Sends the pending batch to LevelDB; the next one goes when it completes (one in flight, in order). */
  private flush(): void {
    const batch = this.pending;
    if (!batch) return;
    this.pending = null;
    this.inFlight = batch;
    batch.batch.write({ sync: batch.sync }).then(
      () => {
        this.inFlight = null;
        this.stats.batches++;
        if (batch.sync) this.stats.syncedBatches++;
        this.stats.puts += batch.puts;
        this.stats.dels += batch.ops - batch.puts;
        this.stats.bytes += batch.bytes;
        // Batches complete in order, so a synced one covers everything before it.
        this.dirty = !batch.sync;
        batch.resolve();
        if (this.pending) this.flush();
      },
      (err: unknown) => {
        this.inFlight = null;
        const failure = this.fail(err);
        batch.reject(failure);
        this.pending?.reject(failure);
        this.pending = null;
      },
    );
  }

  // ---- recovery ----

  private async recover(tolerate: boolean, started: number): Promise<RecoveryReport> {
    const hardStates = await this.readGroupRecords(KeyKind.HardState, readHardStateRecord, 'hard state');
    const truncated = await this.readGroupRecords(KeyKind.Truncated, readTruncatedRecord, 'truncated state');
    const snapshots = await this.readGroupRecords(KeyKind.SnapshotMeta, readSnapshotMetaRecord, 'snapshot metadata');
    const failed = new Map<GroupId, Error>();
    const entriesOf = await this.readEntries(truncated, failed);

    const ids = new Set<GroupId>([...hardStates.keys(), ...truncated.keys(), ...snapshots.keys(), ...entriesOf.keys()]);
    const removedTemporaryFiles = await removeTemporarySnapshotFiles(this.snapshotDir);
    const snapshotFallbacks: { groupId: GroupId; usedIndex: Index; rejected: string[] }[] = [];
    let entryCount = 0;
    for (const id of [...ids].sort((a, b) => a - b)) {
      if (failed.has(id)) continue;
      try {
        const hardState = hardStates.get(id) ?? EMPTY_HARD_STATE;
        const trunc = truncated.get(id) ?? { index: 0, term: 0 };
        const entries = entriesOf.get(id) ?? [];
        const lastIndex = trunc.index + entries.length;
        const snapshot = await this.loadSnapshot(id, snapshots.get(id), trunc, lastIndex, snapshotFallbacks);
        if (hardState.commit < trunc.index || hardState.commit > lastIndex) {
          throw new StorageCorruptionError(
            `group ${id}: commit index ${hardState.commit} outside the log [${trunc.index}, ${lastIndex}]`,
          );
        }
        this.groupLogs.set(id, GroupLog.restore(id, { hardState, truncated: trunc, snapshot, entries }));
        entryCount += entries.length;
      } catch (err) {
        if (!(err instanceof StorageCorruptionError || err instanceof SnapshotUnavailableError)) throw err;
        failed.set(id, err);
      }
    }
    for (const [id, err] of failed) this.failedGroups.set(id, err);
    if (failed.size > 0 && !tolerate) {
      const list = [...failed.values()].map((e) => e.message).join('; ');
      throw new StorageCorruptionError(`${this.dir}: refusing to start: ${list}`);
    }
    return {
      groups: this.groupLogs.size,
      entries: entryCount,
      durationMs: performance.now() - started,
      snapshotFallbacks,
      failedGroups: failed,
      removedTemporaryFiles,
    };
  }

  private async loadSnapshot(
    id: GroupId,
    meta: SnapshotMetadata | undefined,
    trunc: TruncatedState,
    lastIndex: Index,
    fallbacks: { groupId: GroupId; usedIndex: Index; rejected: string[] }[],
  ): Promise<Snapshot> {
    if (!meta) {
      if (trunc.index > 0) {
        throw new StorageCorruptionError(`group ${id}: log compacted to ${trunc.index} but no snapshot is recorded`);
      }
      return EMPTY_SNAPSHOT;
    }
    if (meta.index < trunc.index || meta.index > lastIndex) {
      throw new StorageCorruptionError(
        `group ${id}: snapshot index ${meta.index} outside the log [${trunc.index}, ${lastIndex}]`,
      );
    }
    const loaded = await loadNewestValidSnapshot(this.snapshotDir, id, trunc.index, meta.index);
    if (loaded.rejected.length > 0 || loaded.snapshot.metadata.index !== meta.index) {
      fallbacks.push({
        groupId: id,
        usedIndex: loaded.snapshot.metadata.index,
        rejected: loaded.rejected.map((r) => r.error.message),
      });
    }
    return loaded.snapshot;
  }

  /** Every record of one per-group kind, checksum-verified. */
  private async readGroupRecords<T>(
    kind: KeyKind,
    read: (key: Buffer, value: Buffer, what: string) => T,
    label: string,
  ): Promise<Map<GroupId, T>> {
    const out = new Map<GroupId, T>();
    for await (const [key, value] of this.db.iterator(kindRange(kind))) {
      const id = parseGroupKey(kind, key);
      if (id === null) throw new StorageCorruptionError(`malformed ${label} key ${key.toString('hex')}`);
      out.set(id, read(key, value, `group ${id} ${label}`));
    }
    return out;
  }

  /**
   * Every group's entries after its compaction point, contiguous and verified. Entries at or below the
   * compaction point (left by a non-synced prefix delete) are ignored. A corrupt entry or a gap fails the
   * group (recorded in `failed`); other groups still recover.
   */
  private async readEntries(
    truncated: Map<GroupId, TruncatedState>,
    failed: Map<GroupId, Error>,
  ): Promise<Map<GroupId, Entry[]>> {
    const out = new Map<GroupId, Entry[]>();
    const it = this.db.iterator(kindRange(KeyKind.Entry));
    try {
      for (;;) {
        const page = await it.nextv(RECOVERY_PAGE);
        if (page.length === 0) break;
        for (const [key, value] of page) {
          const parsed = parseEntryKey(key);
          if (!parsed) throw new StorageCorruptionError(`malformed entry key ${key.toString('hex')}`);
          const { group, index } = parsed;
          if (failed.has(group)) continue;
          const base = truncated.get(group)?.index ?? 0;
          if (index <= base) continue;
          let list = out.get(group);
          if (!list) out.set(group, (list = []));
          const what = `group ${group} entry ${index}`;
          try {
            const expected = base + list.length + 1;
            if (index !== expected) {
              throw new StorageCorruptionError(`${what}: gap in the log (expected entry ${expected})`);
            }
            list.push(readEntryRecord(key, value, index, what));
          } catch (err) {
            if (!(err instanceof StorageCorruptionError)) throw err;
            failed.set(group, err);
            out.delete(group);
          }
        }
      }
    } finally {
      await it.close();
    }
    return out;
  }
}
