// Clients parked by blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX,
// BZMPOP): a command that returns WOULD_BLOCK waits here on its keys, first come first served per
// key as in Redis. A write to one of those keys (the keyspace's modification listener, attached only
// while someone waits) marks the key ready; after the command that wrote it, the dispatcher calls
// serveReady(), which re-runs the first waiter's command through the engine as a write. A waiter
// whose timeout passes gets the null array; one timer, set for the earliest deadline, checks them.

import type { BlockingApi } from '../commands/server-context.js';
import { parseTimeoutMs } from '../commands/collection-args.js';
import { WOULD_BLOCK, type DataCommand } from '../commands/types.js';
import { ErrorReply, NullArray, type Reply } from '../resp/reply.js';
import type { Keyspace } from '../store/keyspace.js';
import type { EngineResult, ShardEngine } from './engine.js';

/** A connection as the registry sees it: `blocked` stops it from running its next requests. */
export interface BlockableClient {
  readonly id: number;
  blocked: boolean;
}

const UNBLOCKED_ERROR = new ErrorReply('UNBLOCKED client unblocked via CLIENT UNBLOCK');
/** Rounds of serveReady: each serves at least one waiter or ends it, so this only bounds a bug. */
const SERVE_ROUNDS_MAX = 100_000;
/** setTimeout's largest delay; later deadlines are reached in several steps. */
const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

interface Waiter {
  readonly client: BlockableClient;
  readonly command: DataCommand;
  readonly argv: readonly string[];
  readonly keys: readonly string[];
  readonly engine: ShardEngine;
  readonly resp: 2 | 3;
  /** ms since epoch; Infinity for a timeout of 0. */
  readonly deadlineMs: number;
  readonly resolve: (reply: Reply) => void;
}

/** The argument holding a blocking command's timeout. */
function timeoutArg(command: DataCommand, argv: readonly string[]): string {
  switch (command.name) {
    case 'blmpop':
    case 'bzmpop':
      return argv[1]!;
    case 'blmove':
      return argv[5]!;
    case 'brpoplpush':
      return argv[3]!;
    default:
      return argv[argv.length - 1]!;
  }
}

/** The type a key must hold for the waiters of a command to be served (Redis 7.0 serves by type). */
function servedType(command: DataCommand): string {
  return command.group === 'sorted-set' ? 'zset' : 'list';
}

export class BlockingRegistry implements BlockingApi {
  /** Waiters per key, in arrival order. */
  private readonly byKey = new Map<string, Waiter[]>();
  private readonly byClient = new Map<number, Waiter>();
  /** Keys written since the last serveReady() that have waiters. */
  private readonly ready = new Set<string>();
  /** Listener of each keyspace with waiters, and how many waiters it has. */
  private readonly listeners = new Map<Keyspace, { detach: () => void; waiters: number }>();
  private timer: NodeJS.Timeout | null = null;
  private timerAtMs = Infinity;

  constructor(private readonly nowMs: () => number) {}

  /**
   * Parks `client` until its command can be served; the promise resolves with the command's reply,
   * the timeout reply, or CLIENT UNBLOCK's. The client runs no other request meanwhile.
   */
  park(
    client: BlockableClient,
    command: DataCommand,
    argv: readonly string[],
    keys: readonly string[],
    engine: ShardEngine,
    resp: 2 | 3,
  ): Reply | Promise<Reply> {
    const timeoutMs = parseTimeoutMs(timeoutArg(command, argv));
    if (timeoutMs instanceof ErrorReply) return timeoutMs;
    const deadlineMs = timeoutMs === 0 ? Infinity : this.nowMs() + timeoutMs;
    return new Promise<Reply>((resolve) => {
      const waiter: Waiter = { client, command, argv, keys, engine, resp, deadlineMs, resolve };
      this.add(waiter, false);
    });
  }

  blockedClients(): number {
    return this.byClient.size;
  }

  hasReady(): boolean {
    return this.ready.size !== 0;
  }

  /** A disconnected client: forgotten without a reply. */
  remove(clientId: number): void {
    const waiter = this.byClient.get(clientId);
    if (waiter !== undefined) this.detach(waiter);
  }

  unblock(clientId: number, withError: boolean): boolean {
    const waiter = this.byClient.get(clientId);
    if (waiter === undefined) return false;
    this.finish(waiter, withError ? UNBLOCKED_ERROR : NullArray.instance);
    return true;
  }

  /** Answers every waiter parked on `engine` with the reply `replyFor` gives (its shard moved away). */
  redirect(engine: ShardEngine, replyFor: (keys: readonly string[]) => Reply): void {
    for (const waiter of [...this.byClient.values()]) {
      if (waiter.engine === engine) this.finish(waiter, replyFor(waiter.keys));
    }
  }

  /** Serves the waiters of the keys written since the last call, in arrival order per key. */
  serveReady(): void {
    for (let round = 0; round < SERVE_ROUNDS_MAX && this.ready.size !== 0; round++) {
      const keys = [...this.ready];
      this.ready.clear();
      for (const key of keys) this.serveKey(key);
    }
  }

  /** Answers the waiters whose deadline has passed (called by the timer; public for tests). */
  expire(nowMs: number): void {
    for (const waiter of [...this.byClient.values()]) {
      if (waiter.deadlineMs <= nowMs) this.finish(waiter, NullArray.instance);
    }
    this.schedule();
  }

  private serveKey(key: string): void {
    const queue = this.byKey.get(key);
    while (queue !== undefined && queue.length > 0) {
      const waiter = queue[0]!;
      const keyspace = waiter.engine.keyspace;
      if (keyspace.type(key, this.nowMs()) !== servedType(waiter.command)) return;
      this.detach(waiter);
      const result = waiter.engine.write(waiter.command, waiter.argv, waiter.resp);
      if (result instanceof Promise) {
        void result.then(
          (value) => this.settle(waiter, value),
          () => this.settle(waiter, WOULD_BLOCK),
        );
        return; // the next waiter is served once the key changes again
      }
      if (!this.settle(waiter, result)) return;
    }
  }

  /** Answers a re-run waiter, or parks it again at the head of its queues; false if re-parked. */
  private settle(waiter: Waiter, result: EngineResult): boolean {
    if (result === WOULD_BLOCK) {
      this.add(waiter, true);
      return false;
    }
    waiter.client.blocked = false;
    waiter.resolve(result);
    return true;
  }

  private finish(waiter: Waiter, reply: Reply): void {
    this.detach(waiter);
    waiter.client.blocked = false;
    waiter.resolve(reply);
  }

  private add(waiter: Waiter, first: boolean): void {
    waiter.client.blocked = true;
    this.byClient.set(waiter.client.id, waiter);
    for (const key of new Set(waiter.keys)) {
      let queue = this.byKey.get(key);
      if (queue === undefined) this.byKey.set(key, (queue = []));
      if (first) queue.unshift(waiter);
      else queue.push(waiter);
    }
    const keyspace = waiter.engine.keyspace;
    const listener = this.listeners.get(keyspace);
    if (listener !== undefined) {
      listener.waiters++;
    } else {
      const detach = keyspace.addListener((key) => {
        if (key !== null && this.byKey.has(key)) this.ready.add(key);
      });
      this.listeners.set(keyspace, { detach, waiters: 1 });
    }
    if (waiter.deadlineMs < this.timerAtMs) this.schedule();
  }

  private detach(waiter: Waiter): void {
    if (this.byClient.get(waiter.client.id) !== waiter) return;
    this.byClient.delete(waiter.client.id);
    for (const key of new Set(waiter.keys)) {
      const queue = this.byKey.get(key);
      if (queue === undefined) continue;
      const at = queue.indexOf(waiter);
      if (at >= 0) queue.splice(at, 1);
      if (queue.length === 0) this.byKey.delete(key);
    }
    const keyspace = waiter.engine.keyspace;
    const listener = this.listeners.get(keyspace);
    if (listener !== undefined && --listener.waiters === 0) {
      listener.detach();
      this.listeners.delete(keyspace);
    }
    if (this.byClient.size === 0) this.schedule();
  }

  /** Sets the timer for the earliest deadline (none when nobody waits with a timeout). */
  private schedule(): void {
    let earliest = Infinity;
    for (const waiter of this.byClient.values()) if (waiter.deadlineMs < earliest) earliest = waiter.deadlineMs;
    if (earliest === this.timerAtMs) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.timerAtMs = earliest;
    if (earliest === Infinity) return;
    const delay = Math.min(Math.max(0, earliest - this.nowMs()), TIMER_DELAY_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAtMs = Infinity;
      this.expire(this.nowMs());
    }, delay);
    this.timer.unref();
  }
}
