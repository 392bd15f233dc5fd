// One request -> one reply: look the command up, check arity and authentication, route it by the
// slots of its keys, refuse writes when memory is full, and run it: server commands with a
// ServerContext, data commands through the engine of the shard that owns their slot. The order of
// the checks and every error text are Redis 7.0's (server.c processCommand).

import type { ServerContext, Session } from '../commands/server-context.js';
import { WOULD_BLOCK, type CommandSpec, type DataCommand } from '../commands/types.js';
import { route, routeError, type RouteDecision } from '../cluster/routing.js';
import type { ClusterShard, ClusterView } from '../cluster/view.js';
import { ErrorReply, NullArray, type Reply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import type { EngineResult, ShardEngine } from './engine.js';
import type { CommandStat, Stats } from './stats.js';
import type { Logger } from './logger.js';

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
}

/** A connection as dispatch sees it. */
export interface DispatchClient {
  readonly session: Session;
  /** The context server commands get (the same object for every command of the connection). */
  readonly context: ServerContext;
}

/** A command with what dispatch precomputes from its flags. */
interface CommandEntry {
  readonly spec: CommandSpec;
  readonly stat: CommandStat;
  readonly write: boolean;
  readonly denyoom: boolean;
  readonly noAuth: boolean;
  readonly hasKeys: boolean;
}

/** Keeps ASKING set for the command after it (and for nothing else). */
const ASKING = 'asking';

export class Dispatcher {
  /** By lower-case and by upper-case name, so that neither usual spelling needs toLowerCase(). */
  private readonly entries = new Map<string, CommandEntry>();
  /** Stats of the commands run since the last finishBatch(), to share the batch's time among them. */
  private readonly batch: CommandStat[] = [];
  private readonly keyExists = (shard: ClusterShard, key: string): boolean =>
    this.host.engineFor(shard.id)?.keyspace.exists(key, this.host.nowMs()) ?? false;

  constructor(
    table: ReadonlyMap<string, CommandSpec>,
    private readonly host: DispatchHost,
  ) {
    for (const spec of table.values()) {
      const entry: CommandEntry = {
        spec,
        stat: host.stats.command(spec.name),
        write: spec.flags.includes('write'),
        denyoom: spec.flags.includes('denyoom'),
        noAuth: spec.flags.includes('no_auth'),
        hasKeys: spec.keys !== null || spec.getKeys !== undefined,
      };
      this.entries.set(spec.name, entry);
      this.entries.set(spec.name.toUpperCase(), entry);
    }
  }

  /** Runs one request. A Promise when the command completes later (its reply must still keep its place). */
  execute(client: DispatchClient, argv: readonly string[]): Reply | Promise<Reply> {
    const session = client.session;
    const name = argv[0]!;
    const entry = this.entries.get(name) ?? this.entries.get(name.toLowerCase());
    if (entry === undefined) return this.reject(session, null, errors.unknownCommand(name, argv.slice(1)));
    const spec = entry.spec;
    const arity = spec.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) {
      return this.reject(session, entry, errors.wrongArity(spec.name));
    }
    if (!entry.noAuth && !session.authenticated && this.host.passwordRequired()) {
      return this.reject(session, entry, errors.NOAUTH);
    }

    let decision: RouteDecision | null = null;
    if (entry.hasKeys) {
      const keys = commandKeys(spec, argv);
      if (keys.length > 0) {
        decision = route(this.host.view(), {
          keys,
          write: entry.write,
          asking: session.asking,
          readonlyMode: session.readonlyMode,
          keyExists: this.keyExists,
        });
        const refusal = routeError(decision);
        if (refusal !== null) return this.reject(session, entry, refusal.message);
      }
    }
    // Redis evicts before any command when maxmemory is set, and refuses only denyoom ones.
    if (this.host.memoryLimited() && !this.host.reclaimMemory() && entry.denyoom) {
      return this.reject(session, entry, errors.OOM);
    }
    // Hook: MULTI queueing goes here (after the routing and OOM checks, as in Redis).

    session.lastCommand = spec.name;
    entry.stat.calls++;
    this.host.stats.totalCommandsProcessed++;
    this.batch.push(entry.stat);
    let result: EngineResult | Promise<EngineResult>;
    try {
      if (spec.kind === 'server') {
        result = spec.run(client.context, argv);
      } else {
        result = this.runData(spec, entry.write, decision, session.resp, argv);
      }
    } catch (error) {
      result = this.internalError(spec.name, error);
    }
    if (spec.name !== ASKING) session.asking = false;
    if (result instanceof Promise) {
      return result.then(
        (value) => this.finish(entry, value),
        (error: unknown) => this.finish(entry, this.internalError(spec.name, error)),
      );
    }
    return this.finish(entry, result);
  }

  /** Ends a batch of commands that took `elapsedMs` together: each gets an equal share of the time. */
  finishBatch(elapsedMs: number): void {
    const count = this.batch.length;
    if (count === 0) return;
    const share = (elapsedMs * 1000) / count;
    for (let i = 0; i < count; i++) this.batch[i]!.usec += share;
    this.batch.length = 0;
  }

  private runData(
    spec: DataCommand,
    write: boolean,
    decision: RouteDecision | null,
    resp: 2 | 3,
    argv: readonly string[],
  ): EngineResult | Promise<EngineResult> {
    const engine =
      decision !== null && decision.kind === 'local'
        ? this.host.engineFor(decision.shard.id)
        : this.host.defaultEngine();
    if (engine === undefined) return new ErrorReply(errors.CLUSTERDOWN_DOWN);
    return write ? engine.write(spec, argv, resp) : engine.read(spec, argv, resp);
  }

  private finish(entry: CommandEntry, result: EngineResult): Reply {
    // Blocking commands are not parked yet: they are answered as if their timeout expired.
    if (result === WOULD_BLOCK) return NullArray.instance;
    if (result instanceof ErrorReply) {
      entry.stat.failed++;
      this.host.stats.countError(result.message);
    }
    return result;
  }

  private reject(session: Session, entry: CommandEntry | null, message: string): ErrorReply {
    if (entry !== null) entry.stat.rejected++;
    session.asking = false;
    this.host.stats.countError(message);
    return new ErrorReply(message);
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
