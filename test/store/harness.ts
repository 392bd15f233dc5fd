// Test helpers for the keyspace and the string/key commands: run handlers on a Keyspace without
// sockets, and run the same commands on a real redis-server to compare replies side by side.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Keyspace } from '../../src/store/keyspace.js';
import type { CollectionType, CollectionValue } from '../../src/store/value.js';
import { stringCommands } from '../../src/commands/strings.js';
import { keyCommands } from '../../src/commands/keys.js';
import type { DataCommand } from '../../src/commands/types.js';
import {
  BoolReply,
  ErrorReply,
  MapReply,
  NullArray,
  SetReply,
  SimpleString,
  type Reply,
} from '../../src/resp/reply.js';
import { RedisParser, connectSocket, encodeRequest } from '../support/resp-client.js';
import { startRedisServer, type RedisServer, type RedisServerOptions } from '../support/real-redis.js';

const specs = new Map<string, DataCommand>();
for (const spec of [...stringCommands, ...keyCommands]) if (spec.kind === 'data') specs.set(spec.name, spec);

/** Runs data commands on one Keyspace, with dispatch's arity check; the clock is `nowMs`. */
export class Runner {
  nowMs = 1_700_000_000_000;
  resp: 2 | 3 = 2;
  private seed = 1;

  constructor(readonly db: Keyspace = new Keyspace()) {}

  run(...argv: string[]): Reply {
    const spec = specs.get(argv[0]!.toLowerCase());
    if (spec === undefined) throw new Error(`no such command in the harness: ${argv[0]}`);
    if ((spec.arity > 0 && argv.length !== spec.arity) || (spec.arity < 0 && argv.length < -spec.arity)) {
      return new ErrorReply(`ERR wrong number of arguments for '${spec.name}' command`);
    }
    let state = this.seed++;
    const random = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state / 0x100000000;
    };
    const reply = spec.run({ db: this.db, nowMs: this.nowMs, random, resp: this.resp }, argv);
    if (typeof reply === 'symbol') throw new Error('unexpected WOULD_BLOCK');
    return reply;
  }
}

/** A reply as plain data comparable with what redis-parser gives (RESP2 view). */
export type Plain = null | string | { error: string } | Plain[];

export function plain(reply: Reply): Plain {
  if (reply === null || reply instanceof NullArray) return null;
  if (typeof reply === 'number' || typeof reply === 'bigint') return String(reply);
  if (typeof reply === 'string') return reply;
  if (Buffer.isBuffer(reply)) return reply.latin1Slice();
  if (Array.isArray(reply)) return reply.map(plain);
  if (reply instanceof SimpleString) return reply.value;
  if (reply instanceof ErrorReply) return { error: reply.message };
  if (reply instanceof MapReply) return reply.entries.map(plain);
  if (reply instanceof SetReply) return reply.items.map(plain);
  if (reply instanceof BoolReply) return reply.value ? '1' : '0';
  throw new Error(`reply kind not handled by the harness: ${String(reply)}`);
}

function plainFromParser(value: unknown): Plain {
  if (value === null) return null;
  if (Buffer.isBuffer(value)) return value.latin1Slice();
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(plainFromParser);
  if (value instanceof Error) return { error: value.message };
  return String(value);
}

/** A real redis-server on a free port with a one-request-at-a-time client. */
export class RealRedis {
  private queue: ((value: Plain) => void)[] = [];

  private constructor(
    private readonly server: RedisServer,
    private readonly socket: Socket,
  ) {
    const parser = new RedisParser({
      returnReply: (reply) => this.queue.shift()?.(plainFromParser(reply)),
      returnError: (error) => this.queue.shift()?.(plainFromParser(error)),
      returnBuffers: true,
      stringNumbers: true,
    });
    socket.on('data', (chunk) => parser.execute(chunk));
  }

  static async start(options: RedisServerOptions = {}): Promise<RealRedis> {
    const server = await startRedisServer(options);
    try {
      return new RealRedis(server, await connectSocket(server.port));
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  call(...argv: string[]): Promise<Plain> {
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.socket.write(encodeRequest(argv));
    });
  }

  async stop(): Promise<void> {
    this.socket.destroy();
    await this.server.stop();
  }
}

/** Runs each command on both sides (ours at Date.now()) and returns the pairs that differ. */
export async function compareScript(
  redis: RealRedis,
  runner: Runner,
  script: string[][],
): Promise<{ argv: string[]; ours: Plain; theirs: Plain }[]> {
  const diffs: { argv: string[]; ours: Plain; theirs: Plain }[] = [];
  for (const argv of script) {
    const theirs = await redis.call(...argv);
    runner.nowMs = Date.now();
    const ours = plain(runner.run(...argv));
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) diffs.push({ argv, ours, theirs });
  }
  return diffs;
}

/** A script written one command a line, words split on spaces; `""` stands for the empty string. */
export function words(lines: string): string[][] {
  return lines
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map((w) => (w === '""' ? '' : w)));
}

/** Flushes the real server, runs the script on both sides and asserts that every reply is the same. */
export async function assertSameReplies(redis: RealRedis, script: string[][], runner = new Runner()): Promise<void> {
  await redis.call('FLUSHALL');
  const diffs = await compareScript(redis, runner, script);
  assert.deepEqual(diffs, []);
}

/** A stand-in collection for keyspace tests (the real types live in src/store/types/). */
export class FakeCollection implements CollectionValue {
  accountedBytes = 0;
  constructor(
    readonly type: CollectionType,
    public bytes: number,
  ) {}
  encoding(): string {
    return 'listpack';
  }
  memoryBytes(): number {
    return this.bytes;
  }
  clone(): FakeCollection {
    return new FakeCollection(this.type, this.bytes);
  }
}
