// Log matching (Raft §5.3): if two logs hold an entry with the same index and term, the logs are
// identical in every entry up to that index. Logs are the simulator's view of each node's log: every
// entry a Ready handed out for appending (the core's own log, durable or not), after snapshots.

import type { Entry } from '../../../src/raft/types.js';

/** One node's log as the simulator sees it: terms and payloads from `start` on. */
export class LogView {
  /** Index of the first entry held (snapshot index + 1). */
  start = 1;
  /** Index and term of the snapshot the log starts after (0, 0 for none). */
  snapshotIndex = 0;
  snapshotTerm = 0;
  private terms: number[] = [];
  private payloads: string[] = [];

  get lastIndex(): number {
    return this.start + this.terms.length - 1;
  }

  /** Entry at index i replaces every entry >= i (Ready contract). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    const keep = Math.max(0, Math.min(this.terms.length, first - this.start));
    this.terms.length = keep;
    this.payloads.length = keep;
    for (const e of entries) {
      if (e.index < this.start) continue;
      if (e.index !== this.lastIndex + 1) throw new Error(`log view gap: appending ${e.index} after ${this.lastIndex}`);
      this.terms.push(e.term);
      this.payloads.push(payloadKey(e));
    }
  }

  /** Discards the whole log for a snapshot (a follower installing one, or a restart). */
  resetTo(snapshotIndex: number, snapshotTerm: number): void {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.start = snapshotIndex + 1;
    this.terms = [];
    this.payloads = [];
  }

  /** The term at index i, or undefined if i is not held (snapshot index included). */
  term(i: number): number | undefined {
    if (i === this.snapshotIndex) return this.snapshotTerm;
    if (i < this.start || i > this.lastIndex) return undefined;
    return this.terms[i - this.start];
  }

  payload(i: number): string | undefined {
    if (i < this.start || i > this.lastIndex) return undefined;
    return this.payloads[i - this.start];
  }

  copy(): LogView {
    const view = new LogView();
    view.start = this.start;
    view.snapshotIndex = this.snapshotIndex;
    view.snapshotTerm = this.snapshotTerm;
    view.terms = this.terms.slice();
    view.payloads = this.payloads.slice();
    return view;
  }
}

export function payloadKey(e: Entry): string {
  return `${e.type}:${Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength).toString('latin1')}`;
}

/** Compares two logs; returns a violation, or null. */
export function checkLogMatching(aId: number, a: LogView, bId: number, b: LogView): string | null {
  const lo = Math.max(a.start, b.start);
  const hi = Math.min(a.lastIndex, b.lastIndex);
  // Find the highest common index with equal terms; everything below it must be identical.
  let i = hi;
  while (i >= lo && a.term(i) !== b.term(i)) i--;
  for (; i >= lo; i--) {
    if (a.term(i) !== b.term(i) || a.payload(i) !== b.payload(i)) {
      return `nodes ${aId} and ${bId} agree on a later entry but differ at index ${i}: term ${a.term(i)} vs ${b.term(i)}${a.term(i) === b.term(i) ? ' (different payloads)' : ''}`;
    }
  }
  return null;
}
