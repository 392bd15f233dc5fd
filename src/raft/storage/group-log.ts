// One Raft group's log as the core reads it (LogStorage), kept in memory in front of the shared LevelDB
// database (etcd's MemoryStorage pattern): reads never touch the disk. Every change is applied to the
// memory copy AND emitted as puts/deletes into the caller's batch, so memory and disk stay the same log.
//
// `ents[0]` is a placeholder for the last compacted entry (the truncated state): its index and term keep
// term() working one below firstIndex(). The newest snapshot may be newer than the truncated state, because
// compaction usually lags one snapshot behind (so an older snapshot plus the log can replace a newer
// snapshot file that turns out to be corrupt).

import { assert } from '../../assert.js';
import { ErrCompacted, ErrSnapshotOutOfDate, ErrUnavailable } from '../errors.js';
import type { InitialState, LogStorage } from '../log-storage.js';
import { EMPTY_HARD_STATE, EMPTY_SNAPSHOT, limitSize } from '../log-storage.js';
import type { Entry, GroupId, HardState, Index, Snapshot, Term } from '../types.js';
import { ENTRY_KEY_BYTES, KeyKind, groupKey, writeEntryKey } from './keys.js';
import {
  encodeHardStateRecord,
  encodeSnapshotMetaRecord,
  encodeTruncatedRecord,
  entryRecordSizeMax,
  writeEntryRecord,
  type TruncatedState,
} from './records.js';

/** Where a GroupLog puts its changes: a LevelDB chained batch, in practice. */
export interface BatchSink {
  put(key: Buffer, value: Buffer): void;
  del(key: Buffer): void;
}

/** Everything recovery read for one group, already checksum-verified. */
export interface RecoveredGroup {
  readonly hardState: HardState;
  readonly truncated: TruncatedState;
  readonly snapshot: Snapshot;
  /** Contiguous entries from truncated.index + 1. */
  readonly entries: Entry[];
}

export class GroupLog implements LogStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = EMPTY_SNAPSHOT;
  private ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];
  private readonly hardStateKey: Buffer;
  private readonly truncatedKey: Buffer;
  private readonly snapshotKey: Buffer;

  constructor(readonly groupId: GroupId) {
    this.hardStateKey = groupKey(KeyKind.HardState, groupId);
    this.truncatedKey = groupKey(KeyKind.Truncated, groupId);
    this.snapshotKey = groupKey(KeyKind.SnapshotMeta, groupId);
  }

  static restore(groupId: GroupId, r: RecoveredGroup): GroupLog {
    const g = new GroupLog(groupId);
    g.hardState = r.hardState;
    g.snap = r.snapshot;
    g.ents = [{ term: r.truncated.term, index: r.truncated.index, type: 0, data: new Uint8Array(0) }, ...r.entries];
    return g;
  }

  // ---- LogStorage (read side, used by the core) ----

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) throw ErrUnavailable;
    if (this.ents.length === 1) throw ErrUnavailable;
    return limitSize(this.ents.slice(lo - offset, hi - offset), maxSize);
  }

  term(i: Index): Term {
    const offset = this.ents[0]!.index;
    if (i < offset) throw ErrCompacted;
    if (i - offset >= this.ents.length) throw ErrUnavailable;
    return this.ents[i - offset]!.term;
  }

  firstIndex(): Index {
    return this.ents[0]!.index + 1;
  }

  lastIndex(): Index {
    return this.ents[0]!.index + this.ents.length - 1;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** The saved hard state (also part of initialState()). */
  savedHardState(): HardState {
    return this.hardState;
  }

  // ---- writes: check first (no change on a refusal), then change memory and emit ops ----

  /** Throws, changing nothing, if `snap` cannot be installed. */
  checkInstallSnapshot(snap: Snapshot): void {
    if (snap.metadata.index <= this.snap.metadata.index) throw ErrSnapshotOutOfDate;
  }

  /** Replace the whole log with a snapshot received from the leader (its file is already durable). */
  installSnapshot(snap: Snapshot, sink: BatchSink): void {
    this.checkInstallSnapshot(snap);
    this.deleteEntryKeys(this.firstIndex(), this.lastIndex(), sink);
    const { index, term } = snap.metadata;
    this.ents = [{ term, index, type: 0, data: new Uint8Array(0) }];
    this.snap = snap;
    sink.put(this.truncatedKey, encodeTruncatedRecord(this.truncatedKey, { index, term }));
    sink.put(this.snapshotKey, encodeSnapshotMetaRecord(this.snapshotKey, snap.metadata));
  }

  /** Throws, changing nothing, if `entries` do not continue or overwrite this log. */
  checkAppend(entries: readonly Entry[]): void {
    for (let i = 1; i < entries.length; i++) {
      assert(entries[i]!.index === entries[i - 1]!.index + 1, `group ${this.groupId}: entries not contiguous at ${i}`);
    }
    if (entries.length === 0) return;
    assert(
      entries[0]!.index <= this.lastIndex() + 1,
      `group ${this.groupId}: missing log entry [last: ${this.lastIndex()}, append at: ${entries[0]!.index}]`,
    );
  }

  /**
   * Append entries. An entry at an index already present replaces it and every entry after it: the stale
   * tail's keys are deleted in the same batch. Entries at or below the compaction point are ignored.
   */
  append(entries: readonly Entry[], sink: BatchSink): void {
    this.checkAppend(entries);
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const skip = Math.max(0, first - entries[0]!.index);
    if (skip >= entries.length) return; // all compacted already
    const oldLast = this.lastIndex();
    const newFirst = entries[skip]!.index;
    const newLast = entries[entries.length - 1]!.index;

    // One buffer holds every key and record of this append; the batch copies each slice.
    let size = 0;
    for (let i = skip; i < entries.length; i++) size += ENTRY_KEY_BYTES + entryRecordSizeMax(entries[i]!);
    const buf = Buffer.allocUnsafe(size);
    let pos = 0;
    for (let i = skip; i < entries.length; i++) {
      const e = entries[i]!;
      const key = buf.subarray(pos, pos + ENTRY_KEY_BYTES);
      writeEntryKey(buf, pos, this.groupId, e.index);
      const end = writeEntryRecord(buf, pos + ENTRY_KEY_BYTES, key, e);
      sink.put(key, buf.subarray(pos + ENTRY_KEY_BYTES, end));
      pos = end;
    }
    if (newLast < oldLast) this.deleteEntryKeys(newLast + 1, oldLast, sink);

    this.ents.length = Math.min(this.ents.length, newFirst - this.ents[0]!.index);
    for (let i = skip; i < entries.length; i++) this.ents.push(entries[i]!);
  }

  setHardState(hs: HardState, sink: BatchSink): void {
    this.hardState = hs;
    sink.put(this.hardStateKey, encodeHardStateRecord(this.hardStateKey, hs));
  }

  /** Throws, changing nothing, if `snap` is not a valid newer snapshot of this log. */
  checkRecordSnapshot(snap: Snapshot): void {
    const { index, term } = snap.metadata;
    if (index <= this.snap.metadata.index) throw ErrSnapshotOutOfDate;
    const id = this.groupId;
    assert(index <= this.lastIndex(), `group ${id}: snapshot ${index} is past last index ${this.lastIndex()}`);
    assert(this.term(index) === term, `group ${id}: snapshot ${index} has term ${term}, log has ${this.term(index)}`);
  }

  /**
   * Record a snapshot this node took of its state machine (its file is already durable). The log is not
   * compacted: call compact() afterwards, usually up to the PREVIOUS snapshot's index.
   */
  recordSnapshot(snap: Snapshot, sink: BatchSink): void {
    this.checkRecordSnapshot(snap);
    this.snap = snap;
    sink.put(this.snapshotKey, encodeSnapshotMetaRecord(this.snapshotKey, snap.metadata));
  }

  /** Throws, changing nothing, if compacting to `index` would lose entries no snapshot covers. */
  checkCompact(index: Index): void {
    if (index <= this.ents[0]!.index) return; // already compacted: nothing to do
    assert(index <= this.lastIndex(), `group ${this.groupId}: compact ${index} is past last index ${this.lastIndex()}`);
    assert(
      index <= this.snap.metadata.index,
      `group ${this.groupId}: compact ${index} is past the newest snapshot ${this.snap.metadata.index}`,
    );
  }

  /** Discard entries up to and including `index`, which becomes the placeholder. */
  compact(index: Index, sink: BatchSink): void {
    this.checkCompact(index);
    const offset = this.ents[0]!.index;
    if (index <= offset) return;
    this.deleteEntryKeys(offset + 1, index, sink);
    const head = this.ents[index - offset]!;
    this.ents = [{ term: head.term, index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(index - offset + 1)];
    sink.put(this.truncatedKey, encodeTruncatedRecord(this.truncatedKey, { index, term: head.term }));
  }

  private deleteEntryKeys(from: Index, to: Index, sink: BatchSink): void {
    if (to < from) return;
    const keys = Buffer.allocUnsafe((to - from + 1) * ENTRY_KEY_BYTES);
    for (let i = from, pos = 0; i <= to; i++, pos += ENTRY_KEY_BYTES) {
      writeEntryKey(keys, pos, this.groupId, i);
      sink.del(keys.subarray(pos, pos + ENTRY_KEY_BYTES));
    }
  }
}
