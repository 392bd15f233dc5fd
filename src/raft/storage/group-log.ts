// One Raft group's log as the core reads it (LogStorage), kept in memory in front of the shared LevelDB
// database (etcd's MemoryStorage pattern): reads never touch the disk. Every change is applied to the
// memory copy AND emitted as puts/deletes into the caller's batch, so memory and disk stay the same log.
//
// `ents[0]` is a placeholder for the last compacted entry (the truncated state): its index and term keep
// term() working one below firstIndex(). The newest snapshot may be newer than the truncated state, because
// compaction usually lags one snapshot behind (so an older snapshot plus the log can replace a newer
// snapshot file that turns out to be corrupt).

import { assert } from '../../assert.js';
import { ErrSnapshotOutOfDate } from '../errors.js';
import { InMemoryLog } from '../log-storage.js';
import type { Entry, GroupId, HardState, Index, Snapshot } from '../types.js';
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

/** One group's part of a write, applied in this order: snapshot, entries, hardState, snapshotTaken, compactTo. */
export interface GroupChange {
  /** A snapshot received from the leader (Ready.snapshot); replaces the whole log. */
  readonly snapshot?: Snapshot;
  /** Entries to append; an entry at index i replaces any stored entry >= i. */
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
  /** A snapshot this node took; becomes the group's newest snapshot. */
  readonly snapshotTaken?: Snapshot;
  /** Discard entries up to and including this index (at most the newest snapshot's index). */
  readonly compactTo?: Index;
}

/** Everything recovery read for one group, already checksum-verified. */
export interface RecoveredGroup {
  readonly hardState: HardState;
  readonly truncated: TruncatedState;
  readonly snapshot: Snapshot;
  /** Contiguous entries from truncated.index + 1. */
  readonly entries: Entry[];
}

export class GroupLog extends InMemoryLog {
  private readonly hardStateKey: Buffer;
  private readonly truncatedKey: Buffer;
  private readonly snapshotKey: Buffer;

  constructor(readonly groupId: GroupId) {
    super();
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

  // ---- writes: checkChange first (no change on a refusal), then apply ----

  /**
   * Throws, changing nothing, if `c` cannot be applied: ErrSnapshotOutOfDate for a snapshot not newer
   * than ours, an AssertionError for a write that does not fit the log. Follows the parts in order.
   */
  checkChange(c: GroupChange): void {
    const id = this.groupId;
    let offset = this.ents[0]!.index;
    let last = this.lastIndex();
    let snapIndex = this.snap.metadata.index;
    if (c.snapshot) {
      if (c.snapshot.metadata.index <= snapIndex) throw ErrSnapshotOutOfDate;
      offset = last = snapIndex = c.snapshot.metadata.index;
    }
    const ents = c.entries ?? [];
    if (ents.length > 0) {
      for (let i = 1; i < ents.length; i++) {
        // Per entry: build the message only on failure.
        if (ents[i]!.index !== ents[i - 1]!.index + 1) assert(false, `group ${id}: entries not contiguous at ${i}`);
      }
      const at = ents[0]!.index;
      assert(at <= last + 1, `group ${id}: missing log entry [last: ${last}, append at: ${at}]`);
      last = Math.max(offset, ents[ents.length - 1]!.index);
    }
    if (c.snapshotTaken) {
      const index = c.snapshotTaken.metadata.index;
      if (index <= snapIndex) throw ErrSnapshotOutOfDate;
      assert(index <= last, `group ${id}: snapshot ${index} is past last index ${last}`);
      snapIndex = index;
    }
    if (c.compactTo !== undefined && c.compactTo > offset) {
      assert(c.compactTo <= last, `group ${id}: compact ${c.compactTo} is past last index ${last}`);
      assert(c.compactTo <= snapIndex, `group ${id}: compact ${c.compactTo} is past the newest snapshot ${snapIndex}`);
    }
  }

  /** Applies a checked change: memory now, and its puts and deletes into `sink`. */
  apply(c: GroupChange, sink: BatchSink): void {
    if (c.snapshot) this.installSnapshot(c.snapshot, sink);
    if (c.entries) this.append(c.entries, sink);
    if (c.hardState) this.setHardState(c.hardState, sink);
    if (c.snapshotTaken) this.recordSnapshot(c.snapshotTaken, sink);
    if (c.compactTo !== undefined) this.compact(c.compactTo, sink);
  }

  /** Replace the whole log with a snapshot received from the leader (its file is already durable). */
  private installSnapshot(snap: Snapshot, sink: BatchSink): void {
    this.deleteEntryKeys(this.firstIndex(), this.lastIndex(), sink);
    const { index, term } = snap.metadata;
    this.ents = [{ term, index, type: 0, data: new Uint8Array(0) }];
    this.snap = snap;
    sink.put(this.truncatedKey, encodeTruncatedRecord(this.truncatedKey, { index, term }));
    sink.put(this.snapshotKey, encodeSnapshotMetaRecord(this.snapshotKey, snap.metadata));
  }

  /**
   * Append entries. An entry at an index already present replaces it and every entry after it: the stale
   * tail's keys are deleted in the same batch. Entries at or below the compaction point are ignored.
   */
  private append(entries: readonly Entry[], sink: BatchSink): void {
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

  private setHardState(hs: HardState, sink: BatchSink): void {
    this.hardState = hs;
    sink.put(this.hardStateKey, encodeHardStateRecord(this.hardStateKey, hs));
  }

  /**
   * Record a snapshot this node took of its state machine (its file is already durable). The log is not
   * compacted: call compact() afterwards, usually up to the PREVIOUS snapshot's index.
   */
  private recordSnapshot(snap: Snapshot, sink: BatchSink): void {
    const { index, term } = snap.metadata;
    const ours = this.term(index);
    assert(ours === term, `group ${this.groupId}: snapshot ${index} has term ${term}, log has ${ours}`);
    this.snap = snap;
    sink.put(this.snapshotKey, encodeSnapshotMetaRecord(this.snapshotKey, snap.metadata));
  }

  /** Discard entries up to and including `index`, which becomes the placeholder. */
  private compact(index: Index, sink: BatchSink): void {
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
