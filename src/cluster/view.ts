// The cluster as one node sees it: an immutable value built from plain data (the applied metadata plus
// what the node knows of each shard's leader). CLUSTER SLOTS/SHARDS/NODES/INFO and the routing
// decisions (MOVED, ASK) all read the same view, which the server swaps atomically when it changes.
//
// Multi-Raft mapping onto Redis Cluster's vocabulary: a shard is a Raft group owning slot ranges. A
// node is shown as `master` of the slots of the shards it leads; a node that leads nothing but follows
// some shard is shown as a `slave` of that shard's leader; a node in no shard is a master without slots.

import { assert } from '../assert.js';
import { MapReply, type Reply } from '../resp/reply.js';
import { SLOT_COUNT, isSlotNumber } from './slot.js';

/** Failure and state flags of a node as CLUSTER NODES prints them (myself/master/slave are derived). */
export type NodeStateFlag = 'fail?' | 'fail' | 'handshake' | 'noaddr' | 'nofailover';
const STATE_FLAG_ORDER: readonly NodeStateFlag[] = ['fail?', 'fail', 'handshake', 'noaddr', 'nofailover'];

export interface ClusterNode {
  /** 40 lower-case hex characters, stable for the node's life. */
  readonly id: string;
  /** Address clients reach the node at ('' while unknown, as Redis before MEET). */
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
  /** Announced hostname, '' when none. */
  readonly hostname: string;
  readonly flags: readonly NodeStateFlag[];
  readonly configEpoch: number;
  readonly linkState: 'connected' | 'disconnected';
  /** Unix ms of a pending ping (0 when none) and of the last pong received (CLUSTER NODES fields 5, 6). */
  readonly pingSentMs: number;
  readonly pongRecvMs: number;
  /**
   * A port whose connections start in READONLY mode, shown for this node's replica entries in CLUSTER
   * SLOTS (0: none, the client port is shown). Clients such as ioredis send READONLY only to nodes that
   * are never masters; a slotraft node leads some shards and follows others, so it offers both faces.
   */
  readonly replicaPort: number;
}

/** Node data as given to the view; omitted fields take their usual values. */
export type ClusterNodeInput = Pick<ClusterNode, 'id' | 'ip' | 'port' | 'busPort'> & Partial<ClusterNode>;

/** An inclusive slot range. */
export interface SlotRange {
  readonly start: number;
  readonly end: number;
}

export interface ShardReplica {
  readonly nodeId: string;
  /** A caught-up follower is listed in CLUSTER SLOTS; one still catching up is not. */
  readonly caughtUp: boolean;
  /** Applied index, shown as `replication-offset` by CLUSTER SHARDS. */
  readonly replicationOffset?: number;
}

export interface ClusterShard {
  /** 40 hex characters (CLUSTER MYSHARDID). */
  readonly id: string;
  readonly slots: readonly SlotRange[];
  /** Node id of the current leader, or null while none is known. */
  readonly leaderId: string | null;
  readonly leaderReplicationOffset?: number;
  /** The other members of the shard's group. */
  readonly replicas: readonly ShardReplica[];
}

/** An open slot migration between two shards (modelled; opened by the metadata group). */
export interface SlotMigration {
  readonly slot: number;
  readonly fromShardId: string;
  readonly toShardId: string;
}

export interface ClusterViewData {
  /** This node's id; it must be one of `nodes`. */
  readonly myId: string;
  readonly nodes: readonly ClusterNodeInput[];
  readonly shards: readonly ClusterShard[];
  readonly migrations?: readonly SlotMigration[];
  /** The metadata's config epoch (cluster_current_epoch). */
  readonly currentEpoch?: number;
  /** Bus message counters for CLUSTER INFO. */
  readonly messagesSent?: number;
  readonly messagesReceived?: number;
}

const NO_SHARD = -1;

export class ClusterView {
  readonly myId: string;
  readonly nodes: readonly ClusterNode[];
  readonly shards: readonly ClusterShard[];
  readonly migrations: readonly SlotMigration[];
  readonly currentEpoch: number;
  readonly messagesSent: number;
  readonly messagesReceived: number;

  private readonly nodeById = new Map<string, ClusterNode>();
  private readonly shardById = new Map<string, ClusterShard>();
  /** slot -> index in `shards`, or NO_SHARD. */
  private readonly slotShard = new Int32Array(SLOT_COUNT).fill(NO_SHARD);
  private readonly migratingTo = new Map<number, string>();
  private readonly importingFrom = new Map<number, string>();
  /** Shards whose leader is known and not flagged failed: they can serve (routing's hot path). */
  private readonly servingShards = new Set<ClusterShard>();
  /** Renderings are memoized: the view never changes and clients re-read CLUSTER SLOTS on every MOVED. */
  private memo: { slots?: Reply; shards?: Reply; nodes?: string; info?: string; ok?: boolean } = {};

  constructor(data: ClusterViewData) {
    this.myId = data.myId;
    this.nodes = data.nodes.map(normalizeNode);
    this.shards = data.shards;
    this.migrations = data.migrations ?? [];
    this.currentEpoch = data.currentEpoch ?? Math.max(0, ...this.nodes.map((n) => n.configEpoch));
    this.messagesSent = data.messagesSent ?? 0;
    this.messagesReceived = data.messagesReceived ?? 0;

    for (const node of this.nodes) {
      assert(/^[0-9a-f]{40}$/.test(node.id), `node id must be 40 hex characters: ${node.id}`);
      assert(!this.nodeById.has(node.id), `node ${node.id} listed twice`);
      this.nodeById.set(node.id, node);
    }
    assert(this.nodeById.has(this.myId), 'the view must contain this node');
    this.shards.forEach((shard, index) => {
      assert(!this.shardById.has(shard.id), `shard ${shard.id} listed twice`);
      this.shardById.set(shard.id, shard);
      assert(shard.leaderId === null || this.nodeById.has(shard.leaderId), `unknown leader ${shard.leaderId}`);
      for (const replica of shard.replicas) {
        assert(this.nodeById.has(replica.nodeId), `unknown replica ${replica.nodeId}`);
        assert(replica.nodeId !== shard.leaderId, 'a leader is not its own replica');
      }
      if (shard.leaderId !== null && !this.nodeById.get(shard.leaderId)!.flags.includes('fail')) {
        this.servingShards.add(shard);
      }
      for (const range of shard.slots) {
        assert(isSlotNumber(range.start) && isSlotNumber(range.end) && range.start <= range.end, 'bad slot range');
        for (let slot = range.start; slot <= range.end; slot++) {
          assert(this.slotShard[slot] === NO_SHARD, `slot ${slot} assigned twice`);
          this.slotShard[slot] = index;
        }
      }
    });
    for (const m of this.migrations) {
      assert(this.shardById.has(m.fromShardId) && this.shardById.has(m.toShardId), 'migration between unknown shards');
      this.migratingTo.set(m.slot, m.toShardId);
      this.importingFrom.set(m.slot, m.fromShardId);
    }
  }

  get me(): ClusterNode {
    return this.nodeById.get(this.myId)!;
  }

  node(id: string): ClusterNode | undefined {
    return this.nodeById.get(id);
  }

  shard(id: string): ClusterShard | undefined {
    return this.shardById.get(id);
  }

  /** The shard that owns a slot, or undefined when the slot is unassigned. */
  shardOfSlot(slot: number): ClusterShard | undefined {
    const index = this.slotShard[slot]!;
    return index === NO_SHARD ? undefined : this.shards[index];
  }

  /** Target shard of a slot the owning shard is migrating away, if any. */
  migratingTarget(slot: number): ClusterShard | undefined {
    const id = this.migratingTo.get(slot);
    return id === undefined ? undefined : this.shardById.get(id);
  }

  /** Source shard of a slot being imported, if any. */
  importingSource(slot: number): ClusterShard | undefined {
    const id = this.importingFrom.get(slot);
    return id === undefined ? undefined : this.shardById.get(id);
  }

  /** `ip:port` as MOVED and ASK print it. */
  address(nodeId: string): string {
    const node = this.nodeById.get(nodeId);
    assert(node !== undefined, `unknown node ${nodeId}`);
    return `${node.ip}:${node.port}`;
  }

  /** The shards whose leader is this node. */
  ledShards(): ClusterShard[] {
    return this.shards.filter((s) => s.leaderId === this.myId);
  }

  /** The shard this node belongs to, preferring one it leads (CLUSTER MYSHARDID); undefined if none. */
  myShard(): ClusterShard | undefined {
    return (
      this.shards.find((s) => s.leaderId === this.myId) ??
      this.shards.find((s) => s.replicas.some((r) => r.nodeId === this.myId))
    );
  }

  /** The shard has a known leader that is not flagged failed. */
  isServing(shard: ClusterShard): boolean {
    return this.servingShards.has(shard);
  }

  /** Health of a slot: served (leader known and not failing), pfail, or fail (no leader or failed). */
  slotHealth(slot: number): 'unassigned' | 'ok' | 'pfail' | 'fail' {
    const shard = this.shardOfSlot(slot);
    if (shard === undefined) return 'unassigned';
    if (!this.servingShards.has(shard)) return 'fail';
    return this.nodeById.get(shard.leaderId!)!.flags.includes('fail?') ? 'pfail' : 'ok';
  }

  /** cluster_state:ok iff every slot belongs to a shard whose leader is known and not failed. */
  get isOk(): boolean {
    return (this.memo.ok ??= this.computeOk());
  }

  private computeOk(): boolean {
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const health = this.slotHealth(slot);
      if (health !== 'ok' && health !== 'pfail') return false;
    }
    return true;
  }

  /** CLUSTER SLOTS: one entry per contiguous run of slots of one shard, leader then caught-up followers. */
  clusterSlots(): Reply {
    return (this.memo.slots ??= this.renderSlots());
  }

  /** CLUSTER SHARDS: one map per shard (slots as flat start/end pairs, nodes as maps). */
  clusterShards(): Reply {
    return (this.memo.shards ??= this.renderShards());
  }

  /** CLUSTER NODES text: one `\n`-terminated line per node. */
  clusterNodes(): string {
    return (this.memo.nodes ??= this.nodes.map((n) => this.nodeLine(n) + '\n').join(''));
  }

  /** CLUSTER INFO text: `field:value` lines ending in CRLF. */
  clusterInfo(): string {
    return (this.memo.info ??= this.renderInfo());
  }

  /** One CLUSTER NODES line without its newline (also CLUSTER REPLICAS). */
  nodeLine(node: ClusterNode): string {
    const role = this.roleOf(node.id);
    const flags: string[] = [];
    if (node.id === this.myId) flags.push('myself');
    flags.push(role.master ? 'master' : 'slave');
    for (const flag of STATE_FLAG_ORDER) if (node.flags.includes(flag)) flags.push(flag);
    const epoch = role.master ? node.configEpoch : this.nodeById.get(role.masterId)!.configEpoch;
    const hostname = node.hostname === '' ? '' : `,${node.hostname}`;
    const link = node.id === this.myId ? 'connected' : node.linkState;
    let line =
      `${node.id} ${node.ip}:${node.port}@${node.busPort}${hostname} ${flags.join(',')} ` +
      `${role.master ? '-' : role.masterId} ${node.pingSentMs} ${node.pongRecvMs} ${epoch} ${link}`;
    if (role.master) {
      for (const range of this.slotRangesLedBy(node.id)) line += ' ' + formatRange(range);
    }
    if (node.id === this.myId) line += this.migrationMarkers();
    return line;
  }

  /** master: leads a shard, or is in no shard at all; otherwise a slave of a shard's leader. */
  roleOf(nodeId: string): { master: true } | { master: false; masterId: string } {
    if (this.shards.some((s) => s.leaderId === nodeId)) return { master: true };
    const followed = this.shards.find((s) => s.leaderId !== null && s.replicas.some((r) => r.nodeId === nodeId));
    return followed ? { master: false, masterId: followed.leaderId! } : { master: true };
  }

  /** Slots of every shard a node leads, as maximal contiguous ranges (what Redis prints per master). */
  private slotRangesLedBy(nodeId: string): SlotRange[] {
    const ranges: SlotRange[] = [];
    let start = -1;
    for (let slot = 0; slot <= SLOT_COUNT; slot++) {
      const shard = slot < SLOT_COUNT ? this.shardOfSlot(slot) : undefined;
      const led = shard !== undefined && shard.leaderId === nodeId;
      if (led && start === -1) start = slot;
      if (!led && start !== -1) {
        ranges.push({ start, end: slot - 1 });
        start = -1;
      }
    }
    return ranges;
  }

  /** `[slot->-<dst>]` / `[slot-<-<src>]` for migrations touching shards this node leads. */
  private migrationMarkers(): string {
    let out = '';
    for (const m of [...this.migrations].sort((a, b) => a.slot - b.slot)) {
      const from = this.shardById.get(m.fromShardId)!;
      const to = this.shardById.get(m.toShardId)!;
      if (from.leaderId === this.myId && to.leaderId !== null) out += ` [${m.slot}->-${to.leaderId}]`;
      if (to.leaderId === this.myId && from.leaderId !== null) out += ` [${m.slot}-<-${from.leaderId}]`;
    }
    return out;
  }

  private renderSlots(): Reply {
    const entries: Reply[] = [];
    let slot = 0;
    while (slot < SLOT_COUNT) {
      const index = this.slotShard[slot]!;
      let end = slot;
      while (end + 1 < SLOT_COUNT && this.slotShard[end + 1] === index) end++;
      const shard = index === NO_SHARD ? undefined : this.shards[index]!;
      // Redis lists a range only when it has a master; a leaderless shard's range is left out.
      if (shard !== undefined && shard.leaderId !== null) {
        const entry: Reply[] = [slot, end, this.slotsNodeEntry(shard.leaderId)];
        for (const replica of shard.replicas) {
          const node = this.nodeById.get(replica.nodeId)!;
          if (replica.caughtUp && !node.flags.includes('fail')) entry.push(this.slotsNodeEntry(replica.nodeId, true));
        }
        entries.push(entry);
      }
      slot = end + 1;
    }
    return entries;
  }

  /** `[ip, port, id, metadata]`; metadata carries the hostname when one is announced. */
  private slotsNodeEntry(nodeId: string, asReplica = false): Reply {
    const node = this.nodeById.get(nodeId)!;
    const metadata = node.hostname === '' ? [] : ['hostname', node.hostname];
    const port = asReplica && node.replicaPort > 0 ? node.replicaPort : node.port;
    return [node.ip, port, node.id, new MapReply(metadata)];
  }

  private renderShards(): Reply {
    return this.shards.map((shard) => {
      const slots: Reply[] = [];
      for (const range of mergeRanges(shard.slots)) slots.push(range.start, range.end);
      const nodes: Reply[] = [];
      if (shard.leaderId !== null) {
        nodes.push(this.shardNodeMap(shard.leaderId, 'master', shard.leaderReplicationOffset ?? 0, true));
      }
      for (const r of shard.replicas) {
        nodes.push(this.shardNodeMap(r.nodeId, 'replica', r.replicationOffset ?? 0, r.caughtUp));
      }
      return new MapReply(['slots', slots, 'nodes', nodes]);
    });
  }

  private shardNodeMap(nodeId: string, role: 'master' | 'replica', offset: number, caughtUp: boolean): Reply {
    const node = this.nodeById.get(nodeId)!;
    const health = node.flags.includes('fail') ? 'fail' : caughtUp ? 'online' : 'loading';
    const fields: Reply[] = ['id', node.id, 'port', node.port, 'ip', node.ip, 'endpoint', node.ip];
    if (node.hostname !== '') fields.push('hostname', node.hostname);
    fields.push('role', role, 'replication-offset', offset, 'health', health);
    return new MapReply(fields);
  }

  private renderInfo(): string {
    let assigned = 0;
    let ok = 0;
    let pfail = 0;
    let fail = 0;
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      const health = this.slotHealth(slot);
      if (health === 'unassigned') continue;
      assigned++;
      if (health === 'ok') ok++;
      else if (health === 'pfail') pfail++;
      else fail++;
    }
    const state = this.isOk ? 'ok' : 'fail';
    const leadersWithSlots = new Set<string>();
    for (const shard of this.shards) {
      if (shard.leaderId !== null && shard.slots.length > 0) leadersWithSlots.add(shard.leaderId);
    }
    const role = this.roleOf(this.myId);
    const myEpoch = (role.master ? this.me : this.nodeById.get(role.masterId)!).configEpoch;
    const fields: [string, number | string][] = [
      ['cluster_state', state],
      ['cluster_slots_assigned', assigned],
      ['cluster_slots_ok', ok],
      ['cluster_slots_pfail', pfail],
      ['cluster_slots_fail', fail],
      ['cluster_known_nodes', this.nodes.length],
      ['cluster_size', leadersWithSlots.size],
      ['cluster_current_epoch', this.currentEpoch],
      ['cluster_my_epoch', myEpoch],
      ['cluster_stats_messages_sent', this.messagesSent],
      ['cluster_stats_messages_received', this.messagesReceived],
      ['total_cluster_links_buffer_limit_exceeded', 0],
    ];
    return fields.map(([k, v]) => `${k}:${v}\r\n`).join('');
  }
}

function normalizeNode(input: ClusterNodeInput): ClusterNode {
  return {
    id: input.id,
    ip: input.ip,
    port: input.port,
    busPort: input.busPort,
    hostname: input.hostname ?? '',
    flags: input.flags ?? [],
    configEpoch: input.configEpoch ?? 0,
    linkState: input.linkState ?? 'connected',
    pingSentMs: input.pingSentMs ?? 0,
    pongRecvMs: input.pongRecvMs ?? 0,
    replicaPort: input.replicaPort ?? 0,
  };
}

/** `3300` for a single slot, `0-5460` for a range. */
export function formatRange(range: SlotRange): string {
  return range.start === range.end ? String(range.start) : `${range.start}-${range.end}`;
}

/** Sorted, with adjacent and overlapping ranges joined. */
export function mergeRanges(ranges: readonly SlotRange[]): SlotRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const out: SlotRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && r.start <= last.end + 1) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push(r);
  }
  return out;
}

/**
 * The one-node cluster: one shard holding all 16384 slots, led by this node. The shard id is derived
 * from the node id so that it is stable across restarts without extra state.
 */
export function oneNodeView(myId: string, ip: string, port: number, busPort: number, configEpoch = 0): ClusterView {
  return new ClusterView({
    myId,
    nodes: [{ id: myId, ip, port, busPort, configEpoch }],
    shards: [{ id: myId, slots: [{ start: 0, end: SLOT_COUNT - 1 }], leaderId: myId, replicas: [] }],
    currentEpoch: configEpoch,
  });
}
