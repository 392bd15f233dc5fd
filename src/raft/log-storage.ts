// The read side of a Raft log's durable storage (etcd-io/raft's Storage), and an in-memory implementation.
//
// The core only READS through LogStorage. The application WRITES to it when it handles a Ready (append the
// entries, set the hard state, install the snapshot) and when it compacts. All methods are synchronous: a
// durable implementation keeps the unsnapshotted tail in memory so the hot path never waits on disk.
// Any error other than the named ones below is fatal for the replica.

import { assert } from '../assert.js';
import { ErrCompacted, ErrSnapshotOutOfDate, ErrUnavailable } from './errors.js';
import type { ConfState, Entry, HardState, Index, Snapshot, Term } from './types.js';

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: 0, commit: 0 });
export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
});
export const EMPTY_SNAPSHOT: Snapshot = Object.freeze({
  metadata: { index: 0, term: 0, confState: EMPTY_CONF_STATE },
  data: new Uint8Array(0),
});

export interface InitialState {
  readonly hardState: HardState;
  readonly confState: ConfState;
}

export interface LogStorage {
  /**
   * The saved hard state, and the configuration as of the applied index the node restarts with
   * (RaftConfig.applied): the host records the ConfState returned by applyConfChange durably, or with
   * each snapshot, because entries up to `applied` are not handed out again.
   */
  initialState(): InitialState;
  /**
   * Entries in [lo, hi), limited to `maxSize` bytes of payload but always at least one entry if any.
   * Throws ErrCompacted if lo <= the snapshot index, ErrUnavailable if hi > lastIndex() + 1.
   */
  entries(lo: Index, hi: Index, maxSize: number): Entry[];
  /**
   * The term of entry i, for i in [firstIndex()-1, lastIndex()] (the term of the entry just before the
   * first retained one is kept for log matching). Throws ErrCompacted below, ErrUnavailable above.
   */
  term(i: Index): Term;
  /** Index of the first entry that may be read (snapshot index + 1). */
  firstIndex(): Index;
  /** Index of the last entry (the snapshot index if the log is empty). */
  lastIndex(): Index;
  /**
   * The most recent snapshot, sent to followers whose entries were compacted. Its ConfState must hold the
   * recipient (a node refuses a snapshot that does not list it), so after adding a member the host must
   * offer a snapshot taken after that change. May throw ErrSnapshotTemporarilyUnavailable (e.g. while
   * one is being made on demand); the core retries on a later heartbeat response.
   */
  snapshot(): Snapshot;
}

/** Payload bytes of an entry, the unit of every size limit in the core. */
export function entrySize(e: Entry): number {
  return e.data.length;
}

/** Take entries from the front until `maxSize` bytes would be exceeded, keeping at least one. */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  if (ents.length === 0) return ents;
  let size = entrySize(ents[0]!);
  let n = 1;
  for (; n < ents.length; n++) {
    size += entrySize(ents[n]!);
    if (size > maxSize) break;
  }
  return n === ents.length ? ents : ents.slice(0, n);
}

/**
 * The read side shared by the in-memory logs (MemoryStorage here, the durable log's GroupLog): `ents[0]`
 * is a placeholder holding the index and term of the last compacted entry (the snapshot's), so term()
 * works one below firstIndex().
 */
export abstract class InMemoryLog implements LogStorage {
  protected hardState: HardState = EMPTY_HARD_STATE;
  protected snap: Snapshot = EMPTY_SNAPSHOT;
  protected ents: Entry[] = [{ term: 0, index: 0, type: 0, data: new Uint8Array(0) }];

  initialState(): InitialState {
    return { hardState: this.hardState, confState: this.snap.metadata.confState };
  }

  entries(lo: Index, hi: Index, maxSize: number): Entry[] {
    const offset = this.ents[0]!.index;
    if (lo <= offset) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) throw ErrUnavailable;
    if (this.ents.length === 1) throw ErrUnavailable; // only the placeholder
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
}

/** An in-memory LogStorage, etcd's MemoryStorage. */
export class MemoryStorage extends InMemoryLog {
  /**
   * `confState`: the members of a brand-new group, recorded as an empty snapshot at index 0 (an
   * alternative to RawNode.bootstrap: every member starts with the same configuration and no entries).
   */
  constructor(confState?: ConfState) {
    super();
    if (confState !== undefined) this.snap = { metadata: { index: 0, term: 0, confState }, data: new Uint8Array(0) };
  }

  setHardState(hs: HardState): void {
    this.hardState = hs;
  }

  /** Replace the contents with a snapshot (a follower installing one from its leader). */
  applySnapshot(snap: Snapshot): void {
    if (this.snap.metadata.index >= snap.metadata.index) throw ErrSnapshotOutOfDate;
    this.snap = snap;
    this.ents = [{ term: snap.metadata.term, index: snap.metadata.index, type: 0, data: new Uint8Array(0) }];
  }

  /**
   * Record a snapshot of the state machine as of applied index i (i <= lastIndex). The log is not
   * compacted; call compact() afterwards, usually keeping some entries for slow followers.
   */
  createSnapshot(i: Index, confState: ConfState | undefined, data: Uint8Array): Snapshot {
    if (i <= this.snap.metadata.index) throw ErrSnapshotOutOfDate;
    const offset = this.ents[0]!.index;
    assert(i <= this.lastIndex(), `snapshot ${i} is out of bound lastindex(${this.lastIndex()})`);
    this.snap = {
      metadata: { index: i, term: this.ents[i - offset]!.term, confState: confState ?? this.snap.metadata.confState },
      data,
    };
    return this.snap;
  }

  /** Discard entries before compactIndex (which becomes the placeholder). */
  compact(compactIndex: Index): void {
    const offset = this.ents[0]!.index;
    if (compactIndex <= offset) throw ErrCompacted;
    assert(compactIndex <= this.lastIndex(), `compact ${compactIndex} is out of bound lastindex(${this.lastIndex()})`);
    const i = compactIndex - offset;
    const head = this.ents[i]!;
    this.ents = [{ term: head.term, index: head.index, type: 0, data: new Uint8Array(0) }, ...this.ents.slice(i + 1)];
  }

  /**
   * Append entries; an entry at an index already present replaces it and everything after it (a conflict
   * truncation). Entries already compacted are ignored. The entries must be contiguous.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[0]!.index + entries.length - 1;
    if (last < first) return; // all compacted
    const ents = first > entries[0]!.index ? entries.slice(first - entries[0]!.index) : entries;
    const offset = ents[0]!.index - this.ents[0]!.index;
    assert(offset <= this.ents.length, `missing log entry [last: ${this.lastIndex()}, append at: ${ents[0]!.index}]`);
    this.ents.length = Math.min(this.ents.length, offset);
    for (const e of ents) this.ents.push(e);
  }
}
