// The Multi-Raft host: many Raft groups on one node, driven together (raft-design.md §2.4, §5.3).
//
// Each turn: collect the Ready of every group that has one; send what may leave at once (one frame per
// peer node); persist all groups' entries, hard states and snapshots in ONE storage write; once it is
// durable, send the persistence-gated messages (again one frame per peer), apply committed entries, and
// advance every group. Inputs that arrive while a write is in flight (messages, ticks, proposals) are
// stepped into the groups at once, and the next turn picks up their Readys. By default one turn is in
// flight at a time; with `turnsInFlightMax` > 1 the next turn may start (step, send, queue its write)
// while earlier writes are still under way (etcd's asynchronous storage writes): the storage port
// persists writes in the order issued, and turns complete (acknowledge, apply, advance) in that order.
//
// Idle groups are quiesced (CockroachDB style): a leader with nothing in flight and caught-up followers
// sends a last heartbeat marked `quiesce` and stops ticking; followers that match it exactly stop too.
// Any real traffic wakes a group. Failure detection then relies on the node-level liveness heartbeat
// (every frame counts; an empty frame is sent when there is nothing else): when a peer node falls silent,
// the quiesced followers of groups it leads wake up, forget the leader and elect a new one.
//
// Replica ids are node ids (each node hosts at most one replica of a group). Pure: no timers, clock or
// I/O; ticks and the ports are the only inputs and outputs.

import { assert } from '../../assert.js';
import { decodeConfChange } from '../confchange/encoding.js';
import type { LogStorage } from '../log-storage.js';
import { RawNode, type BasicStatus, type RaftConfig, type Status } from '../raw-node.js';
import type { Ready } from '../ready.js';
import {
  EntryType,
  MessageType,
  NONE,
  type ConfChange,
  type Entry,
  type GroupId,
  type Message,
  type NodeId,
} from '../types.js';
import {
  heartbeatMessage,
  type ApplierPort,
  type CoalescedHeartbeat,
  type Frame,
  type GroupMessage,
  type GroupWrite,
  type StoragePort,
  type TransportPort,
} from './ports.js';

/** Raft settings shared by every group of the node. */
export type GroupRaftOptions = Omit<RaftConfig, 'id' | 'storage' | 'random' | 'applied'>;

export interface MultiRaftOptions {
  readonly nodeId: NodeId;
  /** Seeded uniform random in [0, 1) (each group's election timeouts draw from it). */
  readonly random: () => number;
  readonly raft?: GroupRaftOptions;
  readonly storage: StoragePort;
  readonly transport: TransportPort;
  readonly applier: ApplierPort;
  /** Consecutive idle ticks before a leader quiesces its group (0 = never quiesce). Default 3. */
  readonly quiesceAfterTicks?: number;
  /** Ticks between liveness frames to each peer when there is no other traffic. Default 1. */
  readonly livenessIntervalTicks?: number;
  /** Ticks of silence after which a peer node is considered down. Default: the election tick (10). */
  readonly livenessTimeoutTicks?: number;
  /**
   * Turns whose storage write may be in flight at once. Default 1. More lets the next turn's stepping,
   * sending and encoding overlap the disk write; the storage port must then make writes durable in
   * the order they were issued (DiskLog does).
   */
  readonly turnsInFlightMax?: number;
}

export interface CreateGroupOptions {
  readonly storage: LogStorage;
  /** Applied index to restart from (see RaftConfig.applied). */
  readonly applied?: number;
  /** A brand-new group: bootstrap it with these voters (the same list on every member). */
  readonly bootstrapPeers?: readonly NodeId[];
}

class Group {
  quiesced = false;
  /** Consecutive ticks the leader found the group quiescable. */
  idleTicks = 0;

  constructor(
    readonly id: GroupId,
    readonly raw: RawNode,
  ) {}
}

/** Counters for tests and metrics. */
export interface MultiRaftStats {
  turns: number;
  framesSent: number;
  messagesSent: number;
  heartbeatsSent: number;
  writes: number;
  quiesces: number;
  wakeUps: number;
}

export class MultiRaft {
  readonly nodeId: NodeId;
  private readonly groups = new Map<GroupId, Group>();
  /** Groups that may have a Ready (inputs since the last turn). */
  private readonly dirty = new Set<GroupId>();
  /** Outbound frames being filled this turn, by destination node. */
  private outbox = new Map<NodeId, Frame>();
  /** Turns whose write is in flight, oldest first; each completes after the one before it. */
  private readonly inFlight: Promise<void>[] = [];
  private readonly turnsInFlightMax: number;
  private ticks = 0;
  /** Tick at which a frame last arrived from each peer node. */
  private readonly lastHeard = new Map<NodeId, number>();
  /** Tick at which a frame was last sent to each peer node. */
  private readonly lastSent = new Map<NodeId, number>();
  private readonly down = new Set<NodeId>();
  /** Set when some group's membership may have changed: the peer scan of the next tick runs then only. */
  private peersChanged = true;
  readonly stats: MultiRaftStats = {
    turns: 0,
    framesSent: 0,
    messagesSent: 0,
    heartbeatsSent: 0,
    writes: 0,
    quiesces: 0,
    wakeUps: 0,
  };
  private readonly quiesceAfterTicks: number;
  private readonly livenessIntervalTicks: number;
  private readonly livenessTimeoutTicks: number;

  constructor(private readonly options: MultiRaftOptions) {
    this.nodeId = options.nodeId;
    this.quiesceAfterTicks = options.quiesceAfterTicks ?? 3;
    this.livenessIntervalTicks = options.livenessIntervalTicks ?? 1;
    this.livenessTimeoutTicks = options.livenessTimeoutTicks ?? options.raft?.electionTick ?? 10;
    this.turnsInFlightMax = options.turnsInFlightMax ?? 1;
    assert(Number.isInteger(this.turnsInFlightMax) && this.turnsInFlightMax >= 1, 'turnsInFlightMax must be >= 1');
    assert(this.livenessIntervalTicks > 0, 'livenessIntervalTicks must be positive');
    assert(this.livenessTimeoutTicks > this.livenessIntervalTicks, 'livenessTimeoutTicks must exceed the interval');
  }

  // ---- Groups ----

  createGroup(groupId: GroupId, o: CreateGroupOptions): void {
    assert(!this.groups.has(groupId), `group ${groupId} already exists`);
    const raw = new RawNode({
      ...this.options.raft,
      id: this.nodeId,
      storage: o.storage,
      random: this.options.random,
      applied: o.applied ?? 0,
    });
    if (o.bootstrapPeers !== undefined) raw.bootstrap(o.bootstrapPeers);
    this.groups.set(groupId, new Group(groupId, raw));
    this.dirty.add(groupId);
    this.peersChanged = true;
  }

  /** Stop hosting a group (after it removed this replica). Its storage is the caller's to delete. */
  removeGroup(groupId: GroupId): void {
    this.groups.delete(groupId);
    this.dirty.delete(groupId);
  }

  hasGroup(groupId: GroupId): boolean {
    return this.groups.has(groupId);
  }

  groupIds(): GroupId[] {
    return [...this.groups.keys()];
  }

  isQuiesced(groupId: GroupId): boolean {
    return this.group(groupId).quiesced;
  }

  basicStatus(groupId: GroupId): BasicStatus {
    return this.group(groupId).raw.basicStatus();
  }

  status(groupId: GroupId): Status {
    return this.group(groupId).raw.status();
  }

  /** Direct access for tests and checkers; do not drive it behind the host's back. */
  rawNode(groupId: GroupId): RawNode {
    return this.group(groupId).raw;
  }

  private group(groupId: GroupId): Group {
    const g = this.groups.get(groupId);
    if (g === undefined) throw new Error(`unknown raft group ${groupId}`);
    return g;
  }

  // ---- Local requests (each wakes the group) ----

  /** Propose data. Throws ProposalDroppedError (named reason) when it certainly will not be appended. */
  propose(groupId: GroupId, data: Uint8Array): void {
    const g = this.wake(groupId);
    g.raw.propose(data);
  }

  proposeConfChange(groupId: GroupId, cc: ConfChange): void {
    this.wake(groupId).raw.proposeConfChange(cc);
  }

  /** Start a linearizable read; the answer comes through ApplierPort.readStates with this context. */
  readIndex(groupId: GroupId, context: Uint8Array): void {
    this.wake(groupId).raw.readIndex(context);
  }

  transferLeader(groupId: GroupId, to: NodeId): void {
    this.wake(groupId).raw.transferLeader(to);
  }

  campaign(groupId: GroupId): void {
    this.wake(groupId).raw.campaign();
  }

  /** The transport could not deliver to `node`: every group probes it again. */
  reportUnreachable(node: NodeId): void {
    for (const g of this.groups.values()) {
      if (g.raw.raft.role === 'leader' && g.raw.raft.trk.progress.has(node)) {
        g.raw.reportUnreachable(node);
        this.dirty.add(g.id);
      }
    }
  }

  /** The snapshot of `groupId` sent to `to` was delivered (ok) or not. */
  reportSnapshot(groupId: GroupId, to: NodeId, ok: boolean): void {
    const g = this.groups.get(groupId);
    if (g === undefined) return;
    g.raw.reportSnapshot(to, ok);
    this.dirty.add(groupId);
  }

  private wake(groupId: GroupId): Group {
    const g = this.group(groupId);
    if (g.quiesced) {
      g.quiesced = false;
      this.stats.wakeUps++;
    }
    g.idleTicks = 0;
    this.dirty.add(groupId);
    return g;
  }

  // ---- Inputs from the network and the clock ----

  /** A frame from a peer node. Messages for unknown groups are dropped (the group may be created later). */
  receive(frame: Frame): void {
    if (frame.to !== this.nodeId) return;
    this.lastHeard.set(frame.from, this.ticks);
    if (this.down.delete(frame.from)) this.peerBack(frame.from);
    for (const hb of frame.heartbeats) {
      const g = this.groups.get(hb.groupId);
      if (g === undefined) continue;
      if (!hb.quiesce) this.wake(hb.groupId);
      g.raw.step(heartbeatMessage(MessageType.Heartbeat, frame, hb));
      this.dirty.add(g.id);
      if (hb.quiesce) this.maybeQuiesceFollower(g, frame.from, hb);
    }
    for (const hb of frame.heartbeatResps) {
      const g = this.groups.get(hb.groupId);
      if (g === undefined) continue;
      // A response to a quiescing heartbeat must not wake the group again.
      g.raw.step(heartbeatMessage(MessageType.HeartbeatResp, frame, hb));
      this.dirty.add(g.id);
    }
    for (const { groupId, message } of frame.messages) {
      if (!this.groups.has(groupId)) continue;
      this.wake(groupId).raw.step(message);
    }
  }

  /** A follower told to quiesce does so only if it holds exactly the leader's log and commit. */
  private maybeQuiesceFollower(g: Group, from: NodeId, hb: CoalescedHeartbeat): void {
    const r = g.raw.raft;
    const log = r.raftLog;
    const matches = r.term === hb.term && log.committed === hb.commit && log.lastIndex() === hb.commit;
    if (r.role === 'follower' && r.lead === from && matches) {
      if (!g.quiesced) this.stats.quiesces++;
      g.quiesced = true;
    }
  }

  /**
   * One logical clock tick for the node: ticks every awake group, quiesces idle leaders, sends liveness
   * frames and detects silent peers. Call turn() afterwards to send what it produced.
   */
  tick(): void {
    this.ticks++;
    for (const g of this.groups.values()) {
      if (g.quiesced) continue;
      if (this.quiesceAfterTicks > 0 && this.leaderCanQuiesce(g)) {
        if (++g.idleTicks >= this.quiesceAfterTicks) {
          this.quiesceLeader(g);
          continue;
        }
      } else {
        g.idleTicks = 0;
      }
      g.raw.tick();
      this.dirty.add(g.id);
    }
    this.detectDownPeers();
  }

  /** Nothing in flight, every live follower caught up and told the commit: ticking is pointless. */
  private leaderCanQuiesce(g: Group): boolean {
    const r = g.raw.raft;
    if (r.role !== 'leader' || g.raw.hasReady()) return false;
    const log = r.raftLog;
    const last = log.lastIndex();
    if (log.committed !== last || log.applied !== last) return false;
    if (r.leadTransferee !== NONE || r.pendingReadIndexMessages.length > 0 || r.readOnly.readIndexQueue.length > 0) {
      return false;
    }
    if (r.trk.config.voters.isJoint() || r.pendingConfIndex > log.applied) return false;
    // Without a live majority it must keep ticking, so that check-quorum makes it step down.
    const voters = r.trk.voterIds();
    if (voters.filter((id) => !this.down.has(id)).length * 2 <= voters.length) return false;
    for (const [id, pr] of r.trk.progress) {
      if (id === this.nodeId || this.down.has(id)) continue; // a dead follower catches up when woken
      if (pr.match !== last) return false;
    }
    return true;
  }

  private quiesceLeader(g: Group): void {
    const r = g.raw.raft;
    g.quiesced = true;
    g.idleTicks = 0;
    this.stats.quiesces++;
    for (const [id, pr] of r.trk.progress) {
      if (id === this.nodeId) continue;
      // As any heartbeat: never a commit index past what the follower is known to hold (a follower that
      // was down, or restarted with a shorter log, must not be told to commit entries it lacks).
      const commit = Math.min(pr.match, r.raftLog.committed);
      const hb = { groupId: g.id, term: r.term, commit, context: null, quiesce: true };
      this.frame(id).heartbeats.push(hb);
      this.stats.heartbeatsSent++;
    }
  }

  /** Peers silent for the liveness timeout are down: wake the quiesced groups they were leading. */
  private detectDownPeers(): void {
    if (this.peersChanged) {
      // Groups x replicas: scanned only after a membership change, not on every tick.
      this.peersChanged = false;
      for (const g of this.groups.values()) {
        for (const id of g.raw.raft.trk.progress.keys()) {
          if (id === this.nodeId || this.lastHeard.has(id)) continue;
          this.lastHeard.set(id, this.ticks); // a newly seen peer gets a full timeout of grace
        }
      }
    }
    for (const [peer, heard] of this.lastHeard) {
      if (this.down.has(peer) || this.ticks - heard < this.livenessTimeoutTicks) continue;
      this.down.add(peer);
      this.failOver(peer);
    }
    // Liveness: make sure each known peer hears from us at least once per interval.
    for (const peer of this.lastHeard.keys()) {
      if (this.ticks - (this.lastSent.get(peer) ?? 0) >= this.livenessIntervalTicks) this.frame(peer);
    }
  }

  /** A peer that was down speaks again: the quiesced groups led here wake to catch it up. */
  private peerBack(node: NodeId): void {
    for (const g of this.groups.values()) {
      const r = g.raw.raft;
      if (g.quiesced && r.role === 'leader' && r.trk.progress.has(node)) this.wake(g.id);
    }
  }

  private failOver(deadNode: NodeId): void {
    for (const g of this.groups.values()) {
      const r = g.raw.raft;
      if (g.quiesced && r.role === 'leader' && r.trk.progress.has(deadNode)) {
        // Ticking again lets check-quorum step down a leader that lost its majority with this node.
        this.wake(g.id);
        continue;
      }
      if (!g.quiesced || r.lead !== deadNode) continue;
      this.wake(g.id);
      g.raw.forgetLeader(); // lets pre-vote and the lease rule allow an election right away
      // One deterministic campaigner (the smallest live voter) avoids split votes; the others wait for
      // it, or for their own randomized election timeout if it is down too.
      const candidates = r.trk.voterIds().filter((id) => id !== deadNode && !this.down.has(id));
      if (candidates[0] === this.nodeId) g.raw.campaign();
    }
  }

  // ---- The drive loop ----

  /** Whether a turn would do something (for hosts that loop until idle). */
  hasWork(): boolean {
    if (this.outbox.size > 0) return true;
    for (const id of this.dirty) if (this.groups.get(id)?.raw.hasReady()) return true;
    return false;
  }

  /** Turns whose storage write is still in flight. */
  get turnsInFlight(): number {
    return this.inFlight.length;
  }

  /**
   * Run one turn. Returns undefined when it completed synchronously (the storage port wrote
   * synchronously and no earlier turn is in flight), or a promise that settles when the turn's write
   * is durable and the turn is done. With `turnsInFlightMax` turns in flight, starts nothing and
   * returns the oldest one's promise.
   */
  turn(): Promise<void> | undefined {
    if (this.inFlight.length >= this.turnsInFlightMax) return this.inFlight[0];
    this.stats.turns++;
    const readies: [Group, Ready][] = [];
    for (const id of this.dirty) {
      const g = this.groups.get(id);
      if (g !== undefined && g.raw.hasReady()) readies.push([g, g.raw.ready()]);
    }
    this.dirty.clear();
    for (const [g, rd] of readies) this.queue(g.id, rd.messages);
    this.flush(); // the leader's appends leave before its own write (thesis §10.2.1)

    const writes: GroupWrite[] = [];
    let mustSync = false;
    for (const [g, rd] of readies) {
      if (rd.snapshot === undefined && rd.entries.length === 0 && rd.hardState === undefined) continue;
      const w: { -readonly [K in keyof GroupWrite]: GroupWrite[K] } = { groupId: g.id };
      if (rd.snapshot !== undefined) w.snapshot = rd.snapshot;
      if (rd.entries.length > 0) w.entries = rd.entries;
      if (rd.hardState !== undefined) w.hardState = rd.hardState;
      writes.push(w);
      mustSync ||= rd.mustSync;
    }
    const written = writes.length === 0 ? undefined : this.options.storage.write(writes, mustSync);
    if (writes.length > 0) this.stats.writes++;
    const before = this.inFlight[this.inFlight.length - 1];
    if (written === undefined && before === undefined) {
      this.afterPersist(readies);
      return undefined;
    }
    // Complete in order: after this turn's write AND every earlier turn (their acks, applies, advances).
    const ready = before === undefined ? written! : written === undefined ? before : Promise.all([before, written]);
    const done = ready.then(() => {
      this.inFlight.shift();
      this.afterPersist(readies);
    });
    this.inFlight.push(done);
    return done;
  }

  /** Run turns until idle (only with a synchronous storage port). Bounded. */
  runUntilIdle(maxTurns = 100): number {
    let n = 0;
    while (this.hasWork() && n < maxTurns) {
      const p = this.turn();
      assert(p === undefined, 'runUntilIdle needs a synchronous storage port');
      n++;
    }
    return n;
  }

  private afterPersist(readies: [Group, Ready][]): void {
    for (const [g, rd] of readies) this.queue(g.id, rd.messagesAfterPersist);
    this.flush();
    const applier = this.options.applier;
    for (const [g, rd] of readies) {
      if (rd.softState !== undefined) applier.softStateChanged?.(g.id, rd.softState, g.raw.raft.term);
      if (rd.snapshot !== undefined) {
        applier.applySnapshot?.(g.id, rd.snapshot);
        this.peersChanged = true; // the snapshot carried a configuration
      }
      this.applyEntries(g, rd.committedEntries);
      if (rd.readStates.length > 0) applier.readStates?.(g.id, rd.readStates);
      g.raw.advance(rd);
      this.dirty.add(g.id); // advance may produce more (e.g. the leader's own ack commits entries)
    }
  }

  private applyEntries(g: Group, entries: readonly Entry[]): void {
    const applier = this.options.applier;
    let start = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      if (i > start) applier.apply(g.id, entries.slice(start, i));
      const cs = g.raw.applyConfChange(decodeConfChange(e.data));
      this.peersChanged = true;
      applier.confChanged?.(g.id, e, cs);
      start = i + 1;
    }
    if (start < entries.length) applier.apply(g.id, start === 0 ? entries : entries.slice(start));
  }

  // ---- Frames ----

  private frame(to: NodeId): Frame {
    let f = this.outbox.get(to);
    if (f === undefined) {
      f = { from: this.nodeId, to, messages: [], heartbeats: [], heartbeatResps: [] };
      this.outbox.set(to, f);
    }
    return f;
  }

  /** Sort a group's outgoing messages into the frames of their destination nodes. */
  private queue(groupId: GroupId, msgs: readonly Message[]): void {
    for (const m of msgs) {
      const f = this.frame(m.to);
      if (m.type === MessageType.Heartbeat || m.type === MessageType.HeartbeatResp) {
        const hb: CoalescedHeartbeat = { groupId, term: m.term, commit: m.commit, context: m.context, quiesce: false };
        (m.type === MessageType.Heartbeat ? f.heartbeats : f.heartbeatResps).push(hb);
        this.stats.heartbeatsSent++;
      } else {
        f.messages.push({ groupId, message: m } satisfies GroupMessage);
        this.stats.messagesSent++;
      }
    }
  }

  /** Send every frame filled so far: at most one per destination node. */
  private flush(): void {
    const frames = this.outbox;
    this.outbox = new Map();
    for (const f of frames.values()) {
      this.lastSent.set(f.to, this.ticks);
      this.stats.framesSent++;
      this.options.transport.send(f);
    }
  }
}

