// The tail of the log not yet known to be durable (etcd's unstable): entries from `offset` on, and maybe
// an incoming snapshot. "In progress" marks what was already handed out in a Ready, so it is not handed
// out twice while its write is under way.

import { assert } from '../assert.js';
import type { Entry, Index, Snapshot, Term } from './types.js';

export class Unstable {
  snapshot: Snapshot | null = null;
  entries: Entry[] = [];
  /** Index of entries[0]. */
  offset: Index;
  snapshotInProgress = false;
  /** Entries below this index were handed out for writing already. */
  offsetInProgress: Index;

  constructor(offset: Index) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index, if a snapshot is pending (otherwise the stable storage knows). */
  maybeFirstIndex(): Index | undefined {
    return this.snapshot === null ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): Index | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === null ? undefined : this.snapshot.metadata.index;
  }

  maybeTerm(i: Index): Term | undefined {
    if (i < this.offset) {
      return this.snapshot !== null && this.snapshot.metadata.index === i ? this.snapshot.metadata.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset]!.term;
  }

  /** Entries not yet handed out for writing. */
  nextEntries(): Entry[] {
    const inProgress = this.offsetInProgress - this.offset;
    return inProgress >= this.entries.length ? [] : this.entries.slice(inProgress);
  }

  nextSnapshot(): Snapshot | null {
    return this.snapshot === null || this.snapshotInProgress ? null : this.snapshot;
  }

  /** Everything current has been handed out for writing. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.entries[this.entries.length - 1]!.index + 1;
    if (this.snapshot !== null) this.snapshotInProgress = true;
  }

  /**
   * Entries up to (i, t) are durable. Ignored if the entry at i now has another term: a newer append
   * replaced it while the write was in flight, and that newer one is not durable yet.
   */
  stableTo(i: Index, t: Term): void {
    const gt = this.maybeTerm(i);
    if (gt === undefined || i < this.offset || gt !== t) return;
    const num = i + 1 - this.offset;
    this.entries = this.entries.slice(num);
    this.offset = i + 1;
    this.offsetInProgress = Math.max(this.offsetInProgress, this.offset);
  }

  stableSnapshotTo(i: Index): void {
    if (this.snapshot !== null && this.snapshot.metadata.index === i) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    for (let i = 1; i < ents.length; i++) {
      // The message is built only on failure: this runs for every appended entry.
      if (ents[i]!.index !== from + i || ents[i]!.term < ents[i - 1]!.term) {
        assert(false, `entries not contiguous at ${from + i}`);
      }
    }
    if (from > this.offset + this.entries.length) assert(false, `gap before appended entry ${from}`);
    if (from === this.offset + this.entries.length) {
      for (const e of ents) this.entries.push(e);
    } else if (from <= this.offset) {
      // Replace everything unstable; the new entries are what gets written next.
      this.entries = ents.slice();
      this.offset = from;
    } else {
      const keep = this.slice(this.offset, from);
      this.entries = keep.concat(ents);
    }
    this.offsetInProgress = Math.min(this.offsetInProgress, from);
  }

  /** Entries [lo, hi), which must lie within the unstable entries. */
  slice(lo: Index, hi: Index): Entry[] {
    if (lo > hi) assert(false, `invalid unstable.slice ${lo} > ${hi}`);
    const upper = this.offset + this.entries.length;
    if (lo < this.offset || hi > upper) {
      assert(false, `unstable.slice[${lo},${hi}) out of bound [${this.offset},${upper}]`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
