// Sorted-set commands (t_zset.c of Redis 7.0). Scores are doubles: DoubleReply (RESP3 `,`, RESP2 a
// bulk string as `%.17g`). WITHSCORES replies are flat in RESP2 and [member, score] pairs in RESP3.

import { DoubleReply, ErrorReply, NullArray, type Reply } from '../resp/reply.js';
import { formatDouble } from '../resp/encoder.js';
import { SetValue } from '../store/types/set.js';
import { ZSetValue } from '../store/types/zset.js';
import type { LexRange, ScoreRange } from '../store/types/ranked-list.js';
import {
  ERR_NOT_FLOAT,
  ERR_NOT_INTEGER,
  ERR_SYNTAX,
  ERR_WRONGTYPE,
  afterChange,
  distinctRandomIndexes,
  isWord,
  lookup,
  numkeysPositions,
  parseDouble,
  parseDoubleLoose,
  parseInteger,
  parseMultiPop,
  parseNonNegative,
  parseOptionalCount,
  parseRandomCountArgs,
  scanCollection,
  removeMembers,
  parseTimeoutMs,
} from './collection-args.js';
import { dataCommand } from './collection-meta.js';
import { WOULD_BLOCK, type CommandSpec, type DataContext, type WouldBlock } from './types.js';

const read = (ctx: DataContext, key: string) => lookup(ctx, key, ZSetValue, false);
const write = (ctx: DataContext, key: string) => lookup(ctx, key, ZSetValue, true);

const ERR_NAN = new ErrorReply('ERR resulting score is not a number (NaN)');
const ERR_RANGE_NOT_FLOAT = new ErrorReply('ERR min or max is not a float');
const ERR_LEX_RANGE = new ErrorReply('ERR min or max not valid string range item');

type Pair = [member: string, score: number];

/** Members, or members with scores: flat in RESP2, [member, score] pairs in RESP3. */
function emit(ctx: DataContext, pairs: readonly Pair[], withScores: boolean): Reply {
  if (!withScores) return pairs.map((p) => p[0]);
  if (ctx.resp === 3) return pairs.map(([m, s]) => [m, new DoubleReply(s)]);
  return pairs.flatMap(([m, s]) => [m, new DoubleReply(s)]);
}

function storeResult(ctx: DataContext, key: string, pairs: readonly Pair[]): number {
  if (pairs.length === 0) {
    ctx.db.delete(key, ctx.nowMs);
    return 0;
  }
  const zset = new ZSetValue();
  for (const [m, s] of pairs) zset.set(m, s);
  ctx.db.set(key, zset, ctx.nowMs);
  return zset.size;
}

// ---------------------------------------------------------------- ranges

/** zslParseRange: `(` for exclusive, strtod otherwise; null when not a float. */
function parseScoreRange(minArg: string, maxArg: string): ScoreRange | null {
  const minExclusive = minArg.startsWith('(');
  const maxExclusive = maxArg.startsWith('(');
  const min = parseDoubleLoose(minExclusive ? minArg.slice(1) : minArg);
  const max = parseDoubleLoose(maxExclusive ? maxArg.slice(1) : maxArg);
  if (min === null || max === null) return null;
  return { min, max, minExclusive, maxExclusive };
}

/** One zslParseLexRangeItem: `-`, `+`, `(x` or `[x`. */
function parseLexItem(arg: string): { value: string | null; exclusive: boolean; kind: '-' | '+' | 'value' } | null {
  if (arg === '-') return { value: null, exclusive: false, kind: '-' };
  if (arg === '+') return { value: null, exclusive: false, kind: '+' };
  if (arg.startsWith('(')) return { value: arg.slice(1), exclusive: true, kind: 'value' };
  if (arg.startsWith('[')) return { value: arg.slice(1), exclusive: false, kind: 'value' };
  return null;
}

/** A lex range, or 'empty' when min is `+` or max is `-`; null when malformed. */
function parseLexRange(minArg: string, maxArg: string): LexRange | 'empty' | null {
  const min = parseLexItem(minArg);
  const max = parseLexItem(maxArg);
  if (min === null || max === null) return null;
  if (min.kind === '+' || max.kind === '-') return 'empty';
  return { min: min.value, max: max.value, minExclusive: min.exclusive, maxExclusive: max.exclusive };
}

/** Ranks [first, last] of a rank range after Redis's clamping; first > last when empty. */
function rankRange(length: number, start: number, stop: number): [number, number] {
  if (start < 0) start = length + start;
  if (stop < 0) stop = length + stop;
  if (start < 0) start = 0;
  if (start > stop || start >= length) return [1, 0];
  if (stop >= length) stop = length - 1;
  return [start, stop];
}

/** Pairs of ascending ranks first..last, visited from the high end when reverse, with offset/limit. */
function pairsInRanks(zset: ZSetValue, first: number, last: number, reverse: boolean, offset: number, limit: number): Pair[] {
  const pairs: Pair[] = [];
  if (first > last || offset < 0) return pairs;
  const count = Math.min(last - first + 1 - offset, limit < 0 ? Infinity : limit);
  if (count <= 0) return pairs;
  const from = reverse ? last - offset : first + offset;
  const to = reverse ? from - count + 1 : from + count - 1;
  zset.list.forEachRank(from, to, (m, s) => pairs.push([m, s]));
  return pairs;
}

type RangeType = 'auto' | 'rank' | 'score' | 'lex';
type Direction = 'auto' | 'forward' | 'reverse';

/** zrangeGenericCommand: ZRANGE, ZRANGESTORE and the legacy ZREVRANGE / Z[REV]RANGEBY{SCORE,LEX}. */
function zrangeGeneric(
  ctx: DataContext,
  argv: readonly string[],
  keyIndex: number,
  store: boolean,
  rangeType: RangeType,
  direction: Direction,
): Reply {
  let withScores = false;
  let offset = 0;
  let limit = -1;
  for (let j = keyIndex + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    if (!store && isWord(argv[j], 'WITHSCORES')) {
      withScores = true;
    } else if (isWord(argv[j], 'LIMIT') && left >= 2) {
      const o = parseInteger(argv[j + 1]!);
      const l = parseInteger(argv[j + 2]!);
      if (o === null || l === null) return ERR_NOT_INTEGER;
      offset = o;
      limit = l;
      j += 2;
    } else if (direction === 'auto' && isWord(argv[j], 'REV')) {
      direction = 'reverse';
    } else if (rangeType === 'auto' && isWord(argv[j], 'BYLEX')) {
      rangeType = 'lex';
    } else if (rangeType === 'auto' && isWord(argv[j], 'BYSCORE')) {
      rangeType = 'score';
    } else {
      return ERR_SYNTAX;
    }
  }
  if (direction === 'auto') direction = 'forward';
  if (rangeType === 'auto') rangeType = 'rank';
  if (limit !== -1 && rangeType === 'rank') {
    return new ErrorReply('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  }
  if (withScores && rangeType === 'lex') {
    return new ErrorReply('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  }
  const reverse = direction === 'reverse';
  // Reverse score and lex ranges are given as max, min.
  const swap = reverse && rangeType !== 'rank';
  const minArg = argv[swap ? keyIndex + 2 : keyIndex + 1]!;
  const maxArg = argv[swap ? keyIndex + 1 : keyIndex + 2]!;

  let select: (zset: ZSetValue) => Pair[];
  if (rangeType === 'rank') {
    const start = parseInteger(minArg);
    const stop = parseInteger(maxArg);
    if (start === null || stop === null) return ERR_NOT_INTEGER;
    select = (zset) => {
      const length = zset.size;
      const [a, b] = rankRange(length, start, stop);
      // A reverse rank range counts from the end.
      return reverse ? pairsInRanks(zset, length - 1 - b, length - 1 - a, true, 0, -1) : pairsInRanks(zset, a, b, false, 0, -1);
    };
  } else if (rangeType === 'score') {
    const range = parseScoreRange(minArg, maxArg);
    if (range === null) return ERR_RANGE_NOT_FLOAT;
    select = (zset) => {
      const [first, last] = zset.list.scoreRangeRanks(range);
      return pairsInRanks(zset, first, last, reverse, offset, limit);
    };
  } else {
    const range = parseLexRange(minArg, maxArg);
    if (range === null) return ERR_LEX_RANGE;
    select = (zset) => {
      if (range === 'empty') return [];
      const [first, last] = zset.list.lexRangeRanks(range);
      return pairsInRanks(zset, first, last, reverse, offset, limit);
    };
  }
  const zset = read(ctx, argv[keyIndex]!);
  if (zset instanceof ErrorReply) return zset;
  const pairs = zset === undefined ? [] : select(zset);
  if (store) return storeResult(ctx, argv[1]!, pairs);
  return emit(ctx, pairs, withScores);
}

// ---------------------------------------------------------------- ZADD and friends

interface AddFlags {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
  incr: boolean;
  ch: boolean;
}

function zaddGeneric(ctx: DataContext, argv: readonly string[], flags: Readonly<AddFlags>, scoreIndex: number): Reply {
  const elements = argv.length - scoreIndex;
  if (elements % 2 !== 0 || elements === 0) return ERR_SYNTAX;
  const { nx, xx, gt, lt, incr, ch } = flags;
  if (nx && xx) return new ErrorReply('ERR XX and NX options at the same time are not compatible');
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return new ErrorReply('ERR GT, LT, and/or NX options at the same time are not compatible');
  }
  if (incr && elements > 2) return new ErrorReply('ERR INCR option supports a single increment-element pair');
  // Every score is checked before anything changes, as Redis does. Sized up front: no regrowth.
  const scores = new Array<number>(elements / 2);
  for (let j = 0; j < scores.length; j++) {
    const score = parseDouble(argv[scoreIndex + j * 2]!);
    if (score === null) return ERR_NOT_FLOAT;
    scores[j] = score;
  }
  const key = argv[1]!;
  const found = write(ctx, key);
  if (found instanceof ErrorReply) return found;
  if (found === undefined && xx) return incr ? null : 0;
  const zset = found ?? new ZSetValue();
  let added = 0;
  let updated = 0;
  let processed = 0;
  let lastScore = 0;
  let error: ErrorReply | null = null;
  for (let j = 0; j < scores.length; j++) {
    const member = argv[scoreIndex + j * 2 + 1]!;
    let score = scores[j]!;
    const current = zset.score(member);
    if (current !== undefined) {
      if (nx) continue;
      if (incr) {
        score += current;
        if (Number.isNaN(score)) {
          error = ERR_NAN;
          break;
        }
      }
      if ((lt && score >= current) || (gt && score <= current)) continue;
      if (score !== current) {
        zset.set(member, score);
        updated++;
      }
    } else {
      if (xx) continue;
      zset.set(member, score);
      added++;
    }
    processed++;
    lastScore = score;
  }
  if (added + updated > 0) {
    if (found === undefined) ctx.db.set(key, zset, ctx.nowMs);
    else ctx.db.touched(key, zset);
  }
  if (error !== null) return error;
  if (incr) return processed > 0 ? new DoubleReply(lastScore) : null;
  return ch ? added + updated : added;
}

/** The flags of a plain ZADD and of ZINCRBY, shared (the usual ZADD makes no object). */
const NO_FLAGS: Readonly<AddFlags> = { nx: false, xx: false, gt: false, lt: false, incr: false, ch: false };
const INCR_FLAGS: Readonly<AddFlags> = { ...NO_FLAGS, incr: true };

function zadd(ctx: DataContext, argv: readonly string[]): Reply {
  let flags: AddFlags | null = null;
  let i = 2;
  for (; i < argv.length; i++) {
    const option = argv[i]!.toUpperCase();
    const flag = option === 'NX' ? 'nx' : option === 'XX' ? 'xx' : option === 'GT' ? 'gt' : option === 'LT' ? 'lt'
      : option === 'INCR' ? 'incr' : option === 'CH' ? 'ch' : null;
    if (flag === null) break;
    flags ??= { ...NO_FLAGS };
    flags[flag] = true;
  }
  return zaddGeneric(ctx, argv, flags ?? NO_FLAGS, i);
}

function zincrby(ctx: DataContext, argv: readonly string[]): Reply {
  return zaddGeneric(ctx, argv, INCR_FLAGS, 2);
}

function zrem(ctx: DataContext, argv: readonly string[]): Reply {
  return removeMembers(ctx, argv, ZSetValue);
}

function zscore(ctx: DataContext, argv: readonly string[]): Reply {
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  const score = zset?.score(argv[2]!);
  return score === undefined ? null : new DoubleReply(score);
}

function zmscore(ctx: DataContext, argv: readonly string[]): Reply {
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  return argv.slice(2).map((m) => {
    const score = zset?.score(m);
    return score === undefined ? null : new DoubleReply(score);
  });
}

function zcard(ctx: DataContext, argv: readonly string[]): Reply {
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  return zset?.size ?? 0;
}

function zcount(ctx: DataContext, argv: readonly string[]): Reply {
  const range = parseScoreRange(argv[2]!, argv[3]!);
  if (range === null) return ERR_RANGE_NOT_FLOAT;
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  if (zset === undefined) return 0;
  const [first, last] = zset.list.scoreRangeRanks(range);
  return Math.max(0, last - first + 1);
}

function zlexcount(ctx: DataContext, argv: readonly string[]): Reply {
  const range = parseLexRange(argv[2]!, argv[3]!);
  if (range === null) return ERR_LEX_RANGE;
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  if (zset === undefined || range === 'empty') return 0;
  const [first, last] = zset.list.lexRangeRanks(range);
  return Math.max(0, last - first + 1);
}

function zrankGeneric(ctx: DataContext, argv: readonly string[], reverse: boolean): Reply {
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  return zset?.rank(argv[2]!, reverse) ?? null;
}

type RemoveRange = 'rank' | 'score' | 'lex';

function zremrangeGeneric(ctx: DataContext, argv: readonly string[], type: RemoveRange): Reply {
  let ranks: (zset: ZSetValue) => [number, number];
  if (type === 'rank') {
    const start = parseInteger(argv[2]!);
    const stop = parseInteger(argv[3]!);
    if (start === null || stop === null) return ERR_NOT_INTEGER;
    ranks = (zset) => rankRange(zset.size, start, stop);
  } else if (type === 'score') {
    const range = parseScoreRange(argv[2]!, argv[3]!);
    if (range === null) return ERR_RANGE_NOT_FLOAT;
    ranks = (zset) => zset.list.scoreRangeRanks(range);
  } else {
    const range = parseLexRange(argv[2]!, argv[3]!);
    if (range === null) return ERR_LEX_RANGE;
    ranks = (zset) => (range === 'empty' ? [1, 0] : zset.list.lexRangeRanks(range));
  }
  const zset = write(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  if (zset === undefined) return 0;
  const [first, last] = ranks(zset);
  if (first > last) return 0;
  const doomed: string[] = [];
  zset.list.forEachRank(first, last, (m) => doomed.push(m));
  for (const m of doomed) zset.delete(m);
  afterChange(ctx, argv[1]!, zset.size);
  return doomed.length;
}

// ---------------------------------------------------------------- pops

/** Pops up to `count` lowest (or highest) pairs; deletes the key when emptied. */
function popPairs(ctx: DataContext, key: string, zset: ZSetValue, max: boolean, count: number): Pair[] {
  const n = Math.min(count, zset.size);
  const pairs: Pair[] = [];
  if (n > 0) zset.list.forEachRank(max ? zset.size - 1 : 0, max ? zset.size - n : n - 1, (m, s) => pairs.push([m, s]));
  for (const [m] of pairs) zset.delete(m);
  afterChange(ctx, key, zset.size);
  return pairs;
}

function zpopGeneric(ctx: DataContext, argv: readonly string[], max: boolean): Reply {
  if (argv.length > 3) return ERR_SYNTAX;
  const count = parseOptionalCount(argv);
  if (count instanceof ErrorReply) return count;
  const zset = write(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  if (zset === undefined || count === 0) return [];
  const pairs = popPairs(ctx, argv[1]!, zset, max, count ?? 1);
  // RESP3 nests pairs only when a count was given.
  if (ctx.resp === 3 && count !== null) return pairs.map(([m, s]) => [m, new DoubleReply(s)]);
  return pairs.flatMap(([m, s]) => [m, new DoubleReply(s)]);
}

function bzpopGeneric(ctx: DataContext, argv: readonly string[], max: boolean): Reply | WouldBlock {
  const timeout = parseTimeoutMs(argv[argv.length - 1]!);
  if (timeout instanceof ErrorReply) return timeout;
  for (let i = 1; i < argv.length - 1; i++) {
    const key = argv[i]!;
    const zset = write(ctx, key);
    if (zset instanceof ErrorReply) return zset;
    if (zset === undefined) continue;
    const [[member, score]] = popPairs(ctx, key, zset, max, 1) as [Pair];
    return [key, member, new DoubleReply(score)];
  }
  return WOULD_BLOCK;
}

function mpopFirst(ctx: DataContext, keys: readonly string[], max: boolean, count: number): Reply | undefined {
  for (const key of keys) {
    const zset = write(ctx, key);
    if (zset instanceof ErrorReply) return zset;
    if (zset === undefined) continue;
    const pairs = popPairs(ctx, key, zset, max, count);
    return [key, pairs.map(([m, s]) => [m, new DoubleReply(s)])];
  }
  return undefined;
}

function zmpop(ctx: DataContext, argv: readonly string[]): Reply {
  const args = parseMultiPop(argv, 1, ['MIN', 'MAX']);
  if (args instanceof ErrorReply) return args;
  return mpopFirst(ctx, args.keys, args.end === 1, args.count) ?? NullArray.instance;
}

function bzmpop(ctx: DataContext, argv: readonly string[]): Reply | WouldBlock {
  const timeout = parseTimeoutMs(argv[1]!);
  if (timeout instanceof ErrorReply) return timeout;
  const args = parseMultiPop(argv, 2, ['MIN', 'MAX']);
  if (args instanceof ErrorReply) return args;
  return mpopFirst(ctx, args.keys, args.end === 1, args.count) ?? WOULD_BLOCK;
}

// ---------------------------------------------------------------- random, scan

function zrandmember(ctx: DataContext, argv: readonly string[]): Reply {
  const args = parseRandomCountArgs(argv, 'WITHSCORES');
  if (args instanceof ErrorReply) return args;
  const { count, withFlag: withScores } = args;
  const zset = read(ctx, argv[1]!);
  if (zset instanceof ErrorReply) return zset;
  const size = zset?.size ?? 0;
  const pairAt = (rank: number): Pair => [zset!.list.memberAt(rank), zset!.list.scoreAt(rank)];
  if (count === null) return zset === undefined ? null : pairAt(Math.floor(ctx.random() * size))[0];
  if (zset === undefined || count === 0) return [];
  let pairs: Pair[];
  if (count < 0) {
    pairs = [];
    for (let i = 0; i < -count; i++) pairs.push(pairAt(Math.floor(ctx.random() * size)));
  } else if (count >= size) {
    // The whole set, highest first, as Redis 7.0 lists it.
    pairs = [];
    zset.list.forEachRank(size - 1, 0, (m, s) => pairs.push([m, s]));
  } else {
    pairs = distinctRandomIndexes(ctx.random, size, count).map(pairAt);
  }
  return emit(ctx, pairs, withScores);
}

function zscan(ctx: DataContext, argv: readonly string[]): Reply {
  return scanCollection(
    ctx,
    argv,
    ZSetValue,
    (zset, cursor, count) => {
      const page = zset.scan(cursor, count);
      return { cursor: page.cursor, names: page.members };
    },
    (zset, member) => [member, formatDouble(zset.score(member)!)],
  );
}

// ---------------------------------------------------------------- union, inter, diff

type SetOp = 'union' | 'inter' | 'diff';
type Aggregate = 'sum' | 'min' | 'max';

/** A source of (member, score) pairs: a sorted set, or a set whose members score 1. */
type Source = { size: number; score(member: string): number | undefined; pairs(): Iterable<Pair> } | undefined;

function asSource(value: ZSetValue | SetValue | undefined): Source {
  if (value === undefined) return undefined;
  if (value instanceof ZSetValue) {
    return { size: value.size, score: (m) => value.score(m), pairs: () => value.scores.entries() };
  }
  return {
    size: value.size,
    score: (m) => (value.has(m) ? 1 : undefined),
    pairs: () => value.members().map((m): Pair => [m, 1]),
  };
}

function aggregate(kind: Aggregate, target: number, value: number): number {
  if (kind === 'sum') {
    const sum = target + value;
    return Number.isNaN(sum) ? 0 : sum;
  }
  return kind === 'min' ? Math.min(target, value) : Math.max(target, value);
}

function weighted(score: number, weight: number): number {
  const value = score * weight;
  return Number.isNaN(value) ? 0 : value;
}

interface SetOpArgs {
  sources: Source[];
  weights: number[];
  aggregate: Aggregate;
  withScores: boolean;
  limit: number;
}

/** zunionInterDiffGenericCommand's parsing: numkeys, keys (type-checked first), then options. */
function parseSetOp(
  ctx: DataContext,
  argv: readonly string[],
  numkeysIndex: number,
  op: SetOp,
  store: boolean,
  cardinalityOnly: boolean,
): SetOpArgs | ErrorReply {
  const numkeys = parseInteger(argv[numkeysIndex]!);
  if (numkeys === null) return ERR_NOT_INTEGER;
  if (numkeys < 1) {
    return new ErrorReply(`ERR at least 1 input key is needed for '${argv[0]!.toLowerCase()}' command`);
  }
  if (numkeys > argv.length - numkeysIndex - 1) return ERR_SYNTAX;
  const sources: Source[] = [];
  for (let i = 0; i < numkeys; i++) {
    const value = ctx.db.get(argv[numkeysIndex + 1 + i]!, ctx.nowMs);
    if (value !== undefined && !(value instanceof ZSetValue) && !(value instanceof SetValue)) return ERR_WRONGTYPE;
    sources.push(asSource(value as ZSetValue | SetValue | undefined));
  }
  const args: SetOpArgs = { sources, weights: sources.map(() => 1), aggregate: 'sum', withScores: false, limit: 0 };
  let j = numkeysIndex + 1 + numkeys;
  while (j < argv.length) {
    const remaining = argv.length - j;
    if (op !== 'diff' && !cardinalityOnly && remaining >= numkeys + 1 && isWord(argv[j], 'WEIGHTS')) {
      j++;
      for (let i = 0; i < numkeys; i++, j++) {
        const weight = parseDouble(argv[j]!);
        if (weight === null) return new ErrorReply('ERR weight value is not a float');
        args.weights[i] = weight;
      }
    } else if (op !== 'diff' && !cardinalityOnly && remaining >= 2 && isWord(argv[j], 'AGGREGATE')) {
      const kind = argv[j + 1]!.toLowerCase();
      if (kind !== 'sum' && kind !== 'min' && kind !== 'max') return ERR_SYNTAX;
      args.aggregate = kind;
      j += 2;
    } else if (!store && !cardinalityOnly && isWord(argv[j], 'WITHSCORES')) {
      args.withScores = true;
      j++;
    } else if (cardinalityOnly && remaining >= 2 && isWord(argv[j], 'LIMIT')) {
      const limit = parseNonNegative(argv[j + 1]!, new ErrorReply("ERR LIMIT can't be negative"));
      if (limit instanceof ErrorReply) return limit;
      args.limit = limit;
      j += 2;
    } else {
      return ERR_SYNTAX;
    }
  }
  return args;
}

/** The result of the operation as a sorted set (its order is the reply order). */
function computeSetOp(args: SetOpArgs, op: SetOp): ZSetValue {
  const result = new ZSetValue();
  const { sources, weights } = args;
  if (op === 'union') {
    const scores = new Map<string, number>();
    sources.forEach((source, i) => {
      if (source === undefined) return;
      for (const [m, s] of source.pairs()) {
        const value = weighted(s, weights[i]!);
        const old = scores.get(m);
        scores.set(m, old === undefined ? value : aggregate(args.aggregate, old, value));
      }
    });
    for (const [m, s] of scores) result.set(m, s);
  } else if (op === 'inter') {
    if (sources.some((s) => s === undefined)) return result;
    const order = sources.map((_, i) => i).sort((a, b) => sources[a]!.size - sources[b]!.size);
    const smallest = order[0]!;
    for (const [m, s] of sources[smallest]!.pairs()) {
      let score = weighted(s, weights[smallest]!);
      let everywhere = true;
      for (const i of order.slice(1)) {
        const other = sources[i]!.score(m);
        if (other === undefined) {
          everywhere = false;
          break;
        }
        score = aggregate(args.aggregate, score, weighted(other, weights[i]!));
      }
      if (everywhere) result.set(m, score);
    }
  } else {
    const [first, ...others] = sources;
    if (first !== undefined) {
      for (const [m, s] of first.pairs()) if (!others.some((o) => o?.score(m) !== undefined)) result.set(m, s);
    }
  }
  return result;
}

function resultPairs(zset: ZSetValue): Pair[] {
  const pairs: Pair[] = [];
  if (zset.size > 0) zset.list.forEachRank(0, zset.size - 1, (m, s) => pairs.push([m, s]));
  return pairs;
}

function setOpCommand(op: SetOp) {
  return (ctx: DataContext, argv: readonly string[]): Reply => {
    const args = parseSetOp(ctx, argv, 1, op, false, false);
    if (args instanceof ErrorReply) return args;
    return emit(ctx, resultPairs(computeSetOp(args, op)), args.withScores);
  };
}

function setOpStoreCommand(op: SetOp) {
  return (ctx: DataContext, argv: readonly string[]): Reply => {
    const args = parseSetOp(ctx, argv, 2, op, true, false);
    if (args instanceof ErrorReply) return args;
    const result = computeSetOp(args, op);
    if (result.size === 0) {
      ctx.db.delete(argv[1]!, ctx.nowMs);
      return 0;
    }
    ctx.db.set(argv[1]!, result, ctx.nowMs);
    return result.size;
  };
}

function zintercard(ctx: DataContext, argv: readonly string[]): Reply {
  const args = parseSetOp(ctx, argv, 1, 'inter', false, true);
  if (args instanceof ErrorReply) return args;
  const size = computeSetOp(args, 'inter').size;
  return args.limit > 0 ? Math.min(size, args.limit) : size;
}

// ---------------------------------------------------------------- table

const setOpKeys = (argv: readonly string[]) => numkeysPositions(argv, 1);
const setOpStoreKeys = (argv: readonly string[]) => numkeysPositions(argv, 2, [1]);

export const zsetCommands: CommandSpec[] = [
  dataCommand('zadd', zadd),
  dataCommand('zincrby', zincrby),
  dataCommand('zrem', zrem),
  dataCommand('zscore', zscore),
  dataCommand('zmscore', zmscore),
  dataCommand('zcard', zcard),
  dataCommand('zcount', zcount),
  dataCommand('zlexcount', zlexcount),
  dataCommand('zrange', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'auto', 'auto')),
  dataCommand('zrangestore', (ctx, argv) => zrangeGeneric(ctx, argv, 2, true, 'auto', 'auto')),
  dataCommand('zrevrange', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'rank', 'reverse')),
  dataCommand('zrangebyscore', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'score', 'forward')),
  dataCommand('zrevrangebyscore', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'score', 'reverse')),
  dataCommand('zrangebylex', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'lex', 'forward')),
  dataCommand('zrevrangebylex', (ctx, argv) => zrangeGeneric(ctx, argv, 1, false, 'lex', 'reverse')),
  dataCommand('zrank', (ctx, argv) => zrankGeneric(ctx, argv, false)),
  dataCommand('zrevrank', (ctx, argv) => zrankGeneric(ctx, argv, true)),
  dataCommand('zremrangebyrank', (ctx, argv) => zremrangeGeneric(ctx, argv, 'rank')),
  dataCommand('zremrangebyscore', (ctx, argv) => zremrangeGeneric(ctx, argv, 'score')),
  dataCommand('zremrangebylex', (ctx, argv) => zremrangeGeneric(ctx, argv, 'lex')),
  dataCommand('zpopmin', (ctx, argv) => zpopGeneric(ctx, argv, false)),
  dataCommand('zpopmax', (ctx, argv) => zpopGeneric(ctx, argv, true)),
  dataCommand('bzpopmin', (ctx, argv) => bzpopGeneric(ctx, argv, false)),
  dataCommand('bzpopmax', (ctx, argv) => bzpopGeneric(ctx, argv, true)),
  dataCommand('zmpop', zmpop, (argv) => numkeysPositions(argv, 1)),
  dataCommand('bzmpop', bzmpop, (argv) => numkeysPositions(argv, 2)),
  dataCommand('zrandmember', zrandmember),
  dataCommand('zscan', zscan),
  dataCommand('zunion', setOpCommand('union'), setOpKeys),
  dataCommand('zinter', setOpCommand('inter'), setOpKeys),
  dataCommand('zdiff', setOpCommand('diff'), setOpKeys),
  dataCommand('zunionstore', setOpStoreCommand('union'), setOpStoreKeys),
  dataCommand('zinterstore', setOpStoreCommand('inter'), setOpStoreKeys),
  dataCommand('zdiffstore', setOpStoreCommand('diff'), setOpStoreKeys),
  dataCommand('zintercard', zintercard, setOpKeys),
];
