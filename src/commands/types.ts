// The command contract: how a command is described (for dispatch, routing and COMMAND), and how it runs.
//
// Two kinds of command:
// - data commands read or write keys of ONE shard's keyspace. They are deterministic: the same
//   keyspace, argv, nowMs and seed give the same result and the same new keyspace on every replica.
//   Writes run when their Raft entry is applied (or at once on a one-node, non-replicated path);
//   reads run on the leader after a ReadIndex (or a follower under READONLY).
// - server commands act on the connection, the server or the cluster view (PING, HELLO, CLIENT,
//   INFO, CONFIG, CLUSTER ..., DBSIZE, FLUSHALL, KEYS, SCAN, MULTI, SUBSCRIBE, ...). They never
//   run inside the replicated state machine.

import type { Reply } from '../resp/reply.js';
import type { Keyspace } from '../store/keyspace.js';

/** Redis command flags as COMMAND INFO reports them (without the leading `@`, lower case). */
export type CommandFlag =
  | 'write'
  | 'readonly'
  | 'denyoom'
  | 'admin'
  | 'pubsub'
  | 'noscript'
  | 'blocking'
  | 'loading'
  | 'stale'
  | 'skip_monitor'
  | 'skip_slowlog'
  | 'fast'
  | 'no_auth'
  | 'may_replicate'
  | 'no_mandatory_keys'
  | 'no_multi'
  | 'movablekeys'
  | 'allow_busy'
  | 'no_async_loading';

/** Redis's legacy key triple: first key index, last key index (-1: the last argument), step. */
export interface KeyRange {
  readonly first: number;
  readonly last: number;
  readonly step: number;
}

/** What a data command sees while it runs. Nothing in it reads a clock or a random source itself. */
export interface DataContext {
  /** The shard's keyspace. */
  readonly db: Keyspace;
  /** The leader's timestamp for this command (ms since epoch): TTLs and expiry checks use it. */
  readonly nowMs: number;
  /** Deterministic random numbers in [0, 1), seeded by the leader per command (SPOP, SRANDMEMBER...). */
  readonly random: () => number;
  /** The protocol of the client that sent the command, for reply shapes that differ (ZRANGE WITHSCORES). */
  readonly resp: 2 | 3;
}

/**
 * Returned by a blocking command (BLPOP, BLMOVE, BZPOPMIN...) when it cannot be served now. The server
 * parks the client on the command's keys and runs the command again when one of them is written, or
 * answers the timeout reply. Nothing was changed in the keyspace.
 */
export const WOULD_BLOCK: unique symbol = Symbol('would-block');
export type WouldBlock = typeof WOULD_BLOCK;

export type DataHandler = (ctx: DataContext, argv: readonly string[]) => Reply | WouldBlock;

export interface CommandBase {
  /** Lower-case name, e.g. `set`; for a subcommand `config|get` style is NOT used: name is `get`. */
  readonly name: string;
  /** Redis arity: N means exactly N arguments including the name; -N means at least N. */
  readonly arity: number;
  readonly flags: readonly CommandFlag[];
  /** ACL categories without `@`, e.g. ['write', 'string', 'slow'], as COMMAND INFO lists them. */
  readonly categories: readonly string[];
  /** Key positions for COMMAND INFO and routing; null when the command takes no keys. */
  readonly keys: KeyRange | null;
  /** For commands with movable keys (e.g. ZUNIONSTORE, LMPOP): the argv indexes of the keys. */
  readonly getKeys?: (argv: readonly string[]) => number[];
  /** COMMAND DOCS: summary, since (Redis version), group (string, generic, server, cluster...). */
  readonly summary: string;
  readonly since: string;
  readonly group: string;
  /** COMMAND INFO tips, e.g. `request_policy:all_shards`, `nondeterministic_output`. */
  readonly tips?: readonly string[];
}

export interface DataCommand extends CommandBase {
  readonly kind: 'data';
  readonly run: DataHandler;
  /** Subcommands of a container data command (OBJECT), for COMMAND INFO/DOCS. */
  readonly subcommands?: readonly CommandBase[];
}

/** Server commands get a context defined by the server layer; kept opaque here. */
export interface ServerCommand<Ctx = unknown> extends CommandBase {
  readonly kind: 'server';
  readonly run: (ctx: Ctx, argv: readonly string[]) => Reply | Promise<Reply>;
  /** Subcommands (CLIENT, CONFIG, CLUSTER, COMMAND, OBJECT...), for COMMAND INFO/DOCS. */
  readonly subcommands?: readonly CommandBase[];
}

export type CommandSpec = DataCommand | ServerCommand;

/**
 * The argv indexes of a command line's keys, by the spec's getKeys or its legacy key triple (a
 * negative `last` counts from the end). The one definition routing and COMMAND GETKEYS share.
 */
export function keyIndexes(spec: CommandBase, argv: readonly string[]): number[] {
  if (spec.getKeys !== undefined) return spec.getKeys(argv).filter((i) => i < argv.length);
  const range = spec.keys;
  if (range === null || range.first >= argv.length) return [];
  const last = Math.min(range.last < 0 ? argv.length + range.last : range.last, argv.length - 1);
  const indexes: number[] = [];
  for (let i = range.first; i <= last; i += range.step) indexes.push(i);
  return indexes;
}
