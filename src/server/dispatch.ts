// One request -> one reply: look the command up, check arity and authentication, route it by the
// slots of its keys, refuse writes when memory is full, and run it: server commands with a
// ServerContext, data commands through the engine of the shard that owns their slot. The order of
// the checks and every error text are Redis 7.0's (server.c processCommand).

import type { ServerContext, Session } from '../commands/server-context.js';
import { WOULD_BLOCK, type CommandSpec, type DataCommand } from '../commands/types.js';
import { route, routeError, type RouteDecision } from '../cluster/routing.js';
import type { ClusterShard, ClusterView } from '../cluster/view.js';
import { keySlot, SLOT_COUNT } from '../cluster/slot.js';
import { ErrorReply, NullArray, QUEUED, type Reply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import type { Keyspace } from '../store/keyspace.js';
import type { EngineResult, ShardEngine } from './engine.js';
import { BlockingRegistry, type BlockableClient } from './blocking.js';
import { PubSubRegistry, type ClientPubSub } from './pubsub.js';
import { WatchRegistry, type ClientTransaction, type QueuedCommand, type TransactionHost } from './transactions.js';
import type { CommandStat, Stats } from './stats.js';
import type { Logger } from './logger.js';
import { NotLeaderError } from './raft-engine.js';

/** What dispatch needs from the server around it. */
export interface DispatchHost {
  readonly stats: Stats;
  readonly logger: Logger;
  view(): ClusterView;
  /** The engine of a shard this node serves, if any. */
  engineFor(shardId: string): ShardEngine | undefined;
  /** The engine keyless data commands run on. */
  defaultEngine(): ShardEngine;
  /** requirepass is set: clients must AUTH first. */
  passwordRequired(): boolean;
  /** maxmemory is set. */
  memoryLimited(): boolean;
  /** Evicts as the policy says while used memory is above maxmemory; false if it is still above. */
  reclaimMemory(): boolean;
  nowMs(): number;
  /** The reply for a command whose engine found this node no longer leads its shard (MOVED or CLUSTERDOWN). */
  notLeaderReply?(error: NotLeaderError, slot: number | null): ErrorReply;
  /** Resolves when the cluster view may have changed (a leader was elected), or after `ms`. */
  viewChanged?(ms: number): Promise<void>;
}

/** A connection as dispatch sees it. */
export interface DispatchClient extends BlockableClient {
  readonly session: Session;
  /** The context server commands get (the same object for every command of the connection). */
  readonly context: ServerContext;
  readonly transaction: ClientTransaction;
  readonly pubsub: ClientPubSub;
}

/** A command with what dispatch precomputes from its flags. */
interface CommandEntry {
  readonly spec: CommandSpec;
  readonly stat: CommandStat;
  readonly write: boolean;
  readonly denyoom: boolean;
  readonly noAuth: boolean;
  readonly hasKeys: boolean;
  /** The argv index of the command's only key (GET, SET, LPUSH...), or -1 when it may have several. */
  readonly keyIndex: number;
  /** Runs at once inside MULTI instead of being queued (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
  readonly runsInMulti: boolean;
  readonly noMulti: boolean;
  /** Allowed in RESP2 subscribed mode. */
  readonly allowedSubscribed: boolean;
  /** Shard Pub/Sub (SSUBSCRIBE...): routed like a read that followers serve. */
  readonly shardPubsub: boolean;
}

/** Commands that run instead of being queued while a MULTI is open. */
const RUN_IN_MULTI = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);
/** The commands RESP2 allows in subscribed mode. */
const ALLOWED_SUBSCRIBED = new Set([
  'subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset',
]);
const SHARD_PUBSUB = new Set(['ssubscribe', 'sunsubscribe', 'spublish']);
const NO_MULTI = 'ERR Command not allowed inside a transaction';
/** Inside MULTI a blocking command answers its timeout reply at once: a null bulk for the moves. */
const NULL_BULK_WHEN_BLOCKED = new Set(['blmove', 'brpoplpush']);

/** A READONLY read routed to this follower: served from its state as it is (Redis replicas do the same). */
const FOLLOWER_READ = { follower: true } as const;

/** How long a command waits for its shard to elect a leader before CLUSTERDOWN. */
const LEADER_WAIT_MS = 2000;

/** Keeps ASKING set for the command after it (and for nothing else). */
const ASKING = 'asking';

export class Dispatcher {
  /** By lower-case and by upper-case name, so that neither usual spelling needs toLowerCase(). */
  private readonly entries = new Map<string, CommandEntry>();
  /** Stats of the commands run since the last finishBatch(), to share the batch's time among them. */
  private readonly batch: CommandStat[] = [];
  /** Routing decisions of one-key commands by slot, valid for `routeCacheView` (see routeKeys). */
  private readonly routeCache: (RouteDecision | undefined)[] = new Array<RouteDecision | undefined>(SLOT_COUNT);
  private routeCacheView: ClusterView | null = null;
  private readonly keyExists = (shard: ClusterShard, key: string): boolean =>
    this.host.engineFor(shard.id)?.keyspace.exists(key, this.host.nowMs()) ?? false;
  /** Node-wide state of the connections' transactions, subscriptions and blocked commands. */
  readonly watches: WatchRegistry;
  readonly pubsub = new PubSubRegistry();
  readonly blocking: BlockingRegistry;

  constructor(
    table: ReadonlyMap<string, CommandSpec>,
    private readonly host: DispatchHost,
  ) {
    for (const spec of table.values()) {
      const range = spec.keys;
      const entry: CommandEntry = {
        spec,
        stat: host.stats.command(spec.name),
        write: spec.flags.includes('write'),
        denyoom: spec.flags.includes('denyoom'),
        noAuth: spec.flags.includes('no_auth'),
        hasKeys: spec.keys !== null || spec.getKeys !== undefined,
        keyIndex: spec.getKeys === undefined && range !== null && range.first === range.last ? range.first : -1,
        runsInMulti: RUN_IN_MULTI.has(spec.name),
        noMulti: spec.flags.includes('no_multi'),
        allowedSubscribed: ALLOWED_SUBSCRIBED.has(spec.name),
        shardPubsub: SHARD_PUBSUB.has(spec.name),
      };
      this.entries.set(spec.name, entry);
      this.entries.set(spec.name.toUpperCase(), entry);
    }
    const now = (): number => host.nowMs();
    this.watches = new WatchRegistry(now);
    this.blocking = new BlockingRegistry(now);
  }

  /**
   * Runs one request. A Promise when the command completes later (its reply must still keep its place).
   * `waitedMs`: how long it already waited for a shard without a leader (design §3: a short bounded wait
   * before CLUSTERDOWN, so that clients ride through an election).
   */
  execute(client: DispatchClient, argv: readonly string[], waitedMs = 0): Reply | Promise<Reply> {
    const session = client.session;
    const name = argv[0]!;
    const entry = this.entries.get(name) ?? this.entries.get(name.toLowerCase());
    if (entry === undefined) return this.reject(client, null, errors.unknownCommand(name, argv.slice(1)));
    const spec = entry.spec;
    const arity = spec.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) {
      return this.reject(client, entry, errors.wrongArity(spec.name));
    }
    if (!entry.noAuth && !session.authenticated && this.host.passwordRequired()) {
      return this.reject(client, entry, errors.NOAUTH);
    }

    let decision: RouteDecision | null = null;
    if (entry.hasKeys) {
      decision = this.routeKeys(session, entry, argv);
      if (decision?.kind === 'clusterDown' && decision.reason === 'down' && this.host.viewChanged && waitedMs < LEADER_WAIT_MS) {
        const started = performance.now();
        return this.host
          .viewChanged(LEADER_WAIT_MS - waitedMs)
          .then(() => this.execute(client, argv, waitedMs + Math.max(1, performance.now() - started)));
      }
      if (decision !== null) {
        const refusal = routeError(decision);
        if (refusal !== null) return this.reject(client, entry, refusal.message);
      }
    }
    // Redis evicts before any command when maxmemory is set, and refuses only denyoom ones.
    if (this.host.memoryLimited() && !this.host.reclaimMemory() && entry.denyoom) {
      return this.reject(client, entry, errors.OOM);
    }
    if (client.transaction.active() || client.pubsub.subscribed()) {
      const answered = this.subscribedOrQueued(client, entry, argv);
      if (answered !== null) return answered;
    }

    session.lastCommand = spec.name;
    entry.stat.calls++;
    this.host.stats.totalCommandsProcessed++;
    this.batch.push(entry.stat);
    let result: EngineResult | Promise<EngineResult>;
    let engine: ShardEngine | undefined;
    try {
      if (spec.kind === 'server') {
        result = spec.run(client.context, argv);
      } else {
        engine = this.engineOf(decision);
        const follower = decision !== null && decision.kind === 'local' && decision.role === 'follower';
        result = this.runData(spec, entry.write, engine, session.resp, argv, follower);
      }
    } catch (error) {
      result = this.failure(spec.name, error, decision);
    }
    // ASKING lasts for one command, or until EXEC inside MULTI (Redis resetClient).
    if (session.asking && spec.name !== ASKING && !client.transaction.active()) session.asking = false;
    if (result instanceof Promise) {
      return result.then(
        (value) => this.finish(client, entry, argv, engine, value),
        (error: unknown) => this.finish(client, entry, argv, engine, this.failure(spec.name, error, decision)),
      );
    }
    return this.finish(client, entry, argv, engine, result);
  }

  /** Where a command with keys runs; null when argv holds none of its keys. */
  private routeKeys(session: Session, entry: CommandEntry, argv: readonly string[]): RouteDecision | null {
    const view = this.host.view();
    const index = entry.keyIndex;
    // One key and no slot migrating: the decision depends on the slot only (neither ASKING nor the
    // existence of the key matters), so it is computed once per slot and view.
    if (index !== -1 && view.migrations.length === 0 && !session.readonlyMode && !entry.shardPubsub) {
      if (index >= argv.length) return null;
      if (view !== this.routeCacheView) {
        this.routeCache.fill(undefined);
        this.routeCacheView = view;
      }
      const key = argv[index]!;
      const slot = keySlot(key);
      const request = { keys: [key], write: entry.write, asking: false, readonlyMode: false };
      return (this.routeCache[slot] ??= route(view, request));
    }
    const keys = commandKeys(entry.spec, argv);
    if (keys.length === 0) return null;
    return route(view, {
      keys,
      write: entry.write,
      asking: session.asking,
      readonlyMode: session.readonlyMode,
      keyExists: this.keyExists,
      shardPubsub: entry.shardPubsub,
    });
  }

  /**
   * The RESP2 subscribed-mode restriction and MULTI queueing (Redis checks them after routing and
   * OOM); null when the command runs normally.
   */
  private subscribedOrQueued(client: DispatchClient, entry: CommandEntry, argv: readonly string[]): Reply | null {
    const spec = entry.spec;
    if (client.session.resp === 2 && !entry.allowedSubscribed && client.pubsub.subscribed()) {
      return this.reject(client, entry, errors.subscribedContext(spec.name));
    }
    const transaction = client.transaction;
    if (!transaction.active() || entry.runsInMulti) return null;
    if (entry.noMulti) return this.reject(client, entry, NO_MULTI);
    return transaction.enqueue(spec, argv) ?? QUEUED;
  }

  /** What a connection's transaction needs: routing and atomic execution of its queue. */
  transactionHost(client: DispatchClient): TransactionHost {
    return {
      watches: this.watches,
      keyspaceOf: (key) => this.keyspaceOf(key),
      routeQueue: (session, queue) => routeError(this.routeQueue(session, queue)),
      runQueue: (queue) => this.runQueue(client, queue),
    };
  }

  /** A disconnected client leaves its transaction, subscriptions and blocked command. */
  forget(client: DispatchClient): void {
    client.transaction.discardAll();
    client.pubsub.clear();
    this.blocking.remove(client.id);
  }

  /** Ends a batch of commands that took `elapsedMs` together: each gets an equal share of the time. */
  finishBatch(elapsedMs: number): void {
    const count = this.batch.length;
    if (count === 0) return;
    const share = (elapsedMs * 1000) / count;
    for (let i = 0; i < count; i++) this.batch[i]!.usec += share;
    this.batch.length = 0;
  }

  private engineOf(decision: RouteDecision | null): ShardEngine | undefined {
    return decision !== null && decision.kind === 'local'
      ? this.host.engineFor(decision.shard.id)
      : this.host.defaultEngine();
  }

  private runData(
    spec: DataCommand,
    write: boolean,
    engine: ShardEngine | undefined,
    resp: 2 | 3,
    argv: readonly string[],
    follower: boolean,
  ): EngineResult | Promise<EngineResult> {
    if (engine === undefined) return new ErrorReply(errors.CLUSTERDOWN_DOWN);
    if (write) return engine.write(spec, argv, resp);
    return follower ? engine.read(spec, argv, resp, FOLLOWER_READ) : engine.read(spec, argv, resp);
  }

  private finish(
    client: DispatchClient,
    entry: CommandEntry,
    argv: readonly string[],
    engine: ShardEngine | undefined,
    result: EngineResult,
  ): Reply | Promise<Reply> {
    // Keys this command wrote may serve clients blocked on them (before the next command, as Redis).
    if (this.blocking.hasReady()) this.blocking.serveReady();
    if (result === WOULD_BLOCK) {
      const spec = entry.spec as DataCommand;
      return this.blocking.park(client, spec, argv, commandKeys(spec, argv), engine!, client.session.resp);
    }
    if (result instanceof ErrorReply) {
      entry.stat.failed++;
      this.host.stats.countError(result.message);
    }
    return result;
  }

  private reject(client: DispatchClient, entry: CommandEntry | null, message: string): ErrorReply {
    if (entry !== null) entry.stat.rejected++;
    if (entry?.spec.name === 'exec') {
      // EXEC itself refused, in MULTI or not: Redis's execCommandAbort discards with the reason.
      client.transaction.discardAll();
      message = `EXECABORT Transaction discarded because of: ${message.startsWith('ERR ') ? message.slice(4) : message}`;
    } else {
      client.transaction.flag();
    }
    if (!client.transaction.active()) client.session.asking = false;
    this.host.stats.countError(message);
    return new ErrorReply(message);
  }

  // ---------------------------------------------------------------- transactions

  private keyspaceOf(key: string): Keyspace {
    const decision = route(this.host.view(), { keys: [key], write: false, asking: false, readonlyMode: false });
    return (this.engineOf(decision) ?? this.host.defaultEngine()).keyspace;
  }

  /** EXEC routes every key of every queued command together (Redis getNodeByQuery on a MULTI). */
  private routeQueue(session: Session, queue: readonly QueuedCommand[]): RouteDecision {
    const keys: string[] = [];
    let write = false;
    for (const { spec, argv } of queue) {
      for (const key of commandKeys(spec, argv)) keys.push(key);
      if (spec.flags.includes('write')) write = true;
    }
    return route(this.host.view(), {
      keys,
      write,
      asking: session.asking,
      readonlyMode: session.readonlyMode,
      keyExists: this.keyExists,
    });
  }

  /**
   * Runs an EXEC's queue: each run of consecutive data commands is one engine batch (one write,
   * nothing interleaved); server commands (PING, PUBLISH...) run between them in order.
   */
  private runQueue(client: DispatchClient, queue: readonly QueuedCommand[]): Reply | Promise<Reply> {
    const decision = this.routeQueue(client.session, queue);
    const engine = this.engineOf(decision);
    if (engine === undefined) return new ErrorReply(errors.CLUSTERDOWN_DOWN);
    try {
      return this.runQueueFrom(client, engine, queue, 0, []);
    } catch (error) {
      // Nothing ran: the shard's leadership moved away between routing and proposing.
      if (error instanceof NotLeaderError) return this.failure('exec', error, decision);
      throw error;
    }
  }

  private runQueueFrom(
    client: DispatchClient,
    engine: ShardEngine,
    queue: readonly QueuedCommand[],
    start: number,
    replies: Reply[],
  ): Reply | Promise<Reply> {
    let index = start;
    while (index < queue.length) {
      const first = queue[index]!;
      let end = index + 1;
      let step: EngineResult[] | Promise<EngineResult[]>;
      try {
        if (first.spec.kind === 'data') {
          while (end < queue.length && queue[end]!.spec.kind === 'data') end++;
          const batch = queue.slice(index, end).map((q) => ({ command: q.spec as DataCommand, argv: q.argv }));
          step = engine.writeBatch(batch, client.session.resp);
        } else {
          const result = first.spec.run(client.context, first.argv);
          step = result instanceof Promise ? result.then((r) => [r]) : [result];
        }
      } catch (error) {
        if (error instanceof NotLeaderError && index === 0) throw error; // before anything ran
        step = [this.internalError(first.spec.name, error)];
      }
      const from = index;
      index = end;
      if (step instanceof Promise) {
        return step.then((results) => {
          this.collect(queue, from, results, replies);
          return this.runQueueFrom(client, engine, queue, index, replies);
        });
      }
      this.collect(queue, from, step, replies);
    }
    return replies;
  }

  /** Counts and converts the results of queued commands from `from` on. */
  private collect(queue: readonly QueuedCommand[], from: number, results: EngineResult[], replies: Reply[]): void {
    for (let i = 0; i < results.length; i++) {
      const spec = queue[from + i]!.spec;
      const entry = this.entries.get(spec.name);
      let reply = results[i] as EngineResult;
      if (reply === WOULD_BLOCK) reply = NULL_BULK_WHEN_BLOCKED.has(spec.name) ? null : NullArray.instance;
      if (entry !== undefined) {
        entry.stat.calls++;
        this.batch.push(entry.stat);
        if (reply instanceof ErrorReply) entry.stat.failed++;
      }
      this.host.stats.totalCommandsProcessed++;
      if (reply instanceof ErrorReply) this.host.stats.countError(reply.message);
      replies.push(reply);
    }
  }

  /** A command that threw: a redirect if its shard is led elsewhere now, else an internal error. */
  private failure(name: string, error: unknown, decision: RouteDecision | null): ErrorReply {
    if (error instanceof NotLeaderError && this.host.notLeaderReply !== undefined) {
      return this.host.notLeaderReply(error, decision?.kind === 'local' ? decision.slot : null);
    }
    return this.internalError(name, error);
  }

  private internalError(name: string, error: unknown): ErrorReply {
    this.host.logger.warning('command failed with an exception', { command: name, error: String(error) });
    return new ErrorReply(errors.INTERNAL);
  }
}

/** The keys of a command, by its key range or its getKeys function (Redis's legacy key triple). */
export function commandKeys(spec: CommandSpec, argv: readonly string[]): string[] {
  if (spec.getKeys !== undefined) {
    const keys: string[] = [];
    for (const index of spec.getKeys(argv)) if (index < argv.length) keys.push(argv[index]!);
    return keys;
  }
  const range = spec.keys;
  if (range === null) return [];
  const first = range.first;
  if (first >= argv.length) return [];
  let last = range.last < 0 ? argv.length + range.last : range.last;
  if (last === first) return [argv[first]!];
  if (last >= argv.length) last = argv.length - 1;
  const keys: string[] = [];
  for (let i = first; i <= last; i += range.step) keys.push(argv[i]!);
  return keys;
}
