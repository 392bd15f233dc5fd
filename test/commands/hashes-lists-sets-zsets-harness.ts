// Test helper for the collection commands: runs command handlers on a real Keyspace (no sockets), and
// runs the same script on a real redis-server (started on a free port) to compare reply bytes.
import net from 'node:net';
import { Keyspace } from '../../src/store/keyspace.js';
import { encodeReply } from '../../src/resp/encoder.js';
import { ErrorReply, SimpleString, type Reply } from '../../src/resp/reply.js';
import { wrongArity } from '../../src/resp/errors.js';
import { WOULD_BLOCK, type DataCommand, type WouldBlock } from '../../src/commands/types.js';
import { hashCommands } from '../../src/commands/hashes.js';
import { listCommands } from '../../src/commands/lists.js';
import { setCommands } from '../../src/commands/sets.js';
import { zsetCommands } from '../../src/commands/zsets.js';
import { Prng } from '../sim/prng.js';
import { HOST, encodeCommand } from '../support/resp-client.js';
import { startRedisServer, type RedisServer } from '../support/real-redis.js';

const table = new Map<string, DataCommand>();
for (const spec of [...hashCommands, ...listCommands, ...setCommands, ...zsetCommands]) {
  if (spec.kind === 'data') table.set(spec.name, spec);
}
export const commandTable: ReadonlyMap<string, DataCommand> = table;

/** A keyspace plus a fake clock and a seeded PRNG, running commands as dispatch would. */
export class Runner {
  readonly db = new Keyspace();
  nowMs = 1_700_000_000_000;
  private readonly prng: Prng;

  constructor(
    public resp: 2 | 3 = 2,
    seed = 1,
  ) {
    this.prng = new Prng(seed);
  }

  run(...argv: string[]): Reply | WouldBlock {
    const foreign = this.foreign(argv);
    if (foreign !== undefined) return foreign;
    const spec = table.get(argv[0]!.toLowerCase());
    if (spec === undefined) throw new Error(`unknown command ${argv[0]}`);
    const ok = spec.arity >= 0 ? argv.length === spec.arity : argv.length >= -spec.arity;
    if (!ok) return new ErrorReply(wrongArity(spec.name));
    return spec.run({ db: this.db, nowMs: this.nowMs, random: () => this.prng.float(), resp: this.resp }, argv);
  }

  /** The few string/key commands test scripts use (they belong to other files), done directly. */
  private foreign(argv: string[]): Reply | undefined {
    switch (argv[0]!.toUpperCase()) {
      case 'SET':
        this.db.set(argv[1]!, argv[2]!, this.nowMs);
        return new SimpleString('OK');
      case 'EXISTS':
        return argv.slice(1).filter((k) => this.db.exists(k, this.nowMs)).length;
      case 'DEL':
        return argv.slice(1).filter((k) => this.db.delete(k, this.nowMs)).length;
      case 'OBJECT': {
        const value = this.db.get(argv[2]!, this.nowMs);
        if (value === undefined) return null;
        return typeof value === 'string' ? 'embstr' : value.encoding();
      }
      case 'TYPE':
        return new SimpleString(this.db.type(argv[1]!, this.nowMs));
      default:
        return undefined;
    }
  }

  /** The reply encoded for the runner's protocol (WOULD_BLOCK encodes as `<blocked>`). */
  wire(...argv: string[]): string {
    const reply = this.run(...argv);
    return reply === WOULD_BLOCK ? '<blocked>' : encodeReply(reply, this.resp);
  }
}

/** Length of the RESP2/RESP3 frame starting at `pos`, or -1 when incomplete. */
export function frameEnd(buf: string, pos: number): number {
  const lineEnd = buf.indexOf('\r\n', pos);
  if (lineEnd === -1) return -1;
  const type = buf[pos];
  const header = buf.slice(pos + 1, lineEnd);
  let next = lineEnd + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      const len = Number(header);
      if (len < 0) return next;
      return next + len + 2 <= buf.length ? next + len + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      let count = Number(header);
      if (count < 0) return next;
      if (type === '%' || type === '|') count *= 2;
      for (let i = 0; i < count; i++) {
        next = frameEnd(buf, next);
        if (next === -1) return -1;
      }
      return next;
    }
    default:
      return next;
  }
}

/** The top-level items of an aggregate frame, sorted (for replies whose order is a hash order). */
export function sortedItems(frame: string): string {
  const lineEnd = frame.indexOf('\r\n');
  const items: string[] = [];
  let pos = lineEnd + 2;
  while (pos < frame.length) {
    const end = frameEnd(frame, pos);
    items.push(frame.slice(pos, end));
    pos = end;
  }
  return frame.slice(0, lineEnd + 2) + items.sort().join('');
}

/** A real redis-server on a free port; `stop()` kills it. */
export class RealRedis {
  private constructor(private readonly server: RedisServer) {}

  get port(): number {
    return this.server.port;
  }

  static async start(): Promise<RealRedis> {
    return new RealRedis(await startRedisServer());
  }

  /** Runs commands in order on a fresh connection (HELLO 3 first for RESP3); returns each reply's bytes. */
  async script(resp: 2 | 3, commands: readonly (readonly string[])[]): Promise<string[]> {
    const all = resp === 3 ? [['HELLO', '3'], ...commands] : commands;
    const socket = net.connect(this.port, HOST);
    let data = '';
    const replies: string[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        let end: number;
        while (data.length > 0 && (end = frameEnd(data, 0)) !== -1) {
          replies.push(data.slice(0, end));
          data = data.slice(end);
        }
        if (replies.length >= all.length) resolve();
      });
      socket.write(Buffer.from(all.map(encodeCommand).join(''), 'latin1'));
    });
    socket.destroy();
    return resp === 3 ? replies.slice(1) : replies;
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

/**
 * A script line: argv, optionally prefixed by a comparison mode: `'sorted'` compares the top-level
 * items as a multiset (hash-ordered replies), `'shape'` compares only the first line (random picks).
 */
export type ScriptLine = readonly string[];

/** Splits the mode marker off a line. */
export function lineMode(line: ScriptLine): { mode: 'exact' | 'sorted' | 'shape'; argv: string[] } {
  if (line[0] === 'sorted' || line[0] === 'shape') return { mode: line[0], argv: line.slice(1) };
  return { mode: 'exact', argv: [...line] };
}

/** Compares our replies with real Redis's; returns a list of human-readable mismatches. */
export async function compareWithRedis(redis: RealRedis, resp: 2 | 3, script: readonly ScriptLine[]): Promise<string[]> {
  await redis.script(resp, [['FLUSHALL']]);
  const lines = script.map(lineMode);
  const theirs = await redis.script(
    resp,
    lines.map((l) => l.argv),
  );
  const runner = new Runner(resp);
  const mismatches: string[] = [];
  lines.forEach((line, i) => {
    let ours = runner.wire(...line.argv);
    let real = theirs[i]!;
    if (line.mode === 'sorted') {
      ours = sortedItems(ours);
      real = sortedItems(real);
    } else if (line.mode === 'shape') {
      ours = ours.slice(0, ours.indexOf('\r\n'));
      real = real.slice(0, real.indexOf('\r\n'));
    }
    if (ours !== real) mismatches.push(`RESP${resp} ${line.argv.join(' ')}\n  ours: ${JSON.stringify(ours)}\n  real: ${JSON.stringify(real)}`);
  });
  return mismatches;
}
