// Argument parsing and value lookup shared by the hash, list, set and sorted-set commands, with
// Redis 7.0's exact error texts.

import { ErrorReply, type Reply } from '../resp/reply.js';
import { NOT_FLOAT, NOT_INTEGER, SYNTAX, WRONGTYPE, wrongArity } from '../resp/errors.js';
import { globMatcher } from '../store/glob.js';
import { parseInt64, parseLongDouble } from '../store/numbers.js';
import type { CollectionValue } from '../store/value.js';
import type { DataContext } from './types.js';

export const ERR_SYNTAX = new ErrorReply(SYNTAX);
export const ERR_NOT_INTEGER = new ErrorReply(NOT_INTEGER);
export const ERR_NOT_FLOAT = new ErrorReply(NOT_FLOAT);
export const ERR_WRONGTYPE = new ErrorReply(WRONGTYPE);
export const ERR_OUT_OF_RANGE = new ErrorReply('ERR value is out of range');
export const ERR_NOT_POSITIVE = new ErrorReply('ERR value is out of range, must be positive');

export function arityError(name: string): ErrorReply {
  return new ErrorReply(wrongArity(name));
}

/** Case-insensitive comparison of an argument with an upper-case keyword. */
export function isWord(arg: string | undefined, word: string): boolean {
  return arg !== undefined && arg.length === word.length && arg.toUpperCase() === word;
}

/** C's LONG_MAX (the limit of Redis's `long` arguments). */
export const LONG_MAX = 9223372036854775807n;

/** Redis's getLongLongFromObject: an int64 argument (as a JS number, beyond 2^53 rounded), or null. */
export function parseInteger(arg: string): number | null {
  const n = parseInt64(arg);
  return n === null ? null : Number(n);
}

/**
 * getRangeLongFromObjectOrReply: an integer in [min, max] (compared exactly). Like Redis, a given
 * `message` answers both a non-integer and an out-of-range value; without one, the not-an-integer
 * error or Redis's "value must between" text.
 */
export function parseIntegerInRange(arg: string, min: bigint, max: bigint, message?: ErrorReply): number | ErrorReply {
  const n = parseInt64(arg);
  if (n === null) return message ?? ERR_NOT_INTEGER;
  const big = BigInt(n);
  if (big < min || big > max) return message ?? new ErrorReply(`ERR value is out of range, value must between ${min} and ${max}`);
  return Number(n);
}

/** getPositiveLongFromObjectOrReply: 0 or more; `message` answers a non-integer and a negative value alike. */
export function parseNonNegative(arg: string, message = ERR_NOT_POSITIVE): number | ErrorReply {
  const n = parseInteger(arg);
  return n === null || n < 0 ? message : n;
}

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INFINITY = /^[+-]?inf(?:inity)?$/i;

function strtod(text: string): number | null {
  if (INFINITY.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (!DECIMAL.test(text)) return null;
  return Number(text);
}

/** `-?digits`, at most 15 digits: exactly representable, never zero by underflow. */
function isShortInteger(arg: string): boolean {
  const start = arg.charCodeAt(0) === 45 ? 1 : 0;
  const length = arg.length;
  if (length === start || length - start > 15) return false;
  for (let i = start; i < length; i++) {
    const c = arg.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * Redis's getDoubleFromObject: the whole argument must be a number (no spaces, no NaN); an overflow
 * to infinity or an underflow to zero is refused, as strtod's ERANGE is.
 */
export function parseDouble(arg: string): number | null {
  // Fast path for the common small integer (ZADD key 1 m): the general rules give the same number.
  if (isShortInteger(arg)) return Number(arg);
  const value = strtod(arg);
  if (value === null) return null;
  if (!Number.isFinite(value) && !INFINITY.test(arg)) return null;
  if (value === 0 && /[1-9]/.test(arg.replace(/[eE].*$/, ''))) return null;
  return value;
}

/**
 * strtod as zslParseRange uses it: leading spaces allowed, empty text is 0, overflow gives infinity,
 * only NaN and trailing garbage are refused.
 */
export function parseDoubleLoose(arg: string): number | null {
  const text = arg.replace(/^[ \t\n\v\f\r]+/, '');
  if (text === '') return 0;
  const value = strtod(text);
  return value === null || Number.isNaN(value) ? null : value;
}

/** Blocking timeouts: seconds as a (long double) float, validated as Redis 7.0.15 does. Returns ms. */
export function parseTimeoutMs(arg: string): number | ErrorReply {
  const parsed = parseLongDouble(arg);
  if (parsed === null) return new ErrorReply('ERR timeout is not a float or out of range');
  const seconds = typeof parsed === 'number' ? parsed : Number(arg);
  const ms = Math.ceil(seconds * 1000);
  // Redis 7.0 casts to long long: beyond its range (inf included) the value wraps negative.
  if (ms < 0 || ms > Number(LONG_MAX)) return new ErrorReply('ERR timeout is negative');
  return ms;
}

/** SCAN-family cursor (strtoull, unsigned 64-bit). */
export function parseCursor(arg: string): number | ErrorReply {
  if (!/^\d+$/.test(arg) || (arg.length >= 20 && BigInt(arg) > 18446744073709551615n)) {
    return new ErrorReply('ERR invalid cursor');
  }
  return Number(arg);
}

export interface ScanOptions {
  readonly match: string | null;
  readonly count: number;
}

/** `[MATCH pattern] [COUNT count]` from argv[from] on. */
export function parseScanOptions(argv: readonly string[], from: number): ScanOptions | ErrorReply {
  let match: string | null = null;
  let count = 10;
  for (let i = from; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) return ERR_SYNTAX;
    if (isWord(argv[i], 'COUNT')) {
      const n = parseInteger(value);
      if (n === null) return ERR_NOT_INTEGER;
      if (n < 1) return ERR_SYNTAX;
      count = n;
    } else if (isWord(argv[i], 'MATCH')) {
      match = value === '*' ? null : value;
    } else {
      return ERR_SYNTAX;
    }
  }
  return { match, count };
}

/** A page of a collection's SCAN order: the next cursor and the members (or fields) visited. */
export interface ScanPage {
  readonly cursor: number;
  readonly names: readonly string[];
}

/**
 * SSCAN, HSCAN, ZSCAN `key cursor [MATCH pattern] [COUNT count]` on the `kind` value at argv[1]:
 * `page` walks it, `itemsOf` gives the reply items of one matching member (or field).
 */
export function scanCollection<T extends CollectionValue>(
  ctx: DataContext,
  argv: readonly string[],
  kind: abstract new (...args: never[]) => T,
  page: (value: T, cursor: number, count: number) => ScanPage,
  itemsOf: (value: T, name: string) => Reply[],
): Reply {
  const cursor = parseCursor(argv[2]!);
  if (cursor instanceof ErrorReply) return cursor;
  const value = lookup(ctx, argv[1]!, kind, false);
  if (value instanceof ErrorReply) return value;
  if (value === undefined) return ['0', []];
  const options = parseScanOptions(argv, 3);
  if (options instanceof ErrorReply) return options;
  const visited = page(value, cursor, options.count);
  const match = options.match === null ? null : globMatcher(options.match);
  const items: Reply[] = [];
  for (const name of visited.names) if (match === null || match(name)) items.push(...itemsOf(value, name));
  return [String(visited.cursor), items];
}

/**
 * The live value of `key` if it is an instance of `kind`; undefined when absent; the WRONGTYPE error
 * when it holds something else. `forWrite` drops a key whose time has passed first.
 */
export function lookup<T extends CollectionValue>(
  ctx: DataContext,
  key: string,
  kind: abstract new (...args: never[]) => T,
  forWrite: boolean,
): T | undefined | ErrorReply {
  const value = forWrite ? ctx.db.getForWrite(key, ctx.nowMs) : ctx.db.get(key, ctx.nowMs);
  if (value === undefined) return undefined;
  return value instanceof kind ? value : ERR_WRONGTYPE;
}

/** After an in-place change: delete the key if the collection is now empty, else account for it. */
export function afterChange(ctx: DataContext, key: string, size: number, value?: CollectionValue): void {
  if (size === 0) ctx.db.delete(key, ctx.nowMs);
  else ctx.db.touched(key, value);
}

/** The optional `count` at argv[2] (SPOP, LPOP, RPOP): null when absent, else 0 or more. */
export function parseOptionalCount(argv: readonly string[]): number | null | ErrorReply {
  return argv.length === 3 ? parseNonNegative(argv[2]!) : null;
}

/** A collection whose members (or fields) can be deleted one by one. */
interface Removable extends CollectionValue {
  readonly size: number;
  delete(member: string): boolean;
}

/** SREM, ZREM, HDEL: deletes argv[2..] from the `kind` value at argv[1]; replies how many were there. */
export function removeMembers<T extends Removable>(
  ctx: DataContext,
  argv: readonly string[],
  kind: abstract new (...args: never[]) => T,
): Reply {
  const found = lookup(ctx, argv[1]!, kind, true);
  if (found instanceof ErrorReply) return found;
  if (found === undefined) return 0;
  let removed = 0;
  for (let i = 2; i < argv.length; i++) if (found.delete(argv[i]!)) removed++;
  if (removed > 0) afterChange(ctx, argv[1]!, found.size, found);
  return removed;
}

/** numkeys for commands with movable keys: the keys' argv indexes, clamped to what argv holds. */
export function numkeysPositions(argv: readonly string[], numkeysIndex: number, extraFirst: number[] = []): number[] {
  const n = parseInteger(argv[numkeysIndex] ?? '');
  const keys = [...extraFirst];
  if (n === null || n < 1) return keys;
  for (let i = 0; i < n && numkeysIndex + 1 + i < argv.length; i++) keys.push(numkeysIndex + 1 + i);
  return keys;
}

/**
 * HRANDFIELD / ZRANDMEMBER `key [count [WITHVALUES|WITHSCORES]]`: count is null when absent. With the
 * flag, Redis refuses |count| beyond LONG_MAX/2 (it doubles it); a huge negative count is refused too.
 */
export function parseRandomCountArgs(argv: readonly string[], flag: string): { count: number | null; withFlag: boolean } | ErrorReply {
  if (argv.length > 4 || (argv.length === 4 && !isWord(argv[3], flag))) return ERR_SYNTAX;
  if (argv.length < 3) return { count: null, withFlag: false };
  const count = parseIntegerInRange(argv[2]!, -LONG_MAX, LONG_MAX);
  if (count instanceof ErrorReply) return count;
  const big = BigInt(argv[2]!);
  if (argv.length === 4 && (big < -LONG_MAX / 2n || big > LONG_MAX / 2n)) return ERR_OUT_OF_RANGE;
  if (count < -RANDOM_PICKS_MAX) return ERR_TOO_MANY_PICKS;
  return { count, withFlag: argv.length === 4 };
}

/**
 * LMPOP/ZMPOP-style arguments from argv[at]: `numkeys key... <end> [COUNT count]`, where <end> is one
 * of `ends` (e.g. LEFT/RIGHT); `end` is its index there.
 */
export function parseMultiPop(
  argv: readonly string[],
  at: number,
  ends: readonly [string, string],
): { keys: string[]; end: 0 | 1; count: number } | ErrorReply {
  const numkeys = parseIntegerInRange(argv[at]!, 1n, LONG_MAX, new ErrorReply('ERR numkeys should be greater than 0'));
  if (numkeys instanceof ErrorReply) return numkeys;
  const endAt = at + 1 + numkeys;
  if (endAt >= argv.length) return ERR_SYNTAX;
  const end = isWord(argv[endAt], ends[0]) ? 0 : isWord(argv[endAt], ends[1]) ? 1 : -1;
  if (end === -1) return ERR_SYNTAX;
  let count = -1;
  for (let i = endAt + 1; i < argv.length; i++) {
    if (isWord(argv[i], 'COUNT') && count === -1 && i + 1 < argv.length) {
      const parsed = parseIntegerInRange(argv[++i]!, 1n, LONG_MAX, new ErrorReply('ERR count should be greater than 0'));
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    } else {
      return ERR_SYNTAX;
    }
  }
  return { keys: argv.slice(at + 1, endAt), end, count: count === -1 ? 1 : count };
}

/**
 * Largest reply a random pick with a negative count (repetitions allowed) may build. Redis would
 * stream billions of elements; a Node process would die building them, hurting every client.
 */
export const RANDOM_PICKS_MAX = 10_000_000;
export const ERR_TOO_MANY_PICKS = new ErrorReply('ERR value is out of range');

/** Distinct random indexes in [0, size), `count` < size, picked with ctx.random (partial Fisher-Yates). */
export function distinctRandomIndexes(random: () => number, size: number, count: number): number[] {
  const chosen = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (size - i));
    const atJ = chosen.get(j) ?? j;
    chosen.set(j, chosen.get(i) ?? i);
    out.push(atJ);
  }
  return out;
}
