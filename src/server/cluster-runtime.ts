// A node's part of the cluster: the Raft log on disk, the Multi-Raft host with the metadata group (0)
// and this node's shard groups, the cluster bus to the other nodes, and the view clients are served from.
// The composition root of cluster mode (timers, sockets and files live here and in bus.ts/disk-log.ts).
//
// Forming a cluster (`cluster-init ip:port@bus,...`, the same list on every first member, like etcd's
// initial-cluster): member i gets Raft id i+1; the members ask each other's 40-hex ids over the bus, then
// each computes the SAME first metadata state (nodes, 16 shards laid out by placement.ts) and installs it
// as the metadata group's snapshot at index 1, and bootstraps the shard groups it is a voter of. A
// restart finds its groups in the log and takes no part in this.
//
// Leaders: a node knows the leader of every group it hosts from Raft; for the others (clusters larger
// than the replica count) nodes tell each other which groups they lead, with the term, on every change
// and every second.

import { createHash, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandSpec } from '../commands/types.js';
import {
  META_GROUP_ID,
  applyMeta,
  applyMetaEntry,
  decodeMetaState,
  emptyMetaState,
  encodeMetaCommand,
  encodeMetaState,
  findShard,
  holdsReplica,
  nodeByRaftId,
  shardMembersCommand,
  type MetaCommand,
  type MetaState,
} from '../cluster/meta.js';
import { confChangeOf, initialLayout, planLeaderTransfers, planMembership, type PlacementStep } from '../cluster/placement.js';
import { buildClusterView, type PeerStatus, type ShardStatus } from '../cluster/view-builder.js';
import type { ClusterView } from '../cluster/view.js';
import { MultiRaft } from '../raft/multi/multi-raft.js';
import type { ApplierPort, Frame, GroupMessage } from '../raft/multi/ports.js';
import type { ReadState, SoftState } from '../raft/ready.js';
import { DiskLog, type FsyncPolicy } from '../raft/storage/disk-log.js';
import { ConfChangeType, MessageType, type ConfState, type Entry, type GroupId, type Index, type Message, type NodeId, type Snapshot, type Term } from '../raft/types.js';
import { Keyspace } from '../store/keyspace.js';
import { ClusterBus, type SnapshotSink } from './bus.js';
import { RpcType, decodeJson, decodeRpc, encodeJson, encodeRpc, type JoinReply, type JoinRequest } from './cluster-rpc.js';
import type { Logger } from './logger.js';
import { respCommand } from './resp-command.js';
import { EngineApplier, RaftEngine, type ReadConsistency } from './raft-engine.js';

/** Raft ticks per election timeout (randomized in [e, 2e) by the core) and per heartbeat. */
const ELECTION_TICKS = 10;
const HEARTBEAT_TICKS = 1;
/** Metadata voters at most (the rest of the nodes follow it as learners). */
const META_VOTERS_MAX = 5;
/** How often a node tells the others which groups it leads (also sent on every change). */
const LEADERS_ANNOUNCE_MS = 1000;
/** Compaction: snapshot the metadata group once this many entries were applied since its last snapshot. */
const META_SNAPSHOT_ENTRIES = 1_000;
const SNAPSHOT_CHECK_MS = 2000;
/** Ticks between two membership reconciliations (joins, leaves, replica moves). */
const RECONCILE_EVERY_TICKS = 10;
/** How often each node checks whether it leads more shards than its share (and hands some away). */
const BALANCE_CHECK_MS = 2000;
/** Leaders are balanced only after this long without any leadership change seen by this node. */
const BALANCE_QUIET_MS = 10_000;
/** Snapshots larger than this travel as a chunked stream instead of inside a Raft frame. */
const INLINE_SNAPSHOT_BYTES = 256 << 10;
/** The largest snapshot a node accepts by stream (held in memory until installed). */
const SNAPSHOT_STREAM_BYTES_MAX = 4 * 1024 ** 3;
/** The context a MsgSnap carries when its data came ahead by stream. */
const STREAMED_SNAPSHOT = Buffer.from('slotraft:streamed-snapshot', 'latin1');

function isMarker(m: Message): boolean {
  return m.type === MessageType.Snap && m.context !== null && Buffer.from(m.context).equals(STREAMED_SNAPSHOT);
}

/** Raft byte limits per group (design §4: every queue is bounded). */
const MAX_SIZE_PER_MSG = 1 << 20;
const MAX_INFLIGHT_MSGS = 256;
const MAX_UNCOMMITTED_BYTES = 64 << 20;
/** Storage writes that may be in flight while the next turn is prepared. */
const TURNS_IN_FLIGHT = 2;

/** A first member of the cluster as `cluster-init` lists it. */
export interface InitMember {
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
}

export interface ClusterRuntimeOptions {
  readonly dir: string;
  /** This node's 40-hex id. */
  readonly myId: string;
  /** The address clients and peers reach this node at. */
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
  /** This node's READONLY port for CLUSTER SLOTS replica entries (0: none). */
  readonly replicaPort: number;
  /** Where the bus listens. */
  readonly busHost: string;
  readonly secret: string;
  /** First members (cluster-init), or empty when joining. */
  readonly init: readonly InitMember[];
  /** A member's client address to join through (`join host:port`), or null. */
  readonly join: { readonly host: string; readonly port: number } | null;
  readonly replicas: number;
  readonly shardCount: number;
  readonly fsync: FsyncPolicy;
  readonly tickMs: number;
  /** Snapshot a shard group once this many entries were applied since its last snapshot. */
  readonly snapshotEntries: number;
  /** Entries kept behind a snapshot, so that a follower a little behind catches up without one. */
  readonly logTail: number;
  readonly readConsistency: ReadConsistency;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  readonly clock: () => number;
  readonly logger: Logger;
  /** A Pub/Sub message published on another node, to deliver here. */
  readonly onPublish: (kind: 'channel' | 'shard', channel: string, message: string) => void;
  /** The node lost the leadership of a shard (blocked clients on it must be redirected). */
  readonly onLeadershipLost: (engine: RaftEngine) => void;
}

/** Parses `host:port`. */
export function parseAddress(text: string): { host: string; port: number } {
  const m = /^(.+):(\d+)$/.exec(text.trim());
  const port = m === null ? 0 : Number(m[2]);
  if (m === null || port < 1 || port > 65535) throw new Error(`bad address '${text}' (expected host:port)`);
  return { host: m[1]!, port };
}

/** Parses `ip:port[@busport],...` (Redis's address notation; the bus port defaults to port + 10000). */
export function parseInitList(text: string): InitMember[] {
  const members: InitMember[] = [];
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^(.+):(\d+)(?:@(\d+))?$/.exec(item);
    if (m === null) throw new Error(`bad cluster-init member '${item}' (expected ip:port or ip:port@busport)`);
    const port = Number(m[2]);
    const busPort = m[3] === undefined ? port + 10000 : Number(m[3]);
    if (port < 1 || port > 65535 || busPort < 1 || busPort > 65535) throw new Error(`bad port in cluster-init member '${item}'`);
    members.push({ ip: m[1]!, port, busPort });
  }
  if (members.length === 0) throw new Error('cluster-init lists no member');
  return members;
}

interface Identity {
  readonly clusterId: string;
  readonly raftId: NodeId;
}

/** A leader claim heard from a peer, for a group this node does not host. */
interface LeaderClaim {
  readonly leader: NodeId;
  readonly term: Term;
}

export class ClusterRuntime implements ApplierPort {
  private disk!: DiskLog;
  private bus!: ClusterBus;
  multi!: MultiRaft;
  private identity!: Identity;
  private readonly engines = new EngineApplier();
  private meta: MetaState = emptyMetaState();
  private metaApplied = 0;
  private metaSnapshotIndex = 0;
  private readonly snapshotIndex = new Map<GroupId, number>();
  private readonly claims = new Map<GroupId, LeaderClaim>();
  private currentView: ClusterView | null = null;
  private viewDirty = true;
  private driveScheduled = false;
  private turnsInFlight = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private announceScheduled = false;
  /** Peers' READONLY ports, as they announce them. */
  private readonly replicaPorts = new Map<NodeId, number>();
  private lastLeaderChangeAt = performance.now();
  /** Snapshot streams being sent, by `to:group:index`. */
  private readonly outgoingStreams = new Set<string>();
  /** Snapshot data received by stream, waiting for its MsgSnap. */
  private readonly streamedSnapshots = new Map<GroupId, { from: NodeId; index: Index; data: Buffer }>();
  /** Commands waiting for a leader to show up in the view (bounded by maxclients: one per connection). */
  private viewWaiters: (() => void)[] = [];
  /** Shard id -> group id of `groupsByShardIdOf` (every data command looks its engine up). */
  private groupsByShardId = new Map<string, GroupId>();
  private groupsByShardIdOf: MetaState | null = null;
  private ticks = 0;
  private closed = false;
  private seedState = 0;
  /** Membership reports (SetShardMembers) this node still has to get into the metadata. */
  private readonly pendingMemberReports = new Map<GroupId, MetaCommand>();
  /** The members a joiner learned from its Join reply (its first bus peers). */
  private joinPeers: readonly { raftId: number; ip: string; busPort: number }[] = [];

  constructor(private readonly o: ClusterRuntimeOptions) {}

  get raftId(): NodeId {
    return this.identity.raftId;
  }

  async start(): Promise<void> {
    const o = this.o;
    this.disk = (await DiskLog.open(join(o.dir, 'raft'), { fsync: o.fsync })).log;
    this.identity = this.loadIdentity() ?? (await this.joinCluster());
    this.seedState = (o.clock() ^ (this.identity.raftId * 2654435761)) >>> 0;
    this.bus = await this.listenBus();
    this.multi = new MultiRaft({
      nodeId: this.identity.raftId,
      random: () => this.random(),
      raft: {
        electionTick: ELECTION_TICKS,
        heartbeatTick: HEARTBEAT_TICKS,
        checkQuorum: true,
        preVote: true,
        maxSizePerMsg: MAX_SIZE_PER_MSG,
        maxInflightMsgs: MAX_INFLIGHT_MSGS,
        maxUncommittedEntriesSize: MAX_UNCOMMITTED_BYTES,
      },
      storage: this.disk,
      transport: { send: (frame) => this.send(frame) },
      applier: this,
      turnsInFlightMax: TURNS_IN_FLIGHT,
    });
    for (const [i, m] of o.init.entries()) if (i + 1 !== this.identity.raftId) this.bus.addPeer(i + 1, m.ip, m.busPort);

    const stored = this.disk.groupIds().filter((g) => this.disk.group(g).snapshot().metadata.index > 0 || this.disk.group(g).lastIndex() > 0);
    if (stored.includes(META_GROUP_ID)) {
      this.restartGroups(stored);
    } else if (o.init.length > 0) {
      await this.bootstrap();
    } else {
      // A joined node: the metadata leader adds it to group 0, which then sends it a snapshot.
      this.multi.createGroup(META_GROUP_ID, { storage: this.disk.group(META_GROUP_ID) });
      for (const n of this.joinPeers) if (n.raftId !== this.raftId) this.bus.addPeer(n.raftId, n.ip, n.busPort);
    }
    this.timers.push(setInterval(() => this.tick(), o.tickMs));
    this.timers.push(setInterval(() => this.announceLeaders(), LEADERS_ANNOUNCE_MS));
    this.timers.push(setInterval(() => void this.maybeSnapshot(), SNAPSHOT_CHECK_MS));
    this.timers.push(setInterval(() => this.balanceLeaders(), BALANCE_CHECK_MS));
    for (const t of this.timers) t.unref();
    this.kick();
  }

  private async listenBus(): Promise<ClusterBus> {
    const o = this.o;
    try {
      return await ClusterBus.listen({
        nodeId: this.identity.raftId,
        clusterId: this.identity.clusterId,
        secret: o.secret,
        host: o.busHost,
        port: o.busPort,
        logger: o.logger,
        onRaftFrame: (frame) => this.receive(frame),
        onRequest: (from, body) => this.onRequest(from, body),
        onSnapshot: (from, groupId, index) => this.snapshotSink(from, groupId, index),
        onPeerDown: (id) => {
          this.viewMayHaveChanged();
          this.multi?.reportUnreachable(id);
          this.kick();
        },
        onPeerUp: () => {
          this.viewMayHaveChanged();
          this.announceLeaders();
        },
      });
    } catch (error) {
      throw Object.assign(error as Error, { busPort: o.busPort });
    }
  }

  /** Stops ticking and closes the bus and the log (after leaderships were handed away, if wanted). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.bus.close();
    await this.disk.close();
  }

  /**
   * Hands every leadership this node holds to another voter and waits (bounded) until it holds none, so
   * that clients see MOVED to a live leader instead of errors when this node stops.
   */
  async handOffLeaderships(timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (let round = 0; performance.now() < deadline; round++) {
      const led = this.ledGroups();
      if (led.length === 0) return 0;
      if (round % 10 === 0) {
        for (const g of led) {
          const to = this.transferTarget(g);
          if (to !== 0) this.multi.transferLeader(g, to);
        }
        this.kick();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.ledGroups().length;
  }

  /** Shard groups this node hosts and does not lead. */
  followedShards(): number {
    return this.multi.groupIds().filter((g) => g !== META_GROUP_ID && this.multi.basicStatus(g).softState.role !== 'leader').length;
  }

  /** CLUSTER FAILOVER: ask to lead every group this node follows. */
  takeLeaderships(): void {
    for (const g of this.multi.groupIds()) {
      const s = this.multi.basicStatus(g).softState;
      if (s.role === 'follower' && s.lead !== 0) this.multi.transferLeader(g, this.raftId);
    }
    this.kick();
  }

  // ---- what the server asks ----

  view(): ClusterView {
    if (this.viewDirty || this.currentView === null) {
      this.viewDirty = false;
      this.currentView = this.buildView();
    }
    return this.currentView;
  }

  /** Resolves at the next change of leaders or metadata, or after `ms`. */
  viewChanged(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const at = this.viewWaiters.indexOf(done);
        if (at >= 0) this.viewWaiters.splice(at, 1);
        resolve();
      }, ms);
      this.viewWaiters.push(done);
    });
  }

  /** Leaders, links or metadata changed: rebuild the view on next use, and wake who waits for it. */
  private viewMayHaveChanged(): void {
    this.viewDirty = true;
    if (this.viewWaiters.length === 0) return;
    const waiters = this.viewWaiters;
    this.viewWaiters = [];
    setImmediate(() => {
      for (const w of waiters) w();
    });
  }

  /** The engine of a shard hosted here, by its 40-hex shard id. */
  engineFor(shardId: string): RaftEngine | undefined {
    if (this.groupsByShardIdOf !== this.meta) {
      this.groupsByShardIdOf = this.meta;
      this.groupsByShardId = new Map(this.meta.shards.map((s) => [s.id, s.groupId]));
    }
    const groupId = this.groupsByShardId.get(shardId);
    return groupId === undefined ? undefined : this.engines.engine(groupId);
  }

  /** Engines of the shards this node leads (what DBSIZE, KEYS, SCAN and expiry work on). */
  ledEngines(): RaftEngine[] {
    const out: RaftEngine[] = [];
    for (const g of this.ledGroups()) {
      const e = this.engines.engine(g);
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  anyEngine(): RaftEngine | undefined {
    return this.ledEngines()[0] ?? this.engines.engine(this.multi.groupIds().find((g) => g !== META_GROUP_ID) ?? -1);
  }

  /** The 'ip:port' of a node by Raft id, as MOVED names it; null if unknown. */
  addressOf(raftId: NodeId): string | null {
    const node = nodeByRaftId(this.meta, raftId);
    return node === undefined ? null : `${node.ip}:${node.port}`;
  }

  /** Sends a Pub/Sub message to the other nodes: every node for PUBLISH, the shard's members for SPUBLISH. */
  forwardPublish(kind: 'channel' | 'shard', channel: string, message: string, slot?: number): void {
    const body = encodeRpc(RpcType.Publish, { kind, channel, message });
    let targets = this.meta.nodes.map((n) => n.raftId);
    if (kind === 'shard' && slot !== undefined) {
      const shard = findShard(this.meta, this.meta.slotOwner[slot] ?? 0);
      targets = shard === undefined ? [] : [...shard.voters, ...shard.learners];
    }
    for (const id of targets) {
      if (id !== this.raftId) this.bus.request(id, body).catch(() => {}); // best effort, as Redis's bus
    }
  }

  /** Bus statistics for INFO/metrics. */
  busStats(): { sent: number; received: number } {
    return { sent: this.bus.stats.raftFramesSent, received: this.bus.stats.raftFramesReceived };
  }

  // ---- identity and bootstrap ----

  /** The saved identity, or a cluster-init member's; null when the node must join first. */
  private loadIdentity(): Identity | null {
    try {
      const saved = JSON.parse(readFileSync(this.identityPath(), 'utf8')) as Identity;
      if (typeof saved.clusterId === 'string' && Number.isInteger(saved.raftId) && saved.raftId > 0) return saved;
    } catch {
      // first start
    }
    if (this.o.init.length === 0) return null;
    const me = this.o.init.findIndex((m) => m.port === this.o.port && (m.ip === this.o.ip || this.o.init.filter((x) => x.port === m.port).length === 1));
    if (me < 0) throw new Error(`this node (${this.o.ip}:${this.o.port}) is not in cluster-init`);
    return this.saveIdentity(me + 1);
  }

  private identityPath(): string {
    return join(this.o.dir, 'cluster.json');
  }

  /** The bus's cluster id comes from the secret: every node that holds it agrees, joiners included. */
  private clusterId(): string {
    return createHash('sha256').update(`slotraft cluster\0${this.o.secret}`).digest('hex').slice(0, 32);
  }

  private saveIdentity(raftId: NodeId): Identity {
    const identity: Identity = { clusterId: this.clusterId(), raftId };
    const path = this.identityPath();
    writeFileSync(path + '.tmp', JSON.stringify(identity) + '\n');
    renameSync(path + '.tmp', path);
    return identity;
  }

  /**
   * `join host:port`: asks the member at that client address for its Raft id and bus port, then, over
   * a bus link made with a provisional id, to add this node to the metadata. Retried until it works.
   */
  private async joinCluster(): Promise<Identity> {
    const o = this.o;
    const seed = o.join!;
    const request: JoinRequest = { id: o.myId, ip: o.ip, port: o.port, busPort: o.busPort };
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('closed while joining');
      let bus: ClusterBus | null = null;
      try {
        const info = await respCommand(seed.host, seed.port, ['INFO', 'cluster']);
        const nodes = await respCommand(seed.host, seed.port, ['CLUSTER', 'NODES']);
        const seedRaftId = Number(/slotraft_raft_id:(\d+)/.exec(info)?.[1] ?? 0);
        const myself = nodes.split('\n').find((l) => l.split(' ')[2]?.split(',').includes('myself'));
        const bus_ = /^(.*):\d+@(\d+)/.exec(myself?.split(' ')[1] ?? '');
        if (seedRaftId === 0 || bus_ === null) throw new Error(`${seed.host}:${seed.port} is not a slotraft cluster member`);
        // A provisional id far above any real one (ids are assigned from 1 up); used for this request only.
        bus = await ClusterBus.listen({ nodeId: 2 ** 40 + randomInt(2 ** 30), clusterId: this.clusterId(), secret: o.secret, host: o.busHost, port: 0 });
        bus.addPeer(seedRaftId, bus_[1]!, Number(bus_[2]));
        const reply = decodeJson<JoinReply>(await bus.request(seedRaftId, encodeRpc(RpcType.Join, request), 15_000));
        if (reply.raftId === undefined) throw new Error(reply.error ?? 'join refused');
        o.logger.notice('joined the cluster', { raftId: reply.raftId, through: `${seed.host}:${seed.port}` });
        this.joinPeers = reply.nodes ?? [];
        return this.saveIdentity(reply.raftId);
      } catch (err) {
        if (attempt % 5 === 1) o.logger.warning('cannot join the cluster yet', { through: `${seed.host}:${seed.port}`, error: String(err) });
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await bus?.close();
      }
    }
  }

  /** First start of a cluster-init member: learn every member's id, install the first metadata. */
  private async bootstrap(): Promise<void> {
    const o = this.o;
    const ids = new Map<NodeId, string>([[this.raftId, o.myId]]);
    let attempts = 0;
    while (ids.size < o.init.length) {
      if (this.closed) throw new Error('closed while forming the cluster');
      await Promise.all(
        o.init.map(async (_, i) => {
          const raftId = i + 1;
          if (ids.has(raftId)) return;
          try {
            const reply = await this.bus.request(raftId, encodeRpc(RpcType.WhoAmI, {}), 1000);
            const id = decodeJson<{ id: string }>(reply).id;
            if (/^[0-9a-f]{40}$/.test(id)) ids.set(raftId, id);
          } catch {
            // not up yet
          }
        }),
      );
      if (ids.size < o.init.length) {
        if (++attempts % 25 === 0) o.logger.notice('waiting for the other cluster-init members', { known: ids.size, of: o.init.length });
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const raftIds = o.init.map((_, i) => i + 1);
    const layout = initialLayout(o.shardCount, raftIds, o.replicas);
    let state = emptyMetaState();
    const commands: MetaCommand[] = [
      ...o.init.map((m, i): MetaCommand => ({ type: 'AddNode', id: ids.get(i + 1)!, ip: m.ip, port: m.port, busPort: m.busPort, hostname: '' })),
      { type: 'SetConfig', replicas: o.replicas },
      {
        type: 'CreateShards',
        shards: layout.map((s, i) => ({
          id: createHash('sha1').update(`${this.identity.clusterId}/shard/${i + 1}`).digest('hex'),
          slots: [s.slots],
          voters: s.voters,
        })),
      },
    ];
    for (const c of commands) {
      const applied = applyMeta(state, c);
      if (!applied.result.ok) throw new Error(`bootstrap metadata refused: ${applied.result.reason}`);
      state = applied.state;
    }
    const voters = raftIds.slice(0, META_VOTERS_MAX);
    const confState: ConfState = { voters, votersOutgoing: [], learners: raftIds.slice(META_VOTERS_MAX), learnersNext: [], autoLeave: false };
    await this.disk.write([
      {
        groupId: META_GROUP_ID,
        snapshot: { metadata: { index: 1, term: 1, confState }, data: encodeMetaState(state) },
        hardState: { term: 1, vote: 0, commit: 1 },
      },
    ]);
    this.meta = state;
    this.metaApplied = 1;
    this.metaSnapshotIndex = 1;
    this.multi.createGroup(META_GROUP_ID, { storage: this.disk.group(META_GROUP_ID), applied: 1 });
    for (const shard of state.shards) {
      if (!shard.voters.includes(this.raftId)) continue;
      this.hostShard(shard.groupId, shard.voters);
      // The planned leader starts the first election at once (balanced leaders from the start).
      if (layout[shard.groupId - 1]?.leader !== this.raftId) continue;
      // Campaign now, and again once the other members surely host the group (their bootstrap runs at
      // about the same time; a vote request to a node without the group is lost).
      this.multi.campaign(shard.groupId);
      setTimeout(() => {
        if (this.closed) return;
        const lead = this.multi.basicStatus(shard.groupId).softState.lead;
        if (lead === 0) this.multi.campaign(shard.groupId);
        else if (lead !== this.raftId) this.multi.transferLeader(shard.groupId, this.raftId);
        this.kick();
      }, 300).unref();
    }
    if (this.raftId === 1) this.multi.campaign(META_GROUP_ID);
    this.viewDirty = true;
    o.logger.notice('cluster formed', { nodes: o.init.length, shards: state.shards.length, raftId: this.raftId });
  }

  /** A restart: every group found in the log is hosted again, from its newest snapshot. */
  private restartGroups(groups: readonly GroupId[]): void {
    const metaLog = this.disk.group(META_GROUP_ID);
    const snap = metaLog.snapshot();
    if (snap.data.length > 0) this.meta = decodeMetaState(snap.data);
    this.metaApplied = snap.metadata.index;
    this.metaSnapshotIndex = snap.metadata.index;
    this.multi.createGroup(META_GROUP_ID, { storage: metaLog, applied: snap.metadata.index });
    for (const g of groups) if (g !== META_GROUP_ID) this.hostShard(g, null);
    this.connectPeers();
    const logs = groups.map((g) => `${g}:${this.disk.group(g).lastIndex()}`).join(' ');
    this.o.logger.notice('cluster state recovered from the log', { groups: groups.length, metaIndex: snap.metadata.index, lastIndexes: logs });
  }

  /** Hosts a shard group: a fresh one (bootstrap voters), a restarted one (null), or a new replica ([]). */
  private hostShard(groupId: GroupId, bootstrapVoters: readonly NodeId[] | null): void {
    const storage = this.disk.group(groupId);
    const snap = storage.snapshot();
    const engine = new RaftEngine({
      multi: this.multi,
      groupId,
      keyspace: new Keyspace(),
      commands: this.o.commands,
      clock: this.o.clock,
      nextSeed: () => (this.random() * 4294967296) >>> 0,
      sequenceStart: this.o.clock() * 1000,
      readConsistency: this.o.readConsistency,
      snapshotData: snap.data,
      onWork: () => this.kick(),
    });
    this.engines.register(engine);
    this.snapshotIndex.set(groupId, snap.metadata.index);
    if (bootstrapVoters !== null && bootstrapVoters.length > 0) {
      this.multi.createGroup(groupId, { storage, bootstrapPeers: bootstrapVoters });
    } else {
      this.multi.createGroup(groupId, { storage, applied: engine.appliedIndex });
    }
  }

  private connectPeers(): void {
    for (const n of this.meta.nodes) if (n.raftId !== this.raftId) this.bus.addPeer(n.raftId, n.ip, n.busPort);
  }

  // ---- the drive loop ----

  /** Something may have work for the Multi-Raft host: run a turn soon. */
  private kick(): void {
    if (this.driveScheduled || this.closed) return;
    this.driveScheduled = true;
    setImmediate(() => this.drive());
  }

  private drive(): void {
    this.driveScheduled = false;
    if (this.closed) return;
    this.engines.flushReads();
    if (this.turnsInFlight >= TURNS_IN_FLIGHT || !this.multi.hasWork()) return;
    const turn = this.multi.turn();
    if (turn === undefined) {
      this.kick();
      return;
    }
    this.turnsInFlight++;
    turn.then(
      () => {
        this.turnsInFlight--;
        this.kick();
      },
      (err: unknown) => this.fatal('raft storage write failed', err),
    );
    this.kick(); // the next turn may start while this one's write is in flight
  }

  private tick(): void {
    this.multi.tick();
    this.reportMembership();
    if (++this.ticks % RECONCILE_EVERY_TICKS === 0) this.reconcileMembership();
    this.kick();
  }

  private receive(frame: Frame): void {
    this.restoreStreamedSnapshots(frame);
    this.multi.receive(frame);
    this.kick();
  }

  private send(frame: Frame): void {
    const isBig = (m: GroupMessage) => m.message.type === MessageType.Snap && (m.message.snapshot?.data.length ?? 0) > INLINE_SNAPSHOT_BYTES;
    if (frame.messages.some(isBig)) {
      for (const m of frame.messages) if (isBig(m)) this.streamSnapshot(frame.to, m.groupId, m.message);
      frame.messages.splice(0, frame.messages.length, ...frame.messages.filter((m) => !isBig(m)));
    }
    const sent = this.bus.sendRaft(frame);
    for (const { groupId, message } of frame.messages) {
      if (message.type !== MessageType.Snap) continue;
      this.o.logger.verbose('sending a snapshot', { group: groupId, to: frame.to, index: message.snapshot?.metadata.index, sent });
      this.reportSnapshotSoon(groupId, frame.to, sent);
    }
  }

  /** Tells the leader how a snapshot send went, once the current turn is over. */
  private reportSnapshotSoon(groupId: GroupId, to: NodeId, ok: boolean): void {
    setImmediate(() => {
      if (this.multi.hasGroup(groupId)) this.multi.reportSnapshot(groupId, to, ok);
      this.kick();
    });
  }

  /**
   * A large snapshot goes as a chunked, flow-controlled stream on the bus (design §8); the MsgSnap
   * follows once the peer has every byte, carrying only a marker instead of the data.
   */
  private streamSnapshot(to: NodeId, groupId: GroupId, message: Message): void {
    const snap = message.snapshot!;
    const key = `${to}:${groupId}:${snap.metadata.index}`;
    if (this.outgoingStreams.has(key)) return; // already on its way; Raft asks again if it fails
    this.outgoingStreams.add(key);
    this.o.logger.notice('streaming a snapshot', { group: groupId, to, index: snap.metadata.index, bytes: snap.data.length });
    this.bus
      .sendSnapshot(to, groupId, snap.metadata.index, snap.data)
      .then(
        () => {
          const marker: Message = { ...message, snapshot: { ...snap, data: new Uint8Array(0) }, context: STREAMED_SNAPSHOT };
          const sent = this.bus.sendRaft({ from: this.raftId, to, messages: [{ groupId, message: marker }], heartbeats: [], heartbeatResps: [] });
          this.reportSnapshotSoon(groupId, to, sent);
        },
        (err: unknown) => {
          this.o.logger.warning('snapshot stream failed', { group: groupId, to, error: String(err) });
          this.reportSnapshotSoon(groupId, to, false);
        },
      )
      .finally(() => this.outgoingStreams.delete(key));
  }

  /** Where a peer's snapshot stream goes: memory (bounded), until its MsgSnap arrives. */
  private snapshotSink(from: NodeId, groupId: GroupId, index: Index): SnapshotSink | null {
    const chunks: Buffer[] = [];
    let bytes = 0;
    return {
      write: (data) => {
        bytes += data.length;
        if (bytes > SNAPSHOT_STREAM_BYTES_MAX) throw new Error(`snapshot larger than ${SNAPSHOT_STREAM_BYTES_MAX} bytes`);
        chunks.push(Buffer.from(data));
      },
      finish: () => {
        // One finished stream per group is kept: a newer one replaces it.
        this.streamedSnapshots.set(groupId, { from, index, data: Buffer.concat(chunks) });
      },
      abort: () => {
        chunks.length = 0;
      },
    };
  }

  /** Puts the streamed data back into the MsgSnaps that arrive with the marker (or drops them). */
  private restoreStreamedSnapshots(frame: Frame): void {
    if (!frame.messages.some((m) => isMarker(m.message))) return;
    const out: Frame['messages'] = [];
    for (const m of frame.messages) {
      if (!isMarker(m.message)) {
        out.push(m);
        continue;
      }
      const snap = m.message.snapshot!;
      const streamed = this.streamedSnapshots.get(m.groupId);
      if (streamed === undefined || streamed.from !== frame.from || streamed.index !== snap.metadata.index) continue;
      this.streamedSnapshots.delete(m.groupId);
      out.push({ groupId: m.groupId, message: { ...m.message, context: null, snapshot: { ...snap, data: streamed.data } } });
    }
    frame.messages.splice(0, frame.messages.length, ...out);
  }

  private fatal(what: string, err: unknown): never {
    this.o.logger.warning(what, { error: String(err) });
    process.exit(1);
  }

  private random(): number {
    // xorshift32: election timeouts and seeds need no cryptographic quality.
    let s = this.seedState || 0x9e3779b9;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.seedState = s >>> 0;
    return this.seedState / 4294967296;
  }

  // ---- ApplierPort ----

  apply(groupId: GroupId, entries: readonly Entry[]): void {
    if (groupId !== META_GROUP_ID) {
      this.engines.apply(groupId, entries);
      return;
    }
    for (const entry of entries) {
      if (entry.index <= this.metaApplied) continue;
      this.metaApplied = entry.index;
      if (entry.data.length === 0) continue;
      const applied = applyMetaEntry(this.meta, entry.data);
      if (applied.result.ok) this.meta = applied.state;
    }
    this.metaChanged();
  }

  applySnapshot(groupId: GroupId, snapshot: Snapshot): void {
    if (groupId !== META_GROUP_ID) {
      this.engines.applySnapshot(groupId, snapshot);
      this.snapshotIndex.set(groupId, snapshot.metadata.index);
      return;
    }
    this.meta = decodeMetaState(snapshot.data);
    this.metaApplied = snapshot.metadata.index;
    this.metaSnapshotIndex = snapshot.metadata.index;
    this.metaChanged();
  }

  confChanged(groupId: GroupId, entry: Entry, confState: ConfState): void {
    // A new member catches up from a snapshot, and Raft refuses one whose configuration does not hold
    // the member: take a snapshot now, with the new configuration.
    this.forcedSnapshots.add(groupId);
    setImmediate(() => void this.maybeSnapshot());
    if (groupId === META_GROUP_ID) {
      this.metaApplied = Math.max(this.metaApplied, entry.index);
      return;
    }
    this.engines.confChanged(groupId, entry, confState);
    // The shard's leader records the new membership in the metadata (retried until it shows there).
    if (this.multi.basicStatus(groupId).softState.role === 'leader') {
      this.pendingMemberReports.set(groupId, shardMembersCommand(groupId, entry.index, confState));
    }
  }

  readStates(groupId: GroupId, readStates: readonly ReadState[]): void {
    this.engines.readStates(groupId, readStates);
  }

  softStateChanged(groupId: GroupId, softState: SoftState, term: Term): void {
    this.viewMayHaveChanged();
    this.lastLeaderChangeAt = performance.now();
    if (groupId !== META_GROUP_ID) {
      const engine = this.engines.engine(groupId);
      this.engines.softStateChanged(groupId, softState, term);
      if (engine !== undefined && softState.role !== 'leader') this.o.onLeadershipLost(engine);
    }
    this.scheduleAnnounce();
  }

  // ---- metadata ----

  private metaChanged(): void {
    this.viewMayHaveChanged();
    this.connectPeers();
    for (const [g, report] of this.pendingMemberReports) {
      const shard = findShard(this.meta, g);
      if (report.type === 'SetShardMembers' && shard !== undefined && shard.confIndex >= report.confIndex) {
        this.pendingMemberReports.delete(g);
      }
    }
    this.dropLeftGroups();
    // Host the shards this node was made a member of (a new replica catches up from the leader).
    for (const shard of this.meta.shards) {
      if (holdsReplica(shard, this.raftId) && !this.multi.hasGroup(shard.groupId)) this.hostShard(shard.groupId, []);
    }
  }

  private reportMembership(): void {
    for (const report of this.pendingMemberReports.values()) this.proposeMeta(report);
  }

  /** Proposes a metadata command (a follower forwards it to the metadata leader). Best effort. */
  proposeMeta(command: MetaCommand): boolean {
    try {
      this.multi.propose(META_GROUP_ID, encodeMetaCommand(command));
      this.kick();
      return true;
    } catch {
      return false; // no leader known: retried by the caller
    }
  }

  // ---- joining, leaving, and where replicas live ----

  /** A Join request: adds the node to the metadata (idempotent: a retry gets the same Raft id). */
  private async admit(request: JoinRequest): Promise<JoinReply> {
    const valid =
      typeof request.id === 'string' && /^[0-9a-f]{40}$/.test(request.id) && typeof request.ip === 'string' &&
      Number.isInteger(request.port) && Number.isInteger(request.busPort);
    if (!valid) return { error: 'malformed join request' };
    const deadline = performance.now() + 10_000;
    let proposedAt = -Infinity;
    while (performance.now() < deadline && !this.closed) {
      const node = this.meta.nodes.find((n) => n.id === request.id);
      if (node !== undefined) {
        return { raftId: node.raftId, nodes: this.meta.nodes.map((n) => ({ raftId: n.raftId, ip: n.ip, busPort: n.busPort })) };
      }
      if (performance.now() - proposedAt > 2000) {
        proposedAt = performance.now();
        this.proposeMeta({ type: 'AddNode', id: request.id, ip: request.ip, port: request.port, busPort: request.busPort, hostname: '' });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return { error: 'the metadata group did not add the node in time (no leader?)' };
  }

  /** CLUSTER FORGET: marks the node draining; its replicas and leaderships move away, then it is removed. */
  forget(nodeId: string): string | null {
    const node = this.meta.nodes.find((n) => n.id === nodeId);
    if (node === undefined) return `Unknown node ${nodeId}`;
    const remaining = this.meta.nodes.filter((n) => !n.draining && n.id !== nodeId);
    if (remaining.length === 0) return "Can't forget the last node of the cluster";
    if (!this.proposeMeta({ type: 'SetNodeDraining', id: nodeId, draining: true })) return 'No metadata leader right now, try again';
    return null;
  }

  /**
   * Runs each tick on this node: as metadata leader, keeps group 0's membership in line with the nodes
   * (up to 5 voters, the rest learners) and removes drained nodes that hold nothing; as a shard leader,
   * carries out the next placement step of its shard. One membership change per group at a time.
   */
  private reconcileMembership(): void {
    if (this.multi.basicStatus(META_GROUP_ID).softState.role === 'leader') this.reconcileMetaGroup();
    for (const g of this.ledGroups()) this.reconcileShard(g);
  }

  private confChangePending(g: GroupId): boolean {
    const raft = this.multi.rawNode(g).raft;
    return raft.pendingConfIndex > raft.raftLog.applied || this.multi.status(g).config.votersOutgoing.length > 0;
  }

  private reconcileMetaGroup(): void {
    const g = META_GROUP_ID;
    for (const n of this.meta.nodes) {
      if (n.draining && !this.meta.shards.some((s) => holdsReplica(s, n.raftId))) this.proposeMeta({ type: 'RemoveNode', id: n.id });
    }
    if (this.confChangePending(g)) return;
    const config = this.multi.status(g).config;
    const members = new Set([...config.voters, ...config.learners]);
    const wanted = new Set(this.meta.nodes.map((n) => n.raftId));
    const change = (type: ConfChangeType, nodeId: NodeId) => {
      this.o.logger.notice('metadata group membership change', { type: ['voter', 'remove', 'learner'][type], node: nodeId });
      this.multi.proposeConfChange(g, { changes: [{ type, nodeId }], transition: 'auto' });
    };
    for (const id of members) if (!wanted.has(id) && id !== this.raftId) return change(ConfChangeType.RemoveNode, id);
    for (const id of wanted) if (!members.has(id)) return change(ConfChangeType.AddLearner, id);
    const votersWanted = Math.min(META_VOTERS_MAX, wanted.size);
    if (config.voters.length < votersWanted) {
      const progress = this.multi.status(g).progress;
      const committed = this.multi.rawNode(g).raft.raftLog.committed;
      const ready = config.learners.filter((id) => (progress.get(id)?.match ?? 0) >= committed && this.bus.isConnected(id));
      if (ready.length > 0) change(ConfChangeType.AddNode, ready[0]!);
    }
  }

  private reconcileShard(g: GroupId): void {
    if (this.confChangePending(g) || findShard(this.meta, g) === undefined) return;
    const config = this.multi.status(g).config;
    const shards = this.meta.shards.map((s) =>
      s.groupId === g ? { groupId: g, voters: [...config.voters], learners: [...config.learners] } : s,
    );
    const eligible = this.meta.nodes.filter((n) => !n.draining).map((n) => n.raftId);
    const step = planMembership(shards, eligible, this.meta.settings.replicas).find((st) => st.groupId === g);
    if (step === undefined) return;
    const removed = step.kind === 'replace' ? step.remove : step.kind === 'remove' ? step.nodeId : 0;
    if (removed === this.raftId) {
      const to = this.transferTarget(g); // a leader does not remove itself: it hands over first
      if (to !== 0) this.multi.transferLeader(g, to);
      return;
    }
    if ((step.kind === 'promote' || step.kind === 'replace') && !this.caughtUp(g, step.kind === 'promote' ? step.nodeId : step.add)) return;
    this.proposeMembership(g, step);
  }

  private caughtUp(g: GroupId, id: NodeId): boolean {
    const match = this.multi.status(g).progress.get(id)?.match ?? 0;
    return match > 0 && match + 100 >= this.multi.rawNode(g).raft.raftLog.lastIndex();
  }

  private proposeMembership(g: GroupId, step: PlacementStep): void {
    try {
      this.multi.proposeConfChange(g, confChangeOf(step));
      this.o.logger.notice('shard membership change', { group: g, step: step.kind, ...step });
    } catch (err) {
      this.o.logger.verbose('membership change not proposed', { group: g, error: String(err) });
    }
  }

  /** Stops hosting shard groups this node is no longer a member of (after the metadata says so). */
  private dropLeftGroups(): void {
    for (const g of this.multi.groupIds()) {
      if (g === META_GROUP_ID) continue;
      const shard = findShard(this.meta, g);
      if ((shard !== undefined && holdsReplica(shard, this.raftId)) || this.multi.basicStatus(g).softState.role === 'leader') continue;
      this.multi.removeGroup(g);
      this.engines.unregister(g);
      this.snapshotIndex.delete(g);
      void this.disk.destroyGroup(g).catch((err: unknown) => this.o.logger.warning('cannot delete a left group', { group: g, error: String(err) }));
      this.o.logger.notice('left shard group', { group: g });
      this.viewDirty = true;
    }
  }

  // ---- leader balance ----

  /**
   * Every node runs the same deterministic plan (placement.ts) over what it knows, and carries out the
   * transfers away from itself. Only when every shard has a known leader and every node is reachable, so
   * that nodes with the same knowledge agree and nobody moves leaders during a failure.
   */
  private balanceLeaders(): void {
    // Only in a quiet cluster: never against an election, a hand-off (SIGTERM) or a CLUSTER FAILOVER
    // under way, which would move leaders back and forth and send clients from MOVED to MOVED.
    if (this.closed || performance.now() - this.lastLeaderChangeAt < BALANCE_QUIET_MS) return;
    const leaders = new Map<GroupId, NodeId>();
    for (const s of this.meta.shards) {
      const leader = this.multi.hasGroup(s.groupId)
        ? this.multi.basicStatus(s.groupId).softState.lead
        : (this.claims.get(s.groupId)?.leader ?? 0);
      if (leader === 0) return;
      leaders.set(s.groupId, leader);
    }
    const nodes = this.meta.nodes.filter((n) => !n.draining).map((n) => n.raftId);
    if (nodes.some((n) => n !== this.raftId && !this.bus.isConnected(n))) return;
    for (const t of planLeaderTransfers(this.meta.shards, leaders, nodes)) {
      if (t.from === this.raftId && this.multi.hasGroup(t.groupId)) this.multi.transferLeader(t.groupId, t.to);
    }
    this.kick();
  }

  // ---- leaders known from peers ----

  private ledGroups(): GroupId[] {
    if (this.multi === undefined) return [];
    return this.multi.groupIds().filter((g) => g !== META_GROUP_ID && this.multi.basicStatus(g).softState.role === 'leader');
  }

  /** The voter most caught up (other than this node) to hand group `g` to; 0 if none. */
  private transferTarget(g: GroupId): NodeId {
    const status = this.multi.status(g);
    let best: NodeId = 0;
    let bestMatch = -1;
    for (const [id, pr] of status.progress) {
      if (id === this.raftId || pr.isLearner || !this.bus.isConnected(id)) continue;
      if (pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  private scheduleAnnounce(): void {
    if (this.announceScheduled) return;
    this.announceScheduled = true;
    setImmediate(() => {
      this.announceScheduled = false;
      this.announceLeaders();
    });
  }

  private announceLeaders(): void {
    if (this.closed || this.multi === undefined) return;
    const leads = this.ledGroups().map((g) => [g, this.multi.basicStatus(g).hardState.term]);
    const body = encodeRpc(RpcType.Leaders, { leads, replicaPort: this.o.replicaPort });
    for (const n of this.meta.nodes) {
      if (n.raftId !== this.raftId && this.bus.isConnected(n.raftId)) this.bus.request(n.raftId, body).catch(() => {});
    }
  }

  private onLeaders(from: NodeId, leads: [GroupId, Term][]): void {
    const claimed = new Set<GroupId>();
    for (const [g, term] of leads) {
      claimed.add(g);
      if (this.multi.hasGroup(g)) continue; // Raft itself tells us
      const known = this.claims.get(g);
      if (known === undefined || term >= known.term) {
        if (known?.leader !== from) {
          this.viewMayHaveChanged();
          this.lastLeaderChangeAt = performance.now();
        }
        this.claims.set(g, { leader: from, term });
      }
    }
    for (const [g, claim] of this.claims) {
      if (claim.leader === from && !claimed.has(g)) {
        this.claims.delete(g);
        this.viewDirty = true;
      }
    }
  }

  private onRequest(from: NodeId, body: Buffer): Uint8Array | Promise<Uint8Array> {
    const { type, body: payload } = decodeRpc(body);
    const p = payload as Record<string, unknown>;
    switch (type) {
      case RpcType.WhoAmI:
        return encodeJson({ id: this.o.myId });
      case RpcType.Leaders:
        this.onLeaders(from, (p.leads as [GroupId, Term][]) ?? []);
        if (Number.isInteger(p.replicaPort) && this.replicaPorts.get(from) !== p.replicaPort) {
          this.replicaPorts.set(from, p.replicaPort as number);
          this.viewDirty = true;
        }
        return encodeJson({});
      case RpcType.Publish:
        this.o.onPublish(p.kind === 'shard' ? 'shard' : 'channel', String(p.channel), String(p.message));
        return encodeJson({});
      case RpcType.Join:
        return this.admit(payload as JoinRequest).then(encodeJson);
      default:
        throw new Error(`unknown cluster request ${type}`);
    }
  }

  // ---- the view ----

  private buildView(): ClusterView {
    const shards = new Map<GroupId, ShardStatus>();
    for (const s of this.meta.shards) {
      if (this.multi.hasGroup(s.groupId)) {
        const status = this.multi.basicStatus(s.groupId);
        // A leader this node has no link to is likely dead: no MOVED to it, commands wait for the election.
        const raftLead = status.softState.lead;
        const lead = raftLead !== this.raftId && !this.bus.isConnected(raftLead) ? 0 : raftLead;
        const followers = new Map<NodeId, { offset: number; caughtUp: boolean }>();
        // A replica this node cannot reach is not offered to clients (scaleReads, READONLY).
        for (const v of [...s.voters, ...s.learners]) {
          if (v !== lead && v !== this.raftId && !this.bus.isConnected(v)) followers.set(v, { offset: 0, caughtUp: false });
        }
        shards.set(s.groupId, { leader: lead === 0 ? null : lead, followers });
      } else {
        const claim = this.claims.get(s.groupId);
        const up = claim !== undefined && (claim.leader === this.raftId || this.bus.isConnected(claim.leader));
        shards.set(s.groupId, { leader: up ? claim.leader : null });
      }
    }
    const peers = new Map<string, PeerStatus>([[this.o.myId, { replicaPort: this.o.replicaPort }]]);
    for (const n of this.meta.nodes) {
      if (n.raftId === this.raftId) continue;
      const up = this.bus.isConnected(n.raftId);
      const replicaPort = this.replicaPorts.get(n.raftId) ?? 0;
      peers.set(n.id, { linkState: up ? 'connected' : 'disconnected', replicaPort, ...(up ? {} : { flags: ['fail?'] }) });
    }
    if (this.meta.nodes.every((n) => n.id !== this.o.myId)) {
      // Not (yet) in the metadata: a view of this node alone, with no slots.
      return buildClusterView({
        meta: applyMeta(emptyMetaState(), { type: 'AddNode', id: this.o.myId, ip: this.o.ip, port: this.o.port, busPort: this.o.busPort, hostname: '' }).state,
        myId: this.o.myId,
        shards: new Map(),
      });
    }
    return buildClusterView({
      meta: this.meta,
      myId: this.o.myId,
      shards,
      peers,
      messagesSent: this.bus.stats.raftFramesSent,
      messagesReceived: this.bus.stats.raftFramesReceived,
    });
  }

  // ---- snapshots and compaction ----

  private snapshotting = false;
  /** Groups to snapshot at the next check whatever their log length (their membership changed). */
  private readonly forcedSnapshots = new Set<GroupId>();

  private async maybeSnapshot(): Promise<void> {
    if (this.snapshotting || this.closed) return;
    this.snapshotting = true;
    try {
      const forced = new Set(this.forcedSnapshots);
      this.forcedSnapshots.clear();
      if (this.metaApplied - this.metaSnapshotIndex >= META_SNAPSHOT_ENTRIES || (forced.has(META_GROUP_ID) && this.metaApplied > this.metaSnapshotIndex)) {
        const index = this.metaApplied;
        const raft = this.multi.rawNode(META_GROUP_ID).raft;
        const snap: Snapshot = {
          metadata: { index, term: raft.raftLog.term(index), confState: this.multi.status(META_GROUP_ID).config },
          data: encodeMetaState(this.meta),
        };
        await this.disk.write([{ groupId: META_GROUP_ID, snapshotTaken: snap, compactTo: Math.max(0, index - this.o.logTail) }]);
        this.metaSnapshotIndex = index;
        await this.disk.pruneSnapshots(META_GROUP_ID);
      }
      for (const g of this.multi.groupIds()) {
        const engine = this.engines.engine(g);
        if (engine === undefined) continue;
        const behind = engine.appliedIndex - (this.snapshotIndex.get(g) ?? 0);
        if (behind < this.o.snapshotEntries && !(forced.has(g) && behind > 0)) continue;
        const snap = engine.createSnapshot();
        await this.disk.write([{ groupId: g, snapshotTaken: snap, compactTo: Math.max(0, snap.metadata.index - this.o.logTail) }]);
        this.snapshotIndex.set(g, snap.metadata.index);
        await this.disk.pruneSnapshots(g);
      }
    } catch (err) {
      this.o.logger.warning('snapshot failed', { error: String(err) });
    } finally {
      this.snapshotting = false;
    }
  }
}
