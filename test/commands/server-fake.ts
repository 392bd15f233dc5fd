// Test helper: a fake ServerContext (sessions, config, stats, one keyspace, a cluster view) for calling
// server command handlers directly, without sockets.
import type { ConfigStore, ServerApi, ServerContext, Session } from '../../src/commands/server-context.js';
import type { CommandSpec } from '../../src/commands/types.js';
import { buildCommandTable } from '../../src/commands/table.js';
import { ClusterView, oneNodeView } from '../../src/cluster/view.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { OK, type Reply } from '../../src/resp/reply.js';

export const NODE_ID = 'e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca';
export const START_MS = 1_700_000_000_000;

export class FakeSession implements Session {
  resp: 2 | 3 = 2;
  name = '';
  libName = '';
  libVer = '';
  authenticated = true;
  readonlyMode = false;
  asking = false;
  lastInteractionMs: number;
  lastCommand = '';
  subscriptions = 0;
  patterns = 0;
  multi = false;
  closedAfterReply = false;
  killed = false;
  resets = 0;
  constructor(
    readonly id: number,
    readonly remoteAddress: string,
    readonly localAddress = '127.0.0.1:6379',
    readonly createdAtMs = START_MS,
  ) {
    this.lastInteractionMs = createdAtMs;
  }
  queryBufferBytes(): number {
    return 0;
  }
  outputBufferBytes(): number {
    return 0;
  }
  subscriptionCount(): number {
    return this.subscriptions;
  }
  patternCount(): number {
    return this.patterns;
  }
  inMulti(): boolean {
    return this.multi;
  }
  closeAfterReply(): void {
    this.closedAfterReply = true;
  }
  kill(): void {
    this.killed = true;
  }
  reset(): void {
    this.resets++;
    this.resp = 2;
    this.name = '';
    this.readonlyMode = false;
  }
}

/** A minimal config store: known directives with string values; unknown names refused as Redis does. */
export class FakeConfig implements ConfigStore {
  readonly values = new Map<string, string>([
    ['requirepass', ''],
    ['maxclients', '10000'],
    ['maxmemory', '0'],
    ['maxmemory-policy', 'noeviction'],
    ['hz', '10'],
    ['save', ''],
    ['appendonly', 'no'],
  ]);
  get(patterns: readonly string[]): [string, string][] {
    return [...this.values].filter(([name]) => patterns.some((p) => p === name || p === '*'));
  }
  set(pairs: readonly [string, string][]): string | null {
    for (const [name] of pairs) {
      if (!this.values.has(name)) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
    }
    for (const [name, value] of pairs) this.values.set(name, value);
    return null;
  }
  value(name: string): string | undefined {
    return this.values.get(name);
  }
}

export interface Fake {
  ctx: ServerContext;
  session: FakeSession;
  sessions: FakeSession[];
  config: FakeConfig;
  keyspace: Keyspace;
  table: Map<string, CommandSpec>;
  calls: { flushAll: number; shutdown: number; resetStats: number };
  setView(view: ClusterView): void;
  /** Runs a command line through its table entry (name lookup and top-level arity, as dispatch does). */
  run(...argv: string[]): Reply | Promise<Reply>;
  /** The same as another session. */
  runAs(session: FakeSession, ...argv: string[]): Reply | Promise<Reply>;
  nowMs: number;
}

export function fakeServer(): Fake {
  const table = buildCommandTable();
  const config = new FakeConfig();
  const keyspace = new Keyspace();
  const session = new FakeSession(7, '127.0.0.1:50001');
  const sessions = [session, new FakeSession(8, '127.0.0.1:50002'), new FakeSession(9, '10.0.0.5:40000', '10.0.0.1:6379')];
  let view = oneNodeView(NODE_ID, '127.0.0.1', 6379, 16379);
  const calls = { flushAll: 0, shutdown: 0, resetStats: 0 };
  const commandStats = new Map([['get', { calls: 3, usec: 10.5, rejected: 0, failed: 1 }]]);
  const fake: Fake = {
    ctx: undefined as unknown as ServerContext,
    session,
    sessions,
    config,
    keyspace,
    table,
    calls,
    nowMs: START_MS + 65_250,
    setView(next) {
      view = next;
    },
    run: (...argv) => fake.runAs(session, ...argv),
    runAs(who, ...argv) {
      const spec = table.get(argv[0]!.toLowerCase());
      if (spec === undefined || spec.kind !== 'server') throw new Error(`no server command ${argv[0]}`);
      if ((spec.arity > 0 && argv.length !== spec.arity) || argv.length < -spec.arity) {
        throw new Error(`bad arity for ${argv[0]}`);
      }
      return spec.run({ session: who, server }, argv);
    },
  };
  const server: ServerApi = {
    config,
    stats: {
      startedAtMs: START_MS,
      totalConnectionsReceived: 12,
      totalCommandsProcessed: 345,
      rejectedConnections: 0,
      expiredKeys: 2,
      evictedKeys: 0,
      keyspaceHits: 5,
      keyspaceMisses: 6,
      totalNetInputBytes: 1000,
      totalNetOutputBytes: 2000,
      totalErrorReplies: 4,
      errorReplies: new Map([['ERR', 3], ['WRONGTYPE', 1]]),
      commands: commandStats,
      reset: () => void calls.resetStats++,
    },
    clients: () => sessions,
    cluster: () => view,
    keyspaces: () => [keyspace],
    commands: () => table,
    flushAll: () => {
      calls.flushAll++;
      keyspace.flush();
      return OK;
    },
    process: { pid: 4242, tcpPort: 6379, configFile: '', executable: '/usr/bin/slotraft', runId: 'f'.repeat(40), os: 'Linux 6.1.0 x86_64', archBits: 64 },
    resources: () => ({ rssBytes: 50 * 1024 * 1024, cpuUserSeconds: 1.5, cpuSysSeconds: 0.25 }),
    nowMs: () => fake.nowMs,
    shutdown: () => void calls.shutdown++,
  };
  fake.ctx = { session, server };
  return fake;
}
