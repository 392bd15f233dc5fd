// A replica's log: durable storage plus the unstable tail (etcd's raftLog), and the commit / applying /
// applied indexes. Invariant: applied <= applying <= committed <= lastIndex.

import { assert } from '../assert.js';
import { ErrCompacted, ErrUnavailable } from './errors.js';
import { entrySize, limitSize, type LogStorage } from './log-storage.js';
import { Unstable } from './log-unstable.js';
import type { Entry, Index, Snapshot, Term } from './types.js';

export class RaftLog {
  readonly unstable: Unstable;
  /** Highest index known committed on a quorum. */
  committed: Index;
  /** Highest index handed out for applying. */
  applying: Index;
  /** Highest index the application reported applied. */
  applied: Index;
  /** Bytes of entries handed out for applying and not yet reported applied. */
  private applyingSize = 0;
  private applyingPaused = false;

  constructor(
    readonly storage: LogStorage,
    private readonly maxApplyingSize: number,
  ) {
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
  }

  /**
   * A follower's append: if our entry at `index` has `logTerm`, take the new entries (truncating at the
   * first real conflict only), advance commit, and return the index of the last new entry.
   */
  maybeAppend(index: Index, logTerm: Term, committed: Index, ents: readonly Entry[]): Index | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      if (ci <= this.committed) assert(false, `entry ${ci} conflict with committed entry [committed(${this.committed})]`);
      const offset = index + 1;
      if (ci - offset > ents.length) assert(false, `index, ${ci - offset}, is out of range [${ents.length}]`);
      this.append(ci === offset ? ents : ents.slice(ci - offset));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): Index {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    if (after < this.committed) assert(false, `after(${after}) is out of range [committed(${this.committed})]`);
    this.unstable.truncateAndAppend(ents);
    return this.lastIndex();
  }

  /** The index of the first entry whose term differs from ours (or that we lack), 0 if none. */
  findConflict(ents: readonly Entry[]): Index {
    for (const e of ents) if (!this.matchTerm(e.index, e.term)) return e.index;
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term (etcd's findConflictByTerm):
   * the fast-backtracking hint. An unknown (compacted) term is reported as 0.
   */
  findConflictByTerm(index: Index, term: Term): { index: Index; term: Term } {
    for (; index > 0; index--) {
      const ours = this.termOrUndefined(index);
      if (ours === undefined) return { index, term: 0 };
      if (ours <= term) return { index, term: ours };
    }
    return { index: 0, term: 0 };
  }

  nextUnstableEntries(): Entry[] {
    return this.unstable.nextEntries();
  }

  hasNextUnstableEntries(): boolean {
    return this.unstable.offsetInProgress - this.unstable.offset < this.unstable.entries.length;
  }

  hasNextOrInProgressUnstableEntries(): boolean {
    return this.unstable.entries.length > 0;
  }

  hasNextUnstableSnapshot(): boolean {
    return this.unstable.nextSnapshot() !== null;
  }

  hasNextOrInProgressSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /** Committed and durable entries not yet handed out for applying, within the applying byte budget. */
  nextCommittedEntries(): Entry[] {
    if (this.applyingPaused || this.hasNextOrInProgressSnapshot()) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex() + 1;
    if (lo >= hi) return [];
    const maxSize = this.maxApplyingSize - this.applyingSize;
    assert(maxSize > 0, 'applying budget exhausted but not paused');
    return this.slice(lo, hi, maxSize);
  }

  hasNextCommittedEntries(): boolean {
    if (this.applyingPaused || this.hasNextOrInProgressSnapshot()) return false;
    return this.applying + 1 < this.maxAppliableIndex() + 1;
  }

  /** Only durable entries may be applied (a committed entry may still be unstable on this node). */
  private maxAppliableIndex(): Index {
    return Math.min(this.committed, this.unstable.offset - 1);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  firstIndex(): Index {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): Index {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  commitTo(toCommit: Index): void {
    if (this.committed >= toCommit) return; // never decrease
    if (this.lastIndex() < toCommit) {
      assert(
        false,
        `tocommit(${toCommit}) is out of range [lastIndex(${this.lastIndex()})]. ` +
          'Was the raft log corrupted, truncated, or lost?',
      );
    }
    this.committed = toCommit;
  }

  appliedTo(i: Index, size: number): void {
    if (!(this.committed >= i && i >= this.applied)) {
      assert(false, `applied(${i}) is out of range [prevApplied(${this.applied}), committed(${this.committed})]`);
    }
    this.applied = i;
    this.applying = Math.max(this.applying, i);
    this.applyingSize = this.applyingSize > size ? this.applyingSize - size : 0;
    this.applyingPaused = this.applyingSize >= this.maxApplyingSize;
  }

  acceptApplying(i: Index, size: number): void {
    if (this.committed < i) assert(false, `applying(${i}) is out of range [committed(${this.committed})]`);
    this.applying = i;
    this.applyingSize += size;
    this.applyingPaused = this.applyingSize >= this.maxApplyingSize;
  }

  stableTo(i: Index, t: Term): void {
    this.unstable.stableTo(i, t);
  }

  stableSnapshotTo(i: Index): void {
    this.unstable.stableSnapshotTo(i);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  lastTerm(): Term {
    const t = this.termOrUndefined(this.lastIndex());
    assert(t !== undefined, 'unexpected error when getting the last term');
    return t;
  }

  /** The term of entry i. Throws ErrCompacted or ErrUnavailable when the log does not hold it. */
  term(i: Index): Term {
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    return this.storage.term(i);
  }

  termOrUndefined(i: Index): Term | undefined {
    // Outside [firstIndex - 1, lastIndex] there is no term. Checked against the whole log, not the
    // storage: after a conflicting append or a pending snapshot, storage may still hold a stale suffix or
    // prefix that is no longer part of the log. (It also spares followers a throw per new entry.)
    if (i > this.lastIndex() || i < this.firstIndex() - 1) return undefined;
    const t = this.unstable.maybeTerm(i);
    if (t !== undefined) return t;
    try {
      return this.storage.term(i);
    } catch (err) {
      if (err === ErrCompacted || err === ErrUnavailable) return undefined;
      throw err;
    }
  }

  /** Entries from i to the end, up to maxSize bytes. Throws ErrCompacted if i was compacted. */
  entries(i: Index, maxSize: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxSize);
  }

  isUpToDate(lastIndex: Index, term: Term): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && lastIndex >= this.lastIndex());
  }

  matchTerm(i: Index, term: Term): boolean {
    return this.termOrUndefined(i) === term;
  }

  /** Commit up to maxIndex if that entry is of `term` (only current-term entries commit by counting). */
  maybeCommit(maxIndex: Index, term: Term): boolean {
    if (maxIndex > this.committed && (this.termOrUndefined(maxIndex) ?? 0) === term) {
      this.commitTo(maxIndex);
      return true;
    }
    return false;
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  /** Entries [lo, hi) limited to maxSize bytes (at least one). Throws ErrCompacted if lo was compacted. */
  slice(lo: Index, hi: Index, maxSize: number): Entry[] {
    if (lo > hi) assert(false, `invalid slice ${lo} > ${hi}`);
    const first = this.firstIndex();
    if (lo < first) throw ErrCompacted;
    if (hi > this.lastIndex() + 1) assert(false, `slice[${lo},${hi}) out of bound [${first},${this.lastIndex()}]`);
    if (lo === hi) return [];
    const uOffset = this.unstable.offset;
    if (lo >= uOffset) return limitSize(this.unstable.slice(lo, hi), maxSize);
    const cut = Math.min(hi, uOffset);
    const ents = this.storage.entries(lo, cut, maxSize); // ErrCompacted propagates
    if (hi <= uOffset || ents.length < cut - lo) return ents;
    let size = 0;
    for (const e of ents) size += entrySize(e);
    if (size >= maxSize) return ents;
    const rest = limitSize(this.unstable.slice(uOffset, hi), maxSize - size);
    if (rest.length === 1 && size + entrySize(rest[0]!) > maxSize) return ents;
    return ents.concat(rest);
  }
}
