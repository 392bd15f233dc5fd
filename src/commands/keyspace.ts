// Keyless keyspace commands: KEYS, SCAN, RANDOMKEY, DBSIZE. They run on the node that receives
// them (never redirected, as in Redis Cluster) over every keyspace it serves reads for. The SCAN
// cursor is a slot number, so one cursor walks all local shards whatever shard holds a slot.
import type { CommandSpec, ServerCommand } from './types.js';
import type { ServerContext } from './server-context.js';
import { ErrorReply, type Reply } from '../resp/reply.js';
import { NOT_INTEGER, SYNTAX } from '../resp/errors.js';
import { globMatcher } from '../store/glob.js';
import { scanKeyspaces } from '../store/keyspace.js';
import { parseInt64 } from '../store/numbers.js';
import { SLOT_COUNT } from '../cluster/slot.js';

/** Redis's default SCAN COUNT. */
const SCAN_DEFAULT_COUNT = 10;
const UINT64_MAX = 2n ** 64n - 1n;

const keys = (ctx: ServerContext, argv: readonly string[]): Reply => {
  const nowMs = ctx.server.nowMs();
  const matches = globMatcher(argv[1]!);
  const found: string[] = [];
  for (const keyspace of ctx.server.keyspaces()) {
    for (let slot = 0; slot < SLOT_COUNT; slot++) {
      keyspace.forEachLiveKeyInSlot(slot, nowMs, (key) => {
        if (matches(key)) found.push(key);
      });
    }
  }
  return found;
};

/**
 * Redis's parseScanCursorOrReply (strtoul): digits with an optional sign, or the empty string (0);
 * out of range is an error; a negative number wraps around as strtoul does.
 */
function parseCursor(text: string): bigint | null {
  if (text !== '' && !/^[+-]?[0-9]+$/.test(text)) return null;
  const digits = text.replace(/^[+-]/, '');
  const value = digits === '' ? 0n : BigInt(digits);
  if (value > UINT64_MAX) return null;
  return text.startsWith('-') && value !== 0n ? UINT64_MAX + 1n - value : value; // strtoul wraps
}

const scan = (ctx: ServerContext, argv: readonly string[]): Reply => {
  const cursor = parseCursor(argv[1]!);
  if (cursor === null) return new ErrorReply('ERR invalid cursor');
  let count = SCAN_DEFAULT_COUNT;
  let match: string | undefined;
  let type: string | undefined;
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i]!.toLowerCase();
    const hasValue = i + 1 < argv.length;
    if (opt === 'count' && hasValue) {
      const n = parseInt64(argv[i + 1]!);
      if (n === null) return new ErrorReply(NOT_INTEGER);
      if (n < 1) return new ErrorReply(SYNTAX);
      count = Number(n);
    } else if (opt === 'match' && hasValue) {
      match = argv[i + 1]! === '*' ? undefined : argv[i + 1]!;
    } else if (opt === 'type' && hasValue) {
      type = argv[i + 1]!;
    } else {
      return new ErrorReply(SYNTAX);
    }
  }
  if (cursor >= BigInt(SLOT_COUNT)) return ['0', []];
  const result = scanKeyspaces(ctx.server.keyspaces(), Number(cursor), count, ctx.server.nowMs(), { match, type });
  return [String(result.cursor), result.keys];
};

/** Node-local randomness for RANDOMKEY (a read, so replicas need not agree): xorshift32 from the clock. */
let randomState = 0;
function nextRandom(seedMs: number): () => number {
  randomState = (randomState + 0x9e3779b9 + (seedMs & 0xffffffff)) >>> 0 || 1;
  return () => {
    let x = randomState;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    randomState = x >>> 0;
    return randomState / 0x100000000;
  };
}

const randomkey = (ctx: ServerContext): Reply => {
  const nowMs = ctx.server.nowMs();
  const random = nextRandom(nowMs);
  const keyspaces = ctx.server.keyspaces().filter((k) => k.size() > 0);
  // Pick a shard weighted by its key count, then a key in it.
  const total = keyspaces.reduce((sum, k) => sum + k.size(), 0);
  let pick = Math.floor(random() * total);
  for (const keyspace of keyspaces) {
    if (pick < keyspace.size()) return keyspace.randomKey(random, nowMs) ?? null;
    pick -= keyspace.size();
  }
  return null;
};

const dbsize = (ctx: ServerContext): Reply => ctx.server.keyspaces().reduce((sum, k) => sum + k.size(), 0);

function spec(
  name: string,
  arity: number,
  flags: ServerCommand['flags'],
  categories: string[],
  summary: string,
  since: string,
  group: string,
  run: (ctx: ServerContext, argv: readonly string[]) => Reply,
): ServerCommand<ServerContext> {
  return { kind: 'server', name, arity, flags, categories, keys: null, summary, since, group, run };
}

export const keyspaceCommands: CommandSpec[] = [
  spec('keys', 2, ['readonly'], ['keyspace', 'read', 'slow', 'dangerous'], 'Find all keys matching the given pattern', '1.0.0', 'generic', keys),
  spec('scan', -2, ['readonly'], ['keyspace', 'read', 'slow'], 'Incrementally iterate the keys space', '2.8.0', 'generic', scan),
  spec('randomkey', 1, ['readonly'], ['keyspace', 'read', 'slow'], 'Return a random key from the keyspace', '1.0.0', 'generic', randomkey),
  spec('dbsize', 1, ['readonly', 'fast'], ['keyspace', 'read', 'fast'], 'Return the number of keys in the selected database', '1.0.0', 'server', dbsize),
] as CommandSpec[];
