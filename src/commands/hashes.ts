// Hash commands (t_hash.c of Redis 7.0).

import { ErrorReply, MapReply, OK, type Reply } from '../resp/reply.js';
import { HashValue } from '../store/types/hash.js';
import { addInt64, addLongDouble, formatLongDouble, parseInt64, parseLongDouble } from '../store/numbers.js';
import {
  ERR_NOT_FLOAT,
  ERR_NOT_INTEGER,
  arityError,
  distinctRandomIndexes,
  isWord,
  lookup,
  parseRandomCountArgs,
  scanCollection,
  removeMembers,
} from './collection-args.js';
import { dataCommand } from './collection-meta.js';
import type { CommandSpec, DataContext } from './types.js';

const read = (ctx: DataContext, key: string) => lookup(ctx, key, HashValue, false);
const write = (ctx: DataContext, key: string) => lookup(ctx, key, HashValue, true);

/** The hash at key for a write, created (not yet stored) when absent. */
function hashForWrite(ctx: DataContext, key: string): { hash: HashValue; isNew: boolean } | ErrorReply {
  const found = write(ctx, key);
  if (found instanceof ErrorReply) return found;
  return found === undefined ? { hash: new HashValue(), isNew: true } : { hash: found, isNew: false };
}

function store(ctx: DataContext, key: string, hash: HashValue, isNew: boolean): void {
  if (isNew) ctx.db.set(key, hash, ctx.nowMs);
  else ctx.db.touched(key, hash);
}

function hset(ctx: DataContext, argv: readonly string[]): Reply {
  if (argv.length % 2 === 1) return arityError(argv[0]!.toLowerCase());
  const target = hashForWrite(ctx, argv[1]!);
  if (target instanceof ErrorReply) return target;
  let created = 0;
  for (let i = 2; i < argv.length; i += 2) if (target.hash.set(argv[i]!, argv[i + 1]!)) created++;
  store(ctx, argv[1]!, target.hash, target.isNew);
  return isWord(argv[0], 'HMSET') ? OK : created;
}

function hsetnx(ctx: DataContext, argv: readonly string[]): Reply {
  const target = hashForWrite(ctx, argv[1]!);
  if (target instanceof ErrorReply) return target;
  if (target.hash.get(argv[2]!) !== undefined) return 0;
  target.hash.set(argv[2]!, argv[3]!);
  store(ctx, argv[1]!, target.hash, target.isNew);
  return 1;
}

function hget(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash?.get(argv[2]!) ?? null;
}

function hmget(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return argv.slice(2).map((field) => hash?.get(field) ?? null);
}

function hgetall(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  const entries: Reply[] = [];
  if (hash !== undefined) for (const [f, v] of hash.fields) entries.push(f, v);
  return new MapReply(entries);
}

function hkeys(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash === undefined ? [] : [...hash.fields.keys()];
}

function hvals(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash === undefined ? [] : [...hash.fields.values()];
}

function hdel(ctx: DataContext, argv: readonly string[]): Reply {
  return removeMembers(ctx, argv, HashValue);
}

function hlen(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash?.size ?? 0;
}

function hexists(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash?.get(argv[2]!) !== undefined ? 1 : 0;
}

function hstrlen(ctx: DataContext, argv: readonly string[]): Reply {
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  return hash?.get(argv[2]!)?.length ?? 0;
}

function hincrby(ctx: DataContext, argv: readonly string[]): Reply {
  const increment = parseInt64(argv[3]!);
  if (increment === null) return ERR_NOT_INTEGER;
  const target = hashForWrite(ctx, argv[1]!);
  if (target instanceof ErrorReply) return target;
  const old = target.hash.get(argv[2]!);
  const current = old === undefined ? 0 : parseInt64(old);
  if (current === null) return new ErrorReply('ERR hash value is not an integer');
  const sum = addInt64(current, increment);
  if (sum === null) return new ErrorReply('ERR increment or decrement would overflow');
  target.hash.set(argv[2]!, String(sum));
  store(ctx, argv[1]!, target.hash, target.isNew);
  return sum;
}

/** Long double arithmetic, printed as Redis does, so results are byte-identical to Redis's. */
function hincrbyfloat(ctx: DataContext, argv: readonly string[]): Reply {
  const increment = parseLongDouble(argv[3]!);
  if (increment === null) return ERR_NOT_FLOAT;
  if (typeof increment === 'number') return new ErrorReply('ERR value is NaN or Infinity');
  const target = hashForWrite(ctx, argv[1]!);
  if (target instanceof ErrorReply) return target;
  const old = target.hash.get(argv[2]!);
  const current = old === undefined ? { neg: false, m: 0n, e: 0 } : parseLongDouble(old);
  if (current === null) return new ErrorReply('ERR hash value is not a float');
  const nanOrInf = new ErrorReply('ERR increment would produce NaN or Infinity');
  if (typeof current === 'number') return nanOrInf;
  const sum = addLongDouble(current, increment);
  if (sum === null) return nanOrInf;
  const text = formatLongDouble(sum);
  target.hash.set(argv[2]!, text);
  store(ctx, argv[1]!, target.hash, target.isNew);
  return text;
}

function hrandfield(ctx: DataContext, argv: readonly string[]): Reply {
  const args = parseRandomCountArgs(argv, 'WITHVALUES');
  if (args instanceof ErrorReply) return args;
  const { count, withFlag: withValues } = args;
  const hash = read(ctx, argv[1]!);
  if (hash instanceof ErrorReply) return hash;
  if (count === null) {
    if (hash === undefined) return null;
    return randomEntries(ctx, hash, 1)[0]![0];
  }
  if (hash === undefined || count === 0) return [];
  let picked: [string, string][];
  if (count < 0) {
    picked = randomEntries(ctx, hash, -count);
  } else if (count >= hash.size) {
    picked = [...hash.fields];
  } else {
    const all = [...hash.fields];
    picked = distinctRandomIndexes(ctx.random, all.length, count).map((i) => all[i]!);
  }
  if (!withValues) return picked.map(([f]) => f);
  if (ctx.resp === 3) return picked.map(([f, v]) => [f, v]);
  return picked.flat();
}

/** `count` entries picked independently (repetitions allowed). */
function randomEntries(ctx: DataContext, hash: HashValue, count: number): [string, string][] {
  const all = [...hash.fields];
  const out: [string, string][] = [];
  for (let i = 0; i < count; i++) out.push(all[Math.floor(ctx.random() * all.length)]!);
  return out;
}

function hscan(ctx: DataContext, argv: readonly string[]): Reply {
  return scanCollection(
    ctx,
    argv,
    HashValue,
    (hash, cursor, count) => {
      const page = hash.scan(cursor, count);
      return { cursor: page.cursor, names: page.fields };
    },
    (hash, field) => [field, hash.get(field)!],
  );
}

export const hashCommands: CommandSpec[] = [
  dataCommand('hset', hset),
  dataCommand('hmset', hset),
  dataCommand('hsetnx', hsetnx),
  dataCommand('hget', hget),
  dataCommand('hmget', hmget),
  dataCommand('hgetall', hgetall),
  dataCommand('hkeys', hkeys),
  dataCommand('hvals', hvals),
  dataCommand('hdel', hdel),
  dataCommand('hlen', hlen),
  dataCommand('hexists', hexists),
  dataCommand('hstrlen', hstrlen),
  dataCommand('hincrby', hincrby),
  dataCommand('hincrbyfloat', hincrbyfloat),
  dataCommand('hrandfield', hrandfield),
  dataCommand('hscan', hscan),
];
