// What server commands (connection, server, cluster, keyless keyspace commands) see of the server.
// The server layer (src/server) implements these interfaces; src/commands only uses them.
// Additive changes are fine; keep one definition here.

import type { Keyspace } from '../store/keyspace.js';
import type { ClusterView } from '../cluster/view.js';
import type { CommandSpec } from './types.js';
import type { Reply } from '../resp/reply.js';

/** Per-connection state. */
export interface Session {
  readonly id: number;
  /** Protocol chosen by HELLO (2 until HELLO 3). */
  resp: 2 | 3;
  /** CLIENT SETNAME / HELLO SETNAME; '' when unset. */
  name: string;
  /** CLIENT SETINFO LIB-NAME / LIB-VER; '' when unset. */
  libName: string;
  libVer: string;
  authenticated: boolean;
  /** READONLY mode: reads of slots this node replicates are served here (possibly stale). */
  readonlyMode: boolean;
  /** ASKING: valid for the next command only; dispatch clears it after that command. */
  asking: boolean;
  /** "ip:port" of the peer, and of our side. */
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly createdAtMs: number;
  lastInteractionMs: number;
  /** Name of the last command run (CLIENT LIST cmd=). */
  lastCommand: string;
  /** Bytes waiting in the query buffer and in the output buffer (CLIENT LIST qbuf/omem). */
  queryBufferBytes(): number;
  outputBufferBytes(): number;
  /** Number of channels / patterns / shard channels subscribed (CLIENT LIST sub/psub/ssub). */
  subscriptionCount(): number;
  patternCount(): number;
  /** Whether a MULTI is open (CLIENT LIST flags=x, multi=). */
  inMulti(): boolean;
  /** Close after the reply to the current command has been written (QUIT, CLIENT KILL of itself). */
  closeAfterReply(): void;
  /** Close now (CLIENT KILL of another client). */
  kill(): void;
  /** Reset to a fresh connection's state (RESET): protocol 2, no name, not authenticated if a password is set... */
  reset(): void;
}

/** A configuration directive store: Redis's names, string values as CONFIG GET shows them. */
export interface ConfigStore {
  /** Pairs [name, value] of every directive matching the glob patterns (CONFIG GET). */
  get(patterns: readonly string[]): [string, string][];
  /** Applies CONFIG SET name value...; returns null or the exact Redis error text. Atomic over all pairs. */
  set(pairs: readonly [string, string][]): string | null;
  /** The current value of one directive, or undefined if unknown. */
  value(name: string): string | undefined;
}

export interface ServerStats {
  readonly startedAtMs: number;
  readonly totalConnectionsReceived: number;
  readonly totalCommandsProcessed: number;
  readonly rejectedConnections: number;
  readonly expiredKeys: number;
  readonly evictedKeys: number;
  readonly keyspaceHits: number;
  readonly keyspaceMisses: number;
  readonly totalNetInputBytes: number;
  readonly totalNetOutputBytes: number;
  /** Error replies sent, in total and per error code (first word: ERR, WRONGTYPE...; INFO errorstats). */
  readonly totalErrorReplies: number;
  readonly errorReplies: ReadonlyMap<string, number>;
  /** Per command name: calls, microseconds spent, rejected, failed (INFO commandstats). */
  readonly commands: ReadonlyMap<string, { calls: number; usec: number; rejected: number; failed: number }>;
  /** CONFIG RESETSTAT. */
  reset(): void;
}

export interface ServerApi {
  readonly config: ConfigStore;
  readonly stats: ServerStats;
  /** Every open client connection. */
  clients(): Iterable<Session>;
  /** The node's current cluster view (immutable; swapped atomically when it changes). */
  cluster(): ClusterView;
  /** Keyspaces of the shards this node serves reads for (one on a one-node cluster). */
  keyspaces(): readonly Keyspace[];
  /** The command table (COMMAND, COMMAND INFO/DOCS/COUNT/LIST/GETKEYS). */
  commands(): ReadonlyMap<string, CommandSpec>;
  /** FLUSHALL / FLUSHDB: empties every local shard through its write path. */
  flushAll(): Reply | Promise<Reply>;
  /** Process facts for INFO server/memory: pid, tcp port, config file, executable, rss. */
  readonly process: {
    pid: number;
    tcpPort: number;
    configFile: string;
    executable: string;
    runId: string;
    /** INFO `os` (e.g. `Linux 6.1.0 x86_64`) and `arch_bits`. */
    os?: string;
    archBits?: number;
  };
  /** Process memory and CPU figures for INFO memory/cpu (measured by the composition root). */
  resources?(): { rssBytes: number; peakRssBytes?: number; cpuUserSeconds: number; cpuSysSeconds: number };
  /** True while the node is loading or catching up its data (INFO `loading:1`). */
  loading?(): boolean;
  /** Timestamp source of the composition root (ms since epoch). */
  nowMs(): number;
  /** Cluster mode: this node's Raft id (0 or absent otherwise). */
  raftId?(): number;
  /** CLUSTER FORGET: the node leaves the cluster (its replicas move away first). */
  forget?(nodeId: string): Reply;
  /** CLUSTER FAILOVER (cluster mode: lead every shard this node follows). */
  failover?(): Reply;
  /** Starts a graceful shutdown (SHUTDOWN). */
  shutdown(): void;
}

/** MULTI/EXEC/WATCH of one connection (src/server/transactions.ts). */
export interface TransactionApi {
  multi(): Reply;
  exec(): Reply | Promise<Reply>;
  discard(): Reply;
  watch(keys: readonly string[]): Reply;
  unwatch(): Reply;
}

/** Channels (SUBSCRIBE), patterns (PSUBSCRIBE) and shard channels (SSUBSCRIBE). */
export type PubSubKind = 'channel' | 'pattern' | 'shard';

/** Pub/Sub of one connection and of the node (src/server/pubsub.ts). */
export interface PubSubApi {
  /** Subscribes; the reply holds one confirmation per name, in order. */
  subscribe(kind: PubSubKind, names: readonly string[]): Reply;
  /** Unsubscribes from `names`, or from every subscription of the kind when `names` is empty. */
  unsubscribe(kind: PubSubKind, names: readonly string[]): Reply;
  /** Delivers a message to the node's subscribers; returns how many clients received it. */
  publish(kind: 'channel' | 'shard', channel: string, message: string): number;
  /** Channels with at least one subscriber, matching `pattern` (null: all). */
  channels(kind: 'channel' | 'shard', pattern: string | null): string[];
  /** Subscribers of a channel. */
  subscriberCount(kind: 'channel' | 'shard', channel: string): number;
  /** Distinct patterns subscribed on the node. */
  patternCount(): number;
}

/** Clients parked by blocking commands (src/server/blocking.ts). */
export interface BlockingApi {
  /** INFO blocked_clients. */
  blockedClients(): number;
  /** CLIENT UNBLOCK id [TIMEOUT|ERROR]: false if that client is not blocked. */
  unblock(clientId: number, withError: boolean): boolean;
}

export interface ServerContext {
  readonly session: Session;
  readonly server: ServerApi;
  /** Absent only in contexts built without a connection (tests of other command families). */
  readonly transactions?: TransactionApi;
  readonly pubsub?: PubSubApi;
  readonly blocking?: BlockingApi;
}
