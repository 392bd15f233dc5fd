// The composition root of one node: sockets, timers, the clock, and the wiring of the keyspace,
// engines, command table, dispatch and cluster view. Two modes:
// - alone (`slotraft server`): a one-node cluster, one shard holding all 16384 slots, run in memory by
//   a LocalEngine, as Redis with persistence off;
// - cluster mode (`cluster-init`): a ClusterRuntime hosts the metadata group and this node's shard
//   groups; data commands run on the RaftEngine of the shard their slot belongs to.

import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ServerApi, Session } from '../commands/server-context.js';
import { OK, type Reply } from '../resp/reply.js';
import type { CommandSpec } from '../commands/types.js';
import { buildCommandTable } from '../commands/table.js';
import { oneNodeView, type ClusterView } from '../cluster/view.js';
import { Keyspace, trackingForPolicy, type EvictionPolicy } from '../store/keyspace.js';
import * as errors from '../resp/errors.js';
import type { Config, OutputBufferLimit } from './config.js';
import { Connection, type ConnectionHost } from './connection.js';
import { Dispatcher, type DispatchHost } from './dispatch.js';
import { LocalEngine, type ShardEngine } from './engine.js';
import type { Logger, LogLevel } from './logger.js';
import { Stats } from './stats.js';
import { ClusterRuntime, parseAddress, parseInitList } from './cluster-runtime.js';
import { EngineWriteError, NotLeaderError, type RaftEngine } from './raft-engine.js';
import { ErrorReply } from '../resp/reply.js';
import type { FsyncPolicy } from '../raft/storage/disk-log.js';
import { keySlot } from '../cluster/slot.js';
import { moved } from '../resp/errors.js';

/** Active expiry: keys per call to the keyspace, and share of a cron tick it may use (Redis: 25%). */
const EXPIRE_KEYS_PER_CALL = 20;
const EXPIRE_TIME_SHARE = 0.25;
const EXPIRE_CALLS_PER_TICK_MAX = 1000;
/** Eviction: keys per round, and rounds per reclaim (bounded work before a command). */
const EVICT_KEYS_PER_ROUND = 16;
const EVICT_ROUNDS_MAX = 64;
/** A client blocked on a shard that lost its leader waits this long, a few times, for the new leader. */
const BLOCKED_REDIRECT_WAIT_MS = 250;
const BLOCKED_REDIRECT_WAITS = 8;
/** Default cluster bus port offset, as Redis. */
const BUS_PORT_OFFSET = 10000;

export interface ServerOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** 40 hex characters, stable across restarts (kept in dir/node-id by main.ts). */
  readonly nodeId: string;
  /** Wall clock in ms since epoch (tests may pass their own). */
  readonly clock?: () => number;
  /** The command table; default buildCommandTable() (tests add their own commands). */
  readonly commands?: Map<string, CommandSpec>;
}

export class SlotraftServer implements ServerApi, DispatchHost, ConnectionHost {
  readonly config: Config;
  readonly logger: Logger;
  readonly stats: Stats;
  readonly dispatcher: Dispatcher;
  readonly api: ServerApi = this;
  readonly process: { pid: number; tcpPort: number; configFile: string; executable: string; runId: string };

  private readonly clock: () => number;
  private readonly table: Map<string, CommandSpec>;
  private readonly keyspace = new Keyspace();
  private readonly engine: LocalEngine;
  /** Cluster mode only. */
  private readonly runtime: ClusterRuntime | null = null;
  private readonly connections = new Set<Connection>();
  private currentView: ClusterView;
  private readonly nodeId: string;
  private listener: Server | null = null;
  /** Cluster mode: the READONLY listener (replica-port). */
  private replicaListener: Server | null = null;
  private cronTimer: NodeJS.Timeout | null = null;
  private nextClientId = 1;
  private shutdownHandler: () => void = () => {};
  /** Cached typed copies of hot directives, refreshed on CONFIG SET. */
  private settings = {
    requirepass: '',
    maxmemoryBytes: 0,
    policy: 'noeviction' as EvictionPolicy,
    samples: 5,
    bulkBytesMax: 0,
    queryBufferBytesMax: 0,
    outputLimit: { hardBytes: 0, softBytes: 0, softSeconds: 0 } as OutputBufferLimit,
    timeoutMs: 0,
    maxclients: 0,
  };

  constructor(options: ServerOptions) {
    this.config = options.config;
    this.logger = options.logger;
    this.nodeId = options.nodeId;
    this.clock = options.clock ?? Date.now;
    this.stats = new Stats(this.clock(), () => this.keyspaces());
    this.engine = new LocalEngine(this.keyspace, this.clock, seedSource(randomBytes(4).readUInt32LE(0)));
    this.table = options.commands ?? buildCommandTable();
    this.dispatcher = new Dispatcher(this.table, this);
    this.process = {
      pid: globalThis.process.pid,
      tcpPort: this.config.number('port'),
      configFile: this.config.configFile,
      executable: globalThis.process.argv[1] ?? globalThis.process.execPath,
      runId: randomBytes(20).toString('hex'),
    };
    this.currentView = this.buildView(this.process.tcpPort);
    const init = this.config.string('cluster-init');
    const join = this.config.string('join');
    if (init !== '' || join !== '') this.runtime = this.createRuntime(init, join);
    this.refreshSettings();
    this.config.onChange((name) => this.onConfigChange(name));
  }

  /** Listens on bind:port; resolves with the port (useful with port 0). */
  async start(): Promise<number> {
    if (this.runtime !== null) await this.runtime.start();
    const port = this.config.number('port');
    const host = this.config.string('bind').split(' ')[0] || '127.0.0.1';
    const listener = await this.listen(host, port, false);
    this.listener = listener;
    const replicaPort = this.config.number('replica-port');
    if (this.runtime !== null && replicaPort > 0) {
      this.replicaListener = await this.listen(host, replicaPort, true).catch((error: Error) => {
        throw Object.assign(error, { replicaPort });
      });
    }
    const address = listener.address();
    this.process.tcpPort = typeof address === 'object' && address !== null ? address.port : port;
    this.currentView = this.buildView(this.process.tcpPort);
    this.startCron();
    this.logger.notice('ready to accept connections', { host, port: this.process.tcpPort, nodeId: this.nodeId });
    return this.process.tcpPort;
  }

  /** Graceful stop: no new connections, pending replies flushed, sockets closed, timers stopped. */
  async close(): Promise<void> {
    if (this.runtime !== null) {
      // Clients keep being served (and redirected) while the leaderships move away.
      const left = await this.runtime.handOffLeaderships(3000);
      if (left > 0) this.logger.warning('stopping while still leading shards', { shards: left });
    }
    if (this.cronTimer !== null) clearInterval(this.cronTimer);
    this.cronTimer = null;
    const listener = this.listener;
    this.listener = null;
    this.replicaListener?.close();
    this.replicaListener = null;
    const closed = listener === null ? Promise.resolve() : new Promise<void>((r) => listener.close(() => r()));
    for (const connection of this.connections) connection.shutdown();
    // Give clients a moment to read their last replies, then drop whoever is left.
    const deadline = setTimeout(() => {
      for (const connection of this.connections) connection.kill();
    }, 1000);
    await closed;
    clearTimeout(deadline);
    await this.runtime?.close();
  }

  /** What SHUTDOWN calls (main.ts installs the process exit). */
  onShutdown(handler: () => void): void {
    this.shutdownHandler = handler;
  }

  // ---------------------------------------------------------------- ServerApi

  clients(): Iterable<Session> {
    return this.connections;
  }
  cluster(): ClusterView {
    return this.view();
  }
  view(): ClusterView {
    return this.runtime === null ? this.currentView : this.runtime.view();
  }
  keyspaces(): readonly Keyspace[] {
    return this.runtime === null ? [this.keyspace] : this.runtime.ledEngines().map((e) => e.keyspace);
  }
  commands(): ReadonlyMap<string, CommandSpec> {
    return this.table;
  }
  flushAll(): Reply | Promise<Reply> {
    if (this.runtime === null) {
      this.engine.flush();
      return OK;
    }
    return Promise.all(this.runtime.ledEngines().map((e) => e.flush())).then(
      () => OK,
      (error: unknown) => (error instanceof EngineWriteError ? error.reply : new ErrorReply(String(error))),
    );
  }
  raftId(): number {
    return this.runtime?.raftId ?? 0;
  }
  /** CLUSTER FORGET: in cluster mode, the node is drained (replicas and leaders move away), then removed. */
  forget(nodeId: string): Reply {
    if (this.runtime === null) return new ErrorReply(`ERR Unknown node ${nodeId}`);
    const problem = this.runtime.forget(nodeId);
    return problem === null ? OK : new ErrorReply(`ERR ${problem}`);
  }
  /** CLUSTER FAILOVER: in cluster mode, take the leadership of every shard this node follows. */
  failover(): Reply {
    const followed = this.runtime?.followedShards() ?? 0;
    if (followed === 0) return new ErrorReply('ERR You should send CLUSTER FAILOVER to a replica');
    this.runtime!.takeLeaderships();
    return OK;
  }
  nowMs(): number {
    return this.clock();
  }
  shutdown(): void {
    this.shutdownHandler();
  }

  // ---------------------------------------------------------------- DispatchHost / ConnectionHost

  engineFor(shardId: string): ShardEngine | undefined {
    if (this.runtime !== null) return this.runtime.engineFor(shardId);
    return shardId === this.nodeId ? this.engine : undefined;
  }
  defaultEngine(): ShardEngine {
    return this.runtime?.anyEngine() ?? this.engine;
  }
  viewChanged(ms: number): Promise<void> {
    return this.runtime === null ? new Promise((r) => setTimeout(r, ms)) : this.runtime.viewChanged(ms);
  }
  /** The reply to a command that reached a shard engine no longer led here: MOVED to the leader. */
  notLeaderReply(error: NotLeaderError, slot: number | null): ErrorReply {
    const address = error.leader === 0 ? null : (this.runtime?.addressOf(error.leader) ?? null);
    if (address === null || slot === null) return new ErrorReply(errors.CLUSTERDOWN_DOWN);
    return new ErrorReply(moved(slot, address));
  }
  passwordRequired(): boolean {
    return this.settings.requirepass !== '';
  }
  memoryLimited(): boolean {
    return this.settings.maxmemoryBytes > 0;
  }
  bulkBytesMax(): number {
    return this.settings.bulkBytesMax;
  }
  queryBufferBytesMax(): number {
    return this.settings.queryBufferBytesMax;
  }
  outputLimit(): OutputBufferLimit {
    return this.settings.outputLimit;
  }
  connectionClosed(connection: Connection): void {
    this.connections.delete(connection);
  }

  /** Evicts keys as the policy says while used memory exceeds maxmemory; false if still above. */
  reclaimMemory(): boolean {
    const max = this.settings.maxmemoryBytes;
    if (this.usedMemoryBytes() <= max) return true;
    const policy = this.settings.policy;
    if (policy === 'noeviction') return false;
    for (let round = 0; round < EVICT_ROUNDS_MAX; round++) {
      let found = 0;
      for (const engine of this.writableEngines()) {
        const victims = engine.keyspace.evictionCandidates(policy, this.settings.samples, Math.random, this.clock(), EVICT_KEYS_PER_ROUND);
        found += victims.length;
        const evicted = engine.evictKeys(victims);
        if (typeof evicted === 'number') this.stats.evictedKeysCount += evicted;
        else void evicted.then((n) => (this.stats.evictedKeysCount += n));
      }
      if (found === 0) return false;
      if (this.usedMemoryBytes() <= max) return true;
    }
    return this.usedMemoryBytes() <= max;
  }

  usedMemoryBytes(): number {
    let total = 0;
    for (const keyspace of this.keyspaces()) total += keyspace.usedMemoryBytes();
    return total;
  }

  connectedClients(): number {
    return this.connections.size;
  }

  // ---------------------------------------------------------------- internals

  /**
   * A client listener. `readonly`: its connections start in READONLY mode (the replica-port that
   * replicas' CLUSTER SLOTS entries name).
   */
  private listen(host: string, port: number, readonly: boolean): Promise<Server> {
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket, readonly));
    listener.maxConnections = Number.MAX_SAFE_INTEGER; // maxclients is enforced with Redis's error
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port, host, backlog: this.config.number('tcp-backlog') }, () => {
        listener.off('error', reject);
        listener.on('error', (error) => this.logger.warning('listener error', { error: error.message }));
        resolve(listener);
      });
    });
  }

  private accept(socket: Socket, readonly = false): void {
    this.stats.totalConnectionsReceived++;
    if (this.connections.size >= this.settings.maxclients) {
      this.stats.rejectedConnections++;
      socket.on('error', () => {});
      socket.end(`-${errors.MAX_CLIENTS}\r\n`);
      return;
    }
    const connection = new Connection(this.nextClientId++, socket, this);
    if (readonly) connection.session.readonlyMode = true;
    this.connections.add(connection);
  }

  private buildView(port: number): ClusterView {
    const ip = this.config.string('cluster-announce-ip') || this.config.string('bind').split(' ')[0] || '127.0.0.1';
    const announcedPort = this.config.number('cluster-announce-port') || port;
    return oneNodeView(this.nodeId, ip, announcedPort, announcedPort + BUS_PORT_OFFSET);
  }

  private refreshSettings(): void {
    const c = this.config;
    this.settings = {
      requirepass: c.string('requirepass'),
      maxmemoryBytes: c.number('maxmemory'),
      policy: c.string('maxmemory-policy') as EvictionPolicy,
      samples: c.number('maxmemory-samples'),
      bulkBytesMax: c.number('proto-max-bulk-len'),
      queryBufferBytesMax: c.number('client-query-buffer-limit'),
      outputLimit: c.normalOutputLimit(),
      timeoutMs: c.number('timeout') * 1000,
      maxclients: c.number('maxclients'),
    };
    this.keyspace.setAccessTracking(trackingForPolicy(this.settings.policy));
  }

  private onConfigChange(name: string): void {
    this.refreshSettings();
    if (name === 'hz') this.startCron();
    if (name === 'loglevel') this.logger.setLevel(this.config.string('loglevel') as LogLevel);
    if (name === 'cluster-announce-ip' || name === 'cluster-announce-port') {
      this.currentView = this.buildView(this.process.tcpPort);
    }
  }

  /** Redis's serverCron at `hz`: active expiry, eviction, idle clients and output limits. */
  private startCron(): void {
    if (this.cronTimer !== null) clearInterval(this.cronTimer);
    const periodMs = 1000 / this.config.number('hz');
    this.cronTimer = setInterval(() => this.cron(periodMs), periodMs);
    this.cronTimer.unref();
  }

  private cron(periodMs: number): void {
    this.expireCycle(periodMs * EXPIRE_TIME_SHARE);
    if (this.memoryLimited()) this.reclaimMemory();
    const now = this.clock();
    for (const connection of this.connections) connection.checkTimers(now, this.settings.timeoutMs);
  }

  /** Deletes expired keys through the engine, within a time budget (Redis activeExpireCycle). */
  private expireCycle(budgetMs: number): void {
    const started = performance.now();
    for (const engine of this.writableEngines()) {
      for (let call = 0; call < EXPIRE_CALLS_PER_TICK_MAX; call++) {
        const keys = engine.keyspace.expireCycle(this.clock(), EXPIRE_KEYS_PER_CALL);
        if (keys.length > 0) void engine.expireKeys(keys);
        if (performance.now() - started > budgetMs) return;
        if (keys.length < EXPIRE_KEYS_PER_CALL) break;
      }
    }
  }

  /** The engines whose keys this node may expire and evict: the shards it leads. */
  private writableEngines(): readonly ShardEngine[] {
    return this.runtime === null ? [this.engine] : this.runtime.ledEngines();
  }

  private createRuntime(init: string, join: string): ClusterRuntime {
    const c = this.config;
    const secret = c.string('cluster-secret');
    if (secret === '') throw new Error('cluster mode needs a cluster-secret (the same on every node)');
    if (init !== '' && join !== '') throw new Error('use either cluster-init or join, not both');
    const ip = c.string('cluster-announce-ip') || c.string('bind').split(' ')[0] || '127.0.0.1';
    const port = c.number('cluster-announce-port') || c.number('port');
    const busPort = c.number('cluster-port') || port + BUS_PORT_OFFSET;
    const runtime: ClusterRuntime = new ClusterRuntime({
      dir: c.string('dir'),
      myId: this.nodeId,
      ip,
      port,
      busPort,
      replicaPort: c.number('replica-port'),
      busHost: c.string('bind').split(' ')[0] || '127.0.0.1',
      secret,
      init: init === '' ? [] : parseInitList(init),
      join: join === '' ? null : parseAddress(join),
      replicas: c.number('replicas'),
      shardCount: c.number('shards'),
      fsync: c.string('appendfsync') as FsyncPolicy,
      tickMs: c.number('raft-tick-ms'),
      snapshotEntries: c.number('raft-snapshot-entries'),
      logTail: c.number('raft-log-tail'),
      readConsistency: c.string('read-consistency') === 'lease' ? 'lease' : 'readindex',
      commands: this.table,
      clock: this.clock,
      logger: this.logger,
      onPublish: (kind, channel, message) => this.dispatcher.pubsub.publish(kind, channel, message),
      onLeadershipLost: (engine) => this.redirectBlocked(engine),
    });
    this.dispatcher.pubsub.forward = (kind, channel, message) =>
      runtime.forwardPublish(kind, channel, message, kind === 'shard' ? keySlot(channel) : undefined);
    return runtime;
  }

  /** Clients blocked on a shard this node no longer leads get the redirect Redis would give them. */
  private redirectBlocked(engine: RaftEngine, waits = 0): void {
    const status = this.runtime?.multi.basicStatus(engine.groupId).softState;
    if (status === undefined || status.role === 'leader') return; // led here again: they keep waiting
    const leader = status.lead;
    if (leader === 0 && waits < BLOCKED_REDIRECT_WAITS) {
      // Between two leaders (a transfer or an election): wait for the new one, to send MOVED to it.
      void this.runtime!.viewChanged(BLOCKED_REDIRECT_WAIT_MS).then(() => this.redirectBlocked(engine, waits + 1));
      return;
    }
    this.dispatcher.blocking.redirect(engine, (keys) =>
      this.notLeaderReply(new NotLeaderError(engine.groupId, leader), keys.length > 0 ? keySlot(keys[0]!) : null),
    );
  }
}

/** Per-command seeds: xorshift32 started from a secure random value (cheaper than crypto per call). */
function seedSource(initial: number): () => number {
  let state = initial || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>> 0;
  };
}
