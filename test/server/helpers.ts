// Test helpers: an in-process server on port 0 (with a few test-only commands added to the real
// table), and a raw client that reads exact bytes or parses RESP2 with redis-parser.
import { connect, type Socket } from 'node:net';
import { buildCommandTable } from '../../src/commands/table.js';
import type { CommandSpec, DataCommand, ServerCommand } from '../../src/commands/types.js';
import type { ServerContext } from '../../src/commands/server-context.js';
import { loadConfig } from '../../src/server/config.js';
import { Logger } from '../../src/server/logger.js';
import { SlotraftServer } from '../../src/server/server.js';
import { OK, type Reply } from '../../src/resp/reply.js';
import { RedisParser, encodeCommand } from '../support/resp-client.js';

const base = { categories: [], summary: 'test only', since: '0', group: 'test' };

/** Test-only commands, added under names the real table does not have (t.set, t.get, ...). */
export const TEST_COMMANDS: CommandSpec[] = [
  {
    ...base,
    kind: 'data',
    name: 't.set',
    arity: 3,
    flags: ['write', 'denyoom'],
    keys: { first: 1, last: 1, step: 1 },
    run: (ctx, argv) => {
      ctx.db.set(argv[1]!, argv[2]!, ctx.nowMs);
      return OK;
    },
  } satisfies DataCommand,
  {
    ...base,
    kind: 'data',
    name: 't.get',
    arity: 2,
    flags: ['readonly'],
    keys: { first: 1, last: 1, step: 1 },
    run: (ctx, argv) => {
      const value = ctx.db.get(argv[1]!, ctx.nowMs);
      return typeof value === 'string' ? value : null;
    },
  } satisfies DataCommand,
  {
    ...base,
    kind: 'data',
    name: 't.mget',
    arity: -2,
    flags: ['readonly'],
    keys: { first: 1, last: -1, step: 1 },
    run: (ctx, argv) => argv.slice(1).map((k) => (ctx.db.get(k, ctx.nowMs) as string | undefined) ?? null),
  } satisfies DataCommand,
  {
    // Replies after `ms` milliseconds: an asynchronous reply, to test ordering.
    ...base,
    kind: 'server',
    name: 't.later',
    arity: 3,
    flags: [],
    keys: null,
    run: (_ctx: unknown, argv: readonly string[]): Promise<Reply> =>
      new Promise((resolve) => setTimeout(() => resolve(argv[2]!), Number(argv[1]))),
  } satisfies ServerCommand,
  {
    // A reply of `n` bytes, to fill output buffers.
    ...base,
    kind: 'server',
    name: 't.big',
    arity: 2,
    flags: [],
    keys: null,
    run: (_ctx: unknown, argv: readonly string[]): Reply => 'x'.repeat(Number(argv[1])),
  } satisfies ServerCommand,
  {
    ...base,
    kind: 'server',
    name: 't.auth',
    arity: 1,
    flags: ['no_auth'],
    keys: null,
    run: (ctx: unknown): Reply => {
      (ctx as ServerContext).session.authenticated = true;
      return OK;
    },
  } satisfies ServerCommand,
  {
    ...base,
    kind: 'server',
    name: 't.resp3',
    arity: 1,
    flags: [],
    keys: null,
    run: (ctx: unknown): Reply => {
      (ctx as ServerContext).session.resp = 3;
      return OK;
    },
  } satisfies ServerCommand,
];

export function testTable(): Map<string, CommandSpec> {
  const table = buildCommandTable();
  for (const spec of TEST_COMMANDS) if (!table.has(spec.name)) table.set(spec.name, spec);
  return table;
}

export interface TestServer {
  readonly server: SlotraftServer;
  readonly port: number;
  readonly logs: string[];
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1, port 0, with flags such as ['--requirepass', 'x']. */
export async function startServer(flags: string[] = []): Promise<TestServer> {
  const config = loadConfig({ flags: ['--port', '0', ...flags] });
  const logs: string[] = [];
  const logger = new Logger('verbose', '', (line) => logs.push(line));
  const server = new SlotraftServer({ config, logger, nodeId: 'a'.repeat(40), commands: testTable() });
  const port = await server.start();
  return { server, port, logs, close: () => server.close() };
}

/** A raw client: exact bytes in, exact bytes out. */
export class RawClient {
  private received = '';
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.latin1Slice(0, chunk.length);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** Sends a command as a multibulk request. */
  send(...argv: string[]): void {
    this.write(encodeCommand(argv));
  }

  /** Waits until `length` bytes arrived (or the socket closed), then takes them. */
  async read(length: number, timeoutMs = 5000): Promise<string> {
    await this.until(() => this.received.length >= length || this.closed, timeoutMs);
    const taken = this.received.slice(0, length);
    this.received = this.received.slice(taken.length);
    return taken;
  }

  /** Reads exactly the bytes `expected` is long and returns them (compare with assert). */
  expect(expected: string, timeoutMs = 5000): Promise<string> {
    return this.read(expected.length, timeoutMs);
  }

  /** Waits until the bytes received end with `suffix`, then takes them all. */
  async readUntil(suffix: string, timeoutMs = 5000): Promise<string> {
    await this.until(() => this.received.endsWith(suffix) || this.closed, timeoutMs);
    const all = this.received;
    this.received = '';
    return all;
  }

  /** Waits for the server to close the connection; returns everything received before. */
  async readToClose(timeoutMs = 5000): Promise<string> {
    await this.until(() => this.closed, timeoutMs);
    const all = this.received;
    this.received = '';
    return all;
  }

  /** Sends commands and parses the RESP2 replies with redis-parser. */
  async call(...argv: string[]): Promise<unknown> {
    const [reply] = await this.pipeline([argv]);
    return reply;
  }

  async pipeline(commands: string[][], timeoutMs = 5000): Promise<unknown[]> {
    this.write(commands.map(encodeCommand).join(''));
    const replies: unknown[] = [];
    const parser = new RedisParser({
      returnReply: (reply) => replies.push(reply),
      returnError: (error) => replies.push(new Error(error.message)),
    });
    await this.until(() => {
      if (this.received.length > 0) {
        parser.execute(Buffer.from(this.received, 'latin1'));
        this.received = '';
      }
      return replies.length >= commands.length || this.closed;
    }, timeoutMs);
    return replies;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received so far: ${JSON.stringify(this.received.slice(0, 200))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
