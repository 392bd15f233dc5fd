// Pending ReadIndex requests on the leader (etcd's readOnly). Each request remembers the commit index at
// the time it arrived; it is answered once a quorum has acknowledged a heartbeat carrying its context,
// which proves this node was still the leader after the request arrived.

import type { Message, NodeId } from './types.js';

export interface ReadIndexStatus {
  /** The original MsgReadIndex (from self or forwarded by a follower). */
  readonly req: Message;
  readonly index: number;
  /** Voters that acknowledged a heartbeat carrying this request's context (or a later one). */
  readonly acks: Map<NodeId, boolean>;
}

/** Contexts are byte strings; map them by their latin1 text (one char per byte). */
export function contextKey(ctx: Uint8Array): string {
  return Buffer.from(ctx.buffer, ctx.byteOffset, ctx.byteLength).toString('latin1');
}

export class ReadOnly {
  pendingReadIndex = new Map<string, ReadIndexStatus>();
  /** Request contexts in arrival order. */
  readIndexQueue: string[] = [];

  constructor(readonly option: 'safe' | 'lease-based') {}

  /** Record a request with the leader's current commit index. A duplicate context is ignored. */
  addRequest(index: number, m: Message): void {
    const key = contextKey(m.entries[0]!.data);
    if (this.pendingReadIndex.has(key)) return;
    this.pendingReadIndex.set(key, { req: m, index, acks: new Map() });
    this.readIndexQueue.push(key);
  }

  /** A heartbeat response echoed `ctx`; returns the acks of that request (undefined if unknown). */
  recvAck(id: NodeId, ctx: Uint8Array): Map<NodeId, boolean> | undefined {
    const rs = this.pendingReadIndex.get(contextKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * The request with context `ctx` is confirmed: it and every request queued before it are answered
   * (an earlier request is covered by the later heartbeat round). Returns them in order.
   */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = contextKey(ctx);
    const at = this.readIndexQueue.indexOf(key);
    if (at < 0) return [];
    const done = this.readIndexQueue.splice(0, at + 1);
    return done.map((k) => {
      const rs = this.pendingReadIndex.get(k)!;
      this.pendingReadIndex.delete(k);
      return rs;
    });
  }

  /** The context of the newest pending request ('' when none), carried by heartbeats. */
  lastPendingRequestCtx(): string | undefined {
    return this.readIndexQueue[this.readIndexQueue.length - 1];
  }
}
