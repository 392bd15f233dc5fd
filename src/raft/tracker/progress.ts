// The leader's view of one follower's log (etcd's tracker.Progress), with the three replication states:
// probe (one MsgApp per heartbeat until we learn where the follower's log ends), replicate (pipelined,
// bounded by Inflights) and snapshot (waiting for a snapshot to be delivered).

import { assert } from '../../assert.js';
import { Inflights } from './inflights.js';

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  state: ProgressState = 'probe';
  /** Set in probe state after a MsgApp, and in replicate state when inflights are full. */
  msgAppFlowPaused = false;
  /** Index of the snapshot being sent (snapshot state only). */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;

  constructor(
    public match: number,
    public next: number,
    readonly inflights: Inflights,
    public isLearner: boolean,
  ) {}

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** A MsgApp carrying `entries` entries (`bytes` of payload) up to `lastIndex` was sent. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      if (entries > 0) this.msgAppFlowPaused = true;
    } else {
      assert(false, `sending append in unhandled state ${this.state}`);
    }
  }

  /**
   * `entries` more entries (`bytes` of payload) were added to the newest MsgApp in flight (replicate
   * state): they ride in the same message, so they take no new inflight slot.
   */
  sentMoreEntries(entries: number, bytes: number): void {
    assert(this.state === 'replicate' && this.inflights.count > 0, 'extending a MsgApp outside replicate state');
    this.next += entries;
    this.inflights.extendLast(this.next - 1, bytes);
    this.msgAppFlowPaused = this.inflights.full();
  }

  /** An ack for index n arrived. Returns false if it was stale (told us nothing new). */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    this.next = Math.max(this.next, n + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * A rejection of the MsgApp with prev index `rejected` arrived, with the follower's hint `matchHint`.
   * Returns false if the rejection is stale (from an earlier probe).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false; // stale
      this.next = this.match + 1; // directly back to the last known match
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe we are waiting for
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** Whether sending MsgApps to this follower is paused (flow control). */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
      case 'replicate':
        return this.msgAppFlowPaused;
      case 'snapshot':
        return true;
    }
  }

  clone(): Progress {
    const p = new Progress(this.match, this.next, this.inflights.clone(), this.isLearner);
    p.state = this.state;
    p.msgAppFlowPaused = this.msgAppFlowPaused;
    p.pendingSnapshot = this.pendingSnapshot;
    p.recentActive = this.recentActive;
    return p;
  }
}
