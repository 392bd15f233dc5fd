// What the Multi-Raft host needs from the outside world (storage, transport, application), and the frame
// it exchanges with peer nodes. No I/O here: production wires real ports (src/server), tests and the
// simulator wire in-memory ones.

import {
  MessageType,
  type ConfState,
  type Entry,
  type GroupId,
  type HardState,
  type Index,
  type Message,
  type NodeId,
  type Snapshot,
  type Term,
} from '../types.js';
import type { ReadState, SoftState } from '../ready.js';

/** One group's share of a turn's storage write (a subset of src/raft/storage's GroupWrite). */
export interface GroupWrite {
  readonly groupId: GroupId;
  /** A snapshot received from the leader: install it (replaces the log). Applied first. */
  readonly snapshot?: Snapshot;
  /** Entries to append; an entry at index i replaces any stored entry >= i. */
  readonly entries?: readonly Entry[];
  readonly hardState?: HardState;
}

export interface StoragePort {
  /**
   * Persist every group's changes of one turn, in one batch if possible. Synced if `mustSync`. Return
   * nothing when done synchronously, or a promise that settles when durable. A rejection is fatal.
   */
  write(writes: readonly GroupWrite[], mustSync: boolean): Promise<void> | void;
}

/** A heartbeat (or its response) reduced to what differs per group; the frame names the two nodes. */
export interface CoalescedHeartbeat {
  readonly groupId: GroupId;
  readonly term: Term;
  readonly commit: Index;
  readonly context: Uint8Array | null;
  /** Sent by a leader that stops ticking the group: a follower that matches exactly stops too. */
  readonly quiesce: boolean;
}

export interface GroupMessage {
  readonly groupId: GroupId;
  readonly message: Message;
}

/**
 * Everything one node sends another in one turn: at most one frame per peer per turn. Heartbeats of all
 * groups ride in it as compact tuples, and the frame itself is the node-level liveness heartbeat (an
 * otherwise empty frame is sent when a node has nothing else to say for a liveness interval).
 */
export interface Frame {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly messages: GroupMessage[];
  readonly heartbeats: CoalescedHeartbeat[];
  readonly heartbeatResps: CoalescedHeartbeat[];
}

export interface TransportPort {
  /** Send a frame; losing it is allowed (Raft retries), reordering frames between two nodes too. */
  send(frame: Frame): void;
}

export interface ApplierPort {
  /** Apply a group's committed normal entries, in order, exactly once (empty entries included). */
  apply(groupId: GroupId, entries: readonly Entry[]): void;
  /** Replace a group's state machine with a snapshot received from its leader (already persisted). */
  applySnapshot?(groupId: GroupId, snapshot: Snapshot): void;
  /** A conf change entry was applied; `confState` is the group's new configuration (persist it). */
  confChanged?(groupId: GroupId, entry: Entry, confState: ConfState): void;
  /** ReadIndex requests that completed: serve each once the group's applied index reaches it. */
  readStates?(groupId: GroupId, readStates: readonly ReadState[]): void;
  /** Leader or role changed (for routing and for failing proposals made to a former leader). */
  softStateChanged?(groupId: GroupId, softState: SoftState, term: Term): void;
}

/**
 * Turn a frame back into plain per-group messages, for a transport that carries only messages. The
 * quiesce marks are lost: the receiver then simply never quiesces followers (still correct).
 */
export function expandFrame(frame: Frame): GroupMessage[] {
  const out = frame.messages.slice();
  const add = (hbs: CoalescedHeartbeat[], type: MessageType) => {
    for (const hb of hbs) {
      out.push({
        groupId: hb.groupId,
        message: heartbeatMessage(type, frame, hb),
      });
    }
  };
  add(frame.heartbeats, MessageType.Heartbeat);
  add(frame.heartbeatResps, MessageType.HeartbeatResp);
  return out;
}

/** The per-group message a coalesced heartbeat (or its response) stands for. */
export function heartbeatMessage(type: MessageType, frame: Frame, hb: CoalescedHeartbeat): Message {
  return {
    type,
    from: frame.from,
    to: frame.to,
    term: hb.term,
    index: 0,
    logTerm: 0,
    commit: hb.commit,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: hb.context,
  };
}
