// MULTI/EXEC/DISCARD/WATCH/UNWATCH (Redis 7.0 multi.c).
//
// Each connection has a ClientTransaction: the queue of commands since MULTI, whether a queue-time
// error flagged it, and its watched keys. The WatchRegistry marks watchers dirty when a watched key
// is modified, through the keyspace's modification listener (attached only while some key of that
// keyspace is watched, so that writes cost nothing more when nobody watches). EXEC itself is run by
// the dispatcher, which executes the queued data commands as one engine step.

import type { Session, TransactionApi } from '../commands/server-context.js';
import type { CommandSpec } from '../commands/types.js';
import { ErrorReply, NullArray, OK, type Reply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import type { Keyspace } from '../store/keyspace.js';

/** A command queued by MULTI. */
export interface QueuedCommand {
  readonly spec: CommandSpec;
  readonly argv: readonly string[];
}

/** Commands per transaction: past this, the transaction is flagged (Redis has no limit but memory). */
export const MULTI_QUEUE_MAX = 100_000;
const QUEUE_FULL = 'ERR Transaction queue is full';

/** One watched key of one connection. */
interface WatchedKey {
  readonly watcher: Watcher;
  readonly keyspace: Keyspace;
  readonly key: string;
  /** The key existed at WATCH time (a later flush or logical expiry of it is a change). */
  readonly existed: boolean;
}

/** A connection's watched keys; dirty once one of them changed. */
export class Watcher {
  dirty = false;
  readonly keys: WatchedKey[] = [];
}

interface KeyspaceWatches {
  readonly byKey: Map<string, Set<WatchedKey>>;
  readonly detach: () => void;
}

export class WatchRegistry {
  private readonly keyspaces = new Map<Keyspace, KeyspaceWatches>();

  constructor(private readonly nowMs: () => number) {}

  watch(watcher: Watcher, keyspace: Keyspace, key: string): void {
    let watches = this.keyspaces.get(keyspace);
    const existing = watches?.byKey.get(key);
    if (existing !== undefined) for (const w of existing) if (w.watcher === watcher) return;
    if (watches === undefined) {
      const byKey = new Map<string, Set<WatchedKey>>();
      const detach = keyspace.addListener((modified) => this.onModified(keyspace, byKey, modified));
      watches = { byKey, detach };
      this.keyspaces.set(keyspace, watches);
    }
    const watched: WatchedKey = { watcher, keyspace, key, existed: keyspace.exists(key, this.nowMs()) };
    let set = watches.byKey.get(key);
    if (set === undefined) watches.byKey.set(key, (set = new Set()));
    set.add(watched);
    watcher.keys.push(watched);
  }

  /** Forgets every key of `watcher` and clears its dirty flag (UNWATCH, EXEC, DISCARD). */
  unwatchAll(watcher: Watcher): void {
    for (const watched of watcher.keys) {
      const watches = this.keyspaces.get(watched.keyspace);
      if (watches === undefined) continue;
      const set = watches.byKey.get(watched.key);
      set?.delete(watched);
      if (set !== undefined && set.size === 0) watches.byKey.delete(watched.key);
      if (watches.byKey.size === 0) {
        watches.detach();
        this.keyspaces.delete(watched.keyspace);
      }
    }
    watcher.keys.length = 0;
    watcher.dirty = false;
  }

  /** Dirty, or a key that existed at WATCH time has logically expired since (Redis isWatchedKeyExpired). */
  isDirty(watcher: Watcher): boolean {
    if (watcher.dirty) return true;
    const now = this.nowMs();
    return watcher.keys.some((w) => w.existed && !w.keyspace.exists(w.key, now));
  }

  /** Keys watched on the node (for tests and INFO). */
  watchedKeys(): number {
    let count = 0;
    for (const watches of this.keyspaces.values()) count += watches.byKey.size;
    return count;
  }

  private onModified(keyspace: Keyspace, byKey: Map<string, Set<WatchedKey>>, key: string | null): void {
    if (key === null) {
      // FLUSHALL touches the watched keys that existed (Redis touchAllWatchedKeysInDb).
      for (const set of byKey.values()) for (const w of set) if (w.existed) w.watcher.dirty = true;
      return;
    }
    const set = byKey.get(key);
    if (set === undefined) return;
    const existsNow = keyspace.exists(key, this.nowMs());
    for (const w of set) {
      // Absent at WATCH and still absent: an already expired key was deleted, no logical change.
      if (!w.existed && !existsNow) continue;
      w.watcher.dirty = true;
    }
  }
}

/** What a connection's transaction needs from dispatch. */
export interface TransactionHost {
  readonly watches: WatchRegistry;
  /** The keyspace holding `key` on this node (WATCH was routed already, so the key is local). */
  keyspaceOf(key: string): Keyspace;
  /** The routing error of EXEC over every queued key (CROSSSLOT, MOVED...), or null. */
  routeQueue(session: Session, queue: readonly QueuedCommand[]): ErrorReply | null;
  /** Runs the queued commands atomically; the reply is the array of their replies. */
  runQueue(queue: readonly QueuedCommand[]): Reply | Promise<Reply>;
}

const EXECABORT = new ErrorReply(errors.EXECABORT);

/** The MULTI state of one connection. */
export class ClientTransaction implements TransactionApi {
  private queue: QueuedCommand[] | null = null;
  /** A queue-time error: EXEC answers EXECABORT. */
  private failed = false;
  private readonly watcher = new Watcher();

  constructor(
    private readonly session: Session,
    private readonly host: TransactionHost,
  ) {}

  active(): boolean {
    return this.queue !== null;
  }

  /** Queues a command; an error reply if the queue is full (which also flags the transaction). */
  enqueue(spec: CommandSpec, argv: readonly string[]): ErrorReply | null {
    const queue = this.queue!;
    if (queue.length >= MULTI_QUEUE_MAX) {
      this.failed = true;
      return new ErrorReply(QUEUE_FULL);
    }
    queue.push({ spec, argv });
    return null;
  }

  /** A command was refused while queueing: EXEC will answer EXECABORT. */
  flag(): void {
    if (this.queue !== null) this.failed = true;
  }

  multi(): Reply {
    if (this.queue !== null) return new ErrorReply(errors.MULTI_NESTED);
    this.queue = [];
    this.failed = false;
    return OK;
  }

  exec(): Reply | Promise<Reply> {
    const queue = this.queue;
    if (queue === null) return new ErrorReply(errors.EXEC_WITHOUT_MULTI);
    const failed = this.failed;
    const routeError = this.host.routeQueue(this.session, queue);
    const dirty = this.host.watches.isDirty(this.watcher);
    this.discardAll();
    if (routeError !== null) return routeError;
    if (failed) return EXECABORT;
    if (dirty) return NullArray.instance;
    return this.host.runQueue(queue);
  }

  discard(): Reply {
    if (this.queue === null) return new ErrorReply(errors.DISCARD_WITHOUT_MULTI);
    this.discardAll();
    return OK;
  }

  watch(keys: readonly string[]): Reply {
    if (this.queue !== null) return new ErrorReply(errors.WATCH_IN_MULTI);
    for (const key of keys) this.host.watches.watch(this.watcher, this.host.keyspaceOf(key), key);
    return OK;
  }

  unwatch(): Reply {
    this.host.watches.unwatchAll(this.watcher);
    return OK;
  }

  /** Drops the queue and the watched keys (EXEC, DISCARD, RESET, disconnection). */
  discardAll(): void {
    this.queue = null;
    this.failed = false;
    if (this.watcher.keys.length > 0 || this.watcher.dirty) this.host.watches.unwatchAll(this.watcher);
  }
}
