// Builds the immutable ClusterView a node serves from: its applied metadata, plus what it knows right now
// of each shard's leader and of its followers' progress, plus its own link bookkeeping. Pure: the server
// calls it whenever one of those inputs changes and swaps the result in.
//
// Mapping: a shard's voters other than the leader are its replicas; learners are shown too, but never as
// caught up (so CLUSTER SLOTS leaves them out and CLUSTER SHARDS shows them `loading`). Every node shows the
// metadata's config epoch, which is also cluster_current_epoch.

import type { GroupId, NodeId } from '../raft/types.js';
import { nodeByRaftId, slotRangesByShard, type MetaState } from './meta.js';
import {
  ClusterView,
  type ClusterNodeInput,
  type ClusterShard,
  type NodeStateFlag,
  type ShardReplica,
  type SlotMigration,
} from './view.js';

/** What this node currently knows of one shard's group. */
export interface ShardStatus {
  /** Raft id of the current leader, or null while none is known. */
  readonly leader: NodeId | null;
  /** The leader's applied index (replication-offset), when known. */
  readonly leaderOffset?: number;
  /**
   * Followers' progress, known on the leader. A voter missing from this map counts as caught up (a
   * follower does not track the others; voters are normally current).
   */
  readonly followers?: ReadonlyMap<NodeId, { readonly offset: number; readonly caughtUp: boolean }>;
}

/** Liveness and link data this node keeps about a peer (CLUSTER NODES fields). */
export interface PeerStatus {
  readonly flags?: readonly NodeStateFlag[];
  /** The node's READONLY port (CLUSTER SLOTS replica entries), when it offers one. */
  readonly replicaPort?: number;
  readonly linkState?: 'connected' | 'disconnected';
  readonly pingSentMs?: number;
  readonly pongRecvMs?: number;
}

export interface ViewInput {
  readonly meta: MetaState;
  /** This node's 40-hex id; it must be one of the metadata's nodes. */
  readonly myId: string;
  readonly shards: ReadonlyMap<GroupId, ShardStatus>;
  /** By 40-hex node id. */
  readonly peers?: ReadonlyMap<string, PeerStatus>;
  readonly messagesSent?: number;
  readonly messagesReceived?: number;
}

export function buildClusterView(input: ViewInput): ClusterView {
  const { meta } = input;
  const idOf = (raftId: NodeId): string | undefined => nodeByRaftId(meta, raftId)?.id;

  const nodes: ClusterNodeInput[] = meta.nodes.map((n) => {
    const node: ClusterNodeInput = {
      id: n.id,
      ip: n.ip,
      port: n.port,
      busPort: n.busPort,
      configEpoch: meta.configEpoch,
      ...(n.hostname === '' ? {} : { hostname: n.hostname }),
    };
    const peer = input.peers?.get(n.id);
    return peer === undefined ? node : { ...node, ...definedOnly(peer) };
  });

  const slotRanges = slotRangesByShard(meta);
  const shards: ClusterShard[] = meta.shards.map((s) => {
    const status = input.shards.get(s.groupId);
    // A leader the metadata does not know yet (it lags behind the group) is shown as no leader.
    const leaderRaftId = status?.leader != null && idOf(status.leader) !== undefined ? status.leader : null;
    const replicas: ShardReplica[] = [];
    for (const voter of s.voters) {
      if (voter === leaderRaftId) continue;
      const progress = status?.followers?.get(voter);
      replicas.push({
        nodeId: idOf(voter)!,
        caughtUp: progress?.caughtUp ?? true,
        ...(progress === undefined ? {} : { replicationOffset: progress.offset }),
      });
    }
    for (const learner of s.learners) {
      if (learner === leaderRaftId) continue;
      const progress = status?.followers?.get(learner);
      replicas.push({
        nodeId: idOf(learner)!,
        caughtUp: false,
        ...(progress === undefined ? {} : { replicationOffset: progress.offset }),
      });
    }
    return {
      id: s.id,
      slots: slotRanges.get(s.groupId)!,
      leaderId: leaderRaftId === null ? null : idOf(leaderRaftId)!,
      ...(status?.leaderOffset === undefined ? {} : { leaderReplicationOffset: status.leaderOffset }),
      replicas,
    };
  });

  const shardIdOf = new Map(meta.shards.map((s) => [s.groupId, s.id]));
  const migrations: SlotMigration[] = meta.migrations.map((m) => ({
    slot: m.slot,
    fromShardId: shardIdOf.get(m.fromGroupId)!,
    toShardId: shardIdOf.get(m.toGroupId)!,
  }));

  return new ClusterView({
    myId: input.myId,
    nodes,
    shards,
    migrations,
    currentEpoch: meta.configEpoch,
    messagesSent: input.messagesSent ?? 0,
    messagesReceived: input.messagesReceived ?? 0,
  });
}

/** The fields of `o` that are set (an explicit undefined would override the view's defaults). */
function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
