// String commands (Redis 7.0 t_string.c semantics, replies and error texts).
import type { CommandSpec, DataContext, DataHandler } from './types.js';
import { ErrorReply, MapReply, OK, type Reply } from '../resp/reply.js';
import { NOT_INTEGER, NOT_FLOAT, SYNTAX, WRONGTYPE } from '../resp/errors.js';
import { KEEP_TTL } from '../store/keyspace.js';
import { STRING_MAX_BYTES, type Value } from '../store/value.js';
import {
  INT64_MAX,
  INT64_MIN,
  addInt64,
  addLongDouble,
  formatLongDouble,
  parseInt64,
  parseLongDouble,
} from '../store/numbers.js';
import { ONE_KEY, dataSpecsOf } from './data-spec.js';

export const WRONGTYPE_REPLY = new ErrorReply(WRONGTYPE);
export const SYNTAX_REPLY = new ErrorReply(SYNTAX);
export const NOT_INTEGER_REPLY = new ErrorReply(NOT_INTEGER);
const NOT_FLOAT_REPLY = new ErrorReply(NOT_FLOAT);
const STRING_TOO_LONG = new ErrorReply('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
/** V8's longest string (2^29 - 24 chars) is a little below 512 MiB: refuse beyond it the same way. */
const JS_STRING_MAX = 2 ** 29 - 24;

export function invalidExpireTime(command: string): ErrorReply {
  return new ErrorReply(`ERR invalid expire time in '${command}' command`);
}

/** Redis's checkStringLength: would a string of `total` bytes be too long? */
export function stringTooLong(total: number): boolean {
  return total > STRING_MAX_BYTES || total > JS_STRING_MAX;
}

/**
 * The absolute expiry (ms) of an EX/PX/EXAT/PXAT argument as SET, SETEX and GETEX compute it, or
 * an error reply: not an integer, <= 0, or an overflow of the int64 milliseconds.
 */
export function absoluteExpiry(
  arg: string,
  unitMs: 1 | 1000,
  relative: boolean,
  nowMs: number,
  command: string,
): number | ErrorReply {
  const parsed = parseInt64(arg);
  if (parsed === null) return NOT_INTEGER_REPLY;
  let when = BigInt(parsed);
  if (when <= 0n || (unitMs === 1000 && when > INT64_MAX / 1000n)) return invalidExpireTime(command);
  when *= BigInt(unitMs);
  if (relative) when += BigInt(nowMs);
  if (when > INT64_MAX) return invalidExpireTime(command); // C's signed overflow wraps negative
  return Number(when);
}

/** A live string value for a read; WRONGTYPE for another type. */
function readString(ctx: DataContext, key: string): string | undefined | ErrorReply {
  const value = ctx.db.get(key, ctx.nowMs);
  if (value === undefined || typeof value === 'string') return value;
  return WRONGTYPE_REPLY;
}

// ---------------------------------------------------------------- GET / SET family

const get: DataHandler = (ctx, argv) => {
  const value = ctx.db.get(argv[1]!, ctx.nowMs);
  if (value === undefined) return null;
  return typeof value === 'string' ? value : WRONGTYPE_REPLY;
};

const FLAG_NX = 1;
const FLAG_XX = 2;
const FLAG_GET = 4;
const FLAG_KEEPTTL = 8;
const FLAG_PERSIST = 16;
const FLAG_EX = 32;
const FLAG_PX = 64;
const FLAG_EXAT = 128;
const FLAG_PXAT = 256;
const ANY_EXPIRE = FLAG_EX | FLAG_PX | FLAG_EXAT | FLAG_PXAT;

interface ExtendedArgs {
  flags: number;
  expire: string | undefined;
}

/** Redis's parseExtendedStringArgumentsOrReply for SET (from argv[3]) and GETEX (from argv[2]). */
function parseExtendedArgs(argv: readonly string[], forSet: boolean): ExtendedArgs | ErrorReply {
  let flags = 0;
  let expire: string | undefined;
  for (let j = forSet ? 3 : 2; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    const hasNext = j < argv.length - 1;
    let expireFlag = 0;
    if (opt === 'nx' && forSet && !(flags & FLAG_XX)) flags |= FLAG_NX;
    else if (opt === 'xx' && forSet && !(flags & FLAG_NX)) flags |= FLAG_XX;
    else if (opt === 'get' && forSet) flags |= FLAG_GET;
    else if (opt === 'keepttl' && forSet && !(flags & (FLAG_PERSIST | ANY_EXPIRE))) flags |= FLAG_KEEPTTL;
    else if (opt === 'persist' && !forSet && !(flags & (FLAG_KEEPTTL | ANY_EXPIRE))) flags |= FLAG_PERSIST;
    else if (opt === 'ex') expireFlag = FLAG_EX;
    else if (opt === 'px') expireFlag = FLAG_PX;
    else if (opt === 'exat') expireFlag = FLAG_EXAT;
    else if (opt === 'pxat') expireFlag = FLAG_PXAT;
    else return SYNTAX_REPLY;
    if (expireFlag !== 0) {
      // One expiry kind, repeatable (the last value wins), never with KEEPTTL or PERSIST.
      const others = ANY_EXPIRE & ~expireFlag;
      if (flags & (FLAG_KEEPTTL | FLAG_PERSIST | others) || !hasNext) return SYNTAX_REPLY;
      flags |= expireFlag;
      expire = argv[++j]!;
    }
  }
  return { flags, expire };
}

function expiryOf(args: ExtendedArgs, nowMs: number, command: string): number | undefined | ErrorReply {
  if (args.expire === undefined) return undefined;
  const unit = args.flags & (FLAG_EX | FLAG_EXAT) ? 1000 : 1;
  const relative = (args.flags & (FLAG_EX | FLAG_PX)) !== 0;
  return absoluteExpiry(args.expire, unit, relative, nowMs, command);
}

/**
 * Redis's setGenericCommand. `nxReplies` are SETNX's [set, not set] integer replies; otherwise OK
 * and null. `getOld` returns the old value (SET ... GET) instead.
 */
function setGeneric(
  ctx: DataContext,
  key: string,
  value: string,
  flags: number,
  expireAt: number | undefined,
  nxReplies?: [Reply, Reply],
): Reply {
  const db = ctx.db;
  let old: Value | undefined;
  if (flags & FLAG_GET) {
    old = db.get(key, ctx.nowMs);
    if (old !== undefined && typeof old !== 'string') return WRONGTYPE_REPLY;
  }
  // A plain SET needs no lookup: `set` replaces whatever is there, expired or not.
  const found = flags & (FLAG_NX | FLAG_XX) ? db.getForWrite(key, ctx.nowMs) !== undefined : false;
  if ((flags & FLAG_NX && found) || (flags & FLAG_XX && !found)) {
    if (flags & FLAG_GET) return old ?? null;
    return nxReplies ? nxReplies[1] : null;
  }
  db.set(key, value, ctx.nowMs, flags & FLAG_KEEPTTL ? KEEP_TTL : expireAt);
  if (flags & FLAG_GET) return old ?? null;
  return nxReplies ? nxReplies[0] : OK;
}

const set: DataHandler = (ctx, argv) => {
  const args = parseExtendedArgs(argv, true);
  if (args instanceof ErrorReply) return args;
  const expireAt = expiryOf(args, ctx.nowMs, 'set');
  if (expireAt instanceof ErrorReply) return expireAt;
  return setGeneric(ctx, argv[1]!, argv[2]!, args.flags, expireAt);
};

const setnx: DataHandler = (ctx, argv) => setGeneric(ctx, argv[1]!, argv[2]!, FLAG_NX, undefined, [1, 0]);

function setexHandler(unitMs: 1 | 1000, command: string): DataHandler {
  return (ctx, argv) => {
    const expireAt = absoluteExpiry(argv[2]!, unitMs, true, ctx.nowMs, command);
    if (expireAt instanceof ErrorReply) return expireAt;
    return setGeneric(ctx, argv[1]!, argv[3]!, 0, expireAt);
  };
}

const getset: DataHandler = (ctx, argv) => setGeneric(ctx, argv[1]!, argv[2]!, FLAG_GET, undefined);

const getdel: DataHandler = (ctx, argv) => {
  const value = readString(ctx, argv[1]!);
  if (value === undefined || value instanceof ErrorReply) return value ?? null;
  ctx.db.delete(argv[1]!, ctx.nowMs);
  return value;
};

const getex: DataHandler = (ctx, argv) => {
  const args = parseExtendedArgs(argv, false);
  if (args instanceof ErrorReply) return args;
  const key = argv[1]!;
  const value = readString(ctx, key);
  if (value === undefined || value instanceof ErrorReply) return value ?? null;
  const expireAt = expiryOf(args, ctx.nowMs, 'getex');
  if (expireAt instanceof ErrorReply) return expireAt;
  if (args.flags & (FLAG_EXAT | FLAG_PXAT) && expireAt !== undefined && expireAt <= ctx.nowMs) {
    ctx.db.delete(key, ctx.nowMs);
  } else if (expireAt !== undefined) {
    ctx.db.setExpireAt(key, expireAt);
  } else if (args.flags & FLAG_PERSIST) {
    ctx.db.persist(key);
  }
  return value;
};

const mget: DataHandler = (ctx, argv) => {
  const values: Reply[] = [];
  for (let i = 1; i < argv.length; i++) {
    const value = ctx.db.get(argv[i]!, ctx.nowMs);
    values.push(typeof value === 'string' ? value : null);
  }
  return values;
};

function msetArityError(argv: readonly string[]): ErrorReply | null {
  return argv.length % 2 === 0 ? new ErrorReply(`ERR wrong number of arguments for '${argv[0]!.toLowerCase()}' command`) : null;
}

const mset: DataHandler = (ctx, argv) => {
  const error = msetArityError(argv);
  if (error) return error;
  for (let i = 1; i < argv.length; i += 2) ctx.db.set(argv[i]!, argv[i + 1]!, ctx.nowMs);
  return OK;
};

const msetnx: DataHandler = (ctx, argv) => {
  const error = msetArityError(argv);
  if (error) return error;
  for (let i = 1; i < argv.length; i += 2) {
    if (ctx.db.getForWrite(argv[i]!, ctx.nowMs) !== undefined) return 0;
  }
  for (let i = 1; i < argv.length; i += 2) ctx.db.set(argv[i]!, argv[i + 1]!, ctx.nowMs);
  return 1;
};

// ---------------------------------------------------------------- in-place edits

const append: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const old = ctx.db.getForWrite(key, ctx.nowMs);
  if (old === undefined) {
    ctx.db.set(key, argv[2]!, ctx.nowMs);
    return argv[2]!.length;
  }
  if (typeof old !== 'string') return WRONGTYPE_REPLY;
  if (stringTooLong(old.length + argv[2]!.length)) return STRING_TOO_LONG;
  const value = old + argv[2]!;
  ctx.db.set(key, value, ctx.nowMs, KEEP_TTL);
  ctx.db.setStringEncoding(key, 'raw'); // Redis appends in place to a raw string
  return value.length;
};

const strlen: DataHandler = (ctx, argv) => {
  const value = readString(ctx, argv[1]!);
  if (value instanceof ErrorReply) return value;
  return value === undefined ? 0 : value.length;
};

const getrange: DataHandler = (ctx, argv) => {
  const startArg = parseInt64(argv[2]!);
  const endArg = parseInt64(argv[3]!);
  if (startArg === null || endArg === null) return NOT_INTEGER_REPLY;
  const value = readString(ctx, argv[1]!);
  if (value === undefined) return '';
  if (value instanceof ErrorReply) return value;
  let start = Number(startArg);
  let end = Number(endArg);
  const len = value.length;
  if (start < 0 && end < 0 && start > end) return '';
  if (start < 0) start = len + start;
  if (end < 0) end = len + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len === 0) return '';
  return value.slice(start, end + 1);
};

const setrange: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const patch = argv[3]!;
  const offsetArg = parseInt64(argv[2]!);
  if (offsetArg === null) return NOT_INTEGER_REPLY;
  if (offsetArg < 0) return new ErrorReply('ERR offset is out of range');
  const offset = Number(offsetArg);
  const old = ctx.db.getForWrite(key, ctx.nowMs);
  if (old !== undefined && typeof old !== 'string') return WRONGTYPE_REPLY;
  if (patch.length === 0) return old === undefined ? 0 : old.length;
  if (stringTooLong(offset + patch.length)) return STRING_TOO_LONG;
  const base = old ?? '';
  const head = base.length >= offset ? base.slice(0, offset) : base + '\0'.repeat(offset - base.length);
  const value = head + patch + base.slice(offset + patch.length);
  ctx.db.set(key, value, ctx.nowMs, KEEP_TTL);
  ctx.db.setStringEncoding(key, 'raw');
  return value.length;
};

// ---------------------------------------------------------------- counters

/** Redis's incrDecrCommand: adds `delta` to the integer at key, keeping its TTL. */
function incrBy(ctx: DataContext, key: string, delta: number | bigint): Reply {
  const old = ctx.db.getForWrite(key, ctx.nowMs);
  if (old !== undefined && typeof old !== 'string') return WRONGTYPE_REPLY;
  const current = old === undefined ? 0 : parseInt64(old);
  if (current === null) return NOT_INTEGER_REPLY;
  const sum = addInt64(current, delta);
  if (sum === null) return new ErrorReply('ERR increment or decrement would overflow');
  ctx.db.set(key, String(sum), ctx.nowMs, KEEP_TTL);
  return sum;
}

const incr: DataHandler = (ctx, argv) => incrBy(ctx, argv[1]!, 1);
const decr: DataHandler = (ctx, argv) => incrBy(ctx, argv[1]!, -1);
const incrby: DataHandler = (ctx, argv) => {
  const delta = parseInt64(argv[2]!);
  return delta === null ? NOT_INTEGER_REPLY : incrBy(ctx, argv[1]!, delta);
};
const decrby: DataHandler = (ctx, argv) => {
  const delta = parseInt64(argv[2]!);
  if (delta === null) return NOT_INTEGER_REPLY;
  if (delta === INT64_MIN) return new ErrorReply('ERR decrement would overflow');
  return incrBy(ctx, argv[1]!, -delta);
};

const incrbyfloat: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  const old = ctx.db.getForWrite(key, ctx.nowMs);
  if (old !== undefined && typeof old !== 'string') return WRONGTYPE_REPLY;
  const current = parseLongDouble(old ?? '0');
  const delta = parseLongDouble(argv[2]!);
  if (current === null || delta === null) return NOT_FLOAT_REPLY;
  const sum = typeof current === 'number' || typeof delta === 'number' ? null : addLongDouble(current, delta);
  if (sum === null) return new ErrorReply('ERR increment would produce NaN or Infinity');
  const text = formatLongDouble(sum);
  ctx.db.set(key, text, ctx.nowMs, KEEP_TTL);
  ctx.db.setStringEncoding(key, text.length <= 44 ? 'embstr' : 'raw'); // never an integer object
  return text;
};

// ---------------------------------------------------------------- LCS

const lcs: DataHandler = (ctx, argv) => {
  const a = ctx.db.get(argv[1]!, ctx.nowMs);
  const b = ctx.db.get(argv[2]!, ctx.nowMs);
  if ((a !== undefined && typeof a !== 'string') || (b !== undefined && typeof b !== 'string')) {
    return new ErrorReply('ERR The specified keys must contain string values');
  }
  let getIdx = false;
  let getLen = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    if (opt === 'idx') getIdx = true;
    else if (opt === 'len') getLen = true;
    else if (opt === 'withmatchlen') withMatchLen = true;
    else if (opt === 'minmatchlen' && j < argv.length - 1) {
      const n = parseInt64(argv[++j]!);
      if (n === null) return NOT_INTEGER_REPLY;
      minMatchLen = n < 0 ? 0 : Number(n);
    } else return SYNTAX_REPLY;
  }
  if (getIdx && getLen) return new ErrorReply('ERR If you want both the length and indexes, please just use IDX.');
  return lcsReply(a ?? '', b ?? '', getIdx, getLen, withMatchLen, minMatchLen);
};

/** The dynamic programming table and walk of Redis's lcsCommand, replies included. */
function lcsReply(a: string, b: string, getIdx: boolean, getLen: boolean, withMatchLen: boolean, minMatchLen: number): Reply {
  const alen = a.length;
  const blen = b.length;
  const width = blen + 1;
  if ((alen + 1) * width * 4 > STRING_MAX_BYTES) {
    return new ErrorReply('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  let table: Uint32Array;
  try {
    table = new Uint32Array((alen + 1) * width);
  } catch {
    return new ErrorReply('ERR Insufficient memory, failed allocating transient memory for LCS');
  }
  for (let i = 1; i <= alen; i++) {
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= blen; j++) {
      if (ca === b.charCodeAt(j - 1)) table[i * width + j] = table[(i - 1) * width + j - 1]! + 1;
      else table[i * width + j] = Math.max(table[(i - 1) * width + j]!, table[i * width + j - 1]!);
    }
  }
  const total = table[alen * width + blen]!;
  if (getLen && !getIdx) return total;
  const result: string[] = new Array<string>(total);
  const matches: Reply[] = [];
  let idx = total;
  let aStart = alen; // alen: no range open
  let aEnd = 0;
  let bStart = 0;
  let bEnd = 0;
  let i = alen;
  let j = blen;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a.charCodeAt(i - 1) === b.charCodeAt(j - 1)) {
      result[idx - 1] = a[i - 1]!;
      if (aStart === alen) {
        aStart = aEnd = i - 1;
        bStart = bEnd = j - 1;
      } else if (aStart === i && bStart === j) {
        aStart--;
        bStart--;
      } else {
        emit = true;
      }
      if (aStart === 0 || bStart === 0) emit = true;
      idx--;
      i--;
      j--;
    } else {
      if (table[(i - 1) * width + j]! > table[i * width + j - 1]!) i--;
      else j--;
      if (aStart !== alen) emit = true;
    }
    if (emit) {
      const matchLen = aEnd - aStart + 1;
      if (getIdx && (minMatchLen === 0 || matchLen >= minMatchLen)) {
        const entry: Reply[] = [
          [aStart, aEnd],
          [bStart, bEnd],
        ];
        if (withMatchLen) entry.push(matchLen);
        matches.push(entry);
      }
      aStart = alen;
    }
  }
  if (getIdx) return new MapReply(['matches', matches, 'len', total]);
  return result.join('');
}

// ---------------------------------------------------------------- specs

const spec = dataSpecsOf('string');

const READ_FAST = ['read', 'string', 'fast'];
const WRITE_FAST = ['write', 'string', 'fast'];
const WRITE_SLOW = ['write', 'string', 'slow'];
const READ_SLOW = ['read', 'string', 'slow'];

export const stringCommands: CommandSpec[] = [
  spec('get', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the value of a key', '1.0.0', get),
  spec('set', -3, ['write', 'denyoom'], WRITE_SLOW, ONE_KEY, 'Set the string value of a key', '1.0.0', set),
  spec('setnx', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Set the value of a key, only if the key does not exist', '1.0.0', setnx),
  spec('setex', 4, ['write', 'denyoom'], WRITE_SLOW, ONE_KEY, 'Set the value and expiration of a key', '2.0.0', setexHandler(1000, 'setex')),
  spec('psetex', 4, ['write', 'denyoom'], WRITE_SLOW, ONE_KEY, 'Set the value and expiration in milliseconds of a key', '2.6.0', setexHandler(1, 'psetex')),
  spec('getset', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Set the string value of a key and return its old value', '1.0.0', getset),
  spec('getdel', 2, ['write', 'fast'], WRITE_FAST, ONE_KEY, 'Get the value of a key and delete the key', '6.2.0', getdel),
  spec('getex', -2, ['write', 'fast'], WRITE_FAST, ONE_KEY, 'Get the value of a key and optionally set its expiration', '6.2.0', getex),
  spec('mget', -2, ['readonly', 'fast'], READ_FAST, { first: 1, last: -1, step: 1 }, 'Get the values of all the given keys', '1.0.0', mget),
  spec('mset', -3, ['write', 'denyoom'], WRITE_SLOW, { first: 1, last: -1, step: 2 }, 'Set multiple keys to multiple values', '1.0.1', mset),
  spec('msetnx', -3, ['write', 'denyoom'], WRITE_SLOW, { first: 1, last: -1, step: 2 }, 'Set multiple keys to multiple values, only if none of the keys exist', '1.0.1', msetnx),
  spec('append', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Append a value to a key', '2.0.0', append),
  spec('strlen', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the length of the value stored in a key', '2.2.0', strlen),
  spec('getrange', 4, ['readonly'], READ_SLOW, ONE_KEY, 'Get a substring of the string stored at a key', '2.4.0', getrange),
  spec('setrange', 4, ['write', 'denyoom'], WRITE_SLOW, ONE_KEY, 'Overwrite part of a string at key starting at the specified offset', '2.2.0', setrange),
  spec('substr', 4, ['readonly'], READ_SLOW, ONE_KEY, 'Get a substring of the string stored at a key', '1.0.0', getrange),
  spec('incr', 2, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Increment the integer value of a key by one', '1.0.0', incr),
  spec('decr', 2, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Decrement the integer value of a key by one', '1.0.0', decr),
  spec('incrby', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Increment the integer value of a key by the given amount', '1.0.0', incrby),
  spec('decrby', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Decrement the integer value of a key by the given number', '1.0.0', decrby),
  spec('incrbyfloat', 3, ['write', 'denyoom', 'fast'], WRITE_FAST, ONE_KEY, 'Increment the float value of a key by the given amount', '2.6.0', incrbyfloat),
  spec('lcs', -3, ['readonly'], READ_SLOW, { first: 1, last: 2, step: 1 }, 'Find longest common substring', '7.0.0', lcs),
];

