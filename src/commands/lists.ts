// List commands (t_list.c of Redis 7.0). The blocking ones (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP)
// serve at once when they can and return WOULD_BLOCK otherwise: the server parks the client on the
// keys and runs the command again when one of them is written, or answers the timeout reply.

import { ErrorReply, NullArray, OK, type Reply } from '../resp/reply.js';
import { ListValue } from '../store/types/list.js';
import {
  ERR_NOT_INTEGER,
  ERR_SYNTAX,
  afterChange,
  arityError,
  isWord,
  lookup,
  numkeysPositions,
  parseInteger,
  parseMultiPop,
  parseNonNegative,
  parseOptionalCount,
  parseTimeoutMs,
} from './collection-args.js';
import { dataCommand } from './collection-meta.js';
import { WOULD_BLOCK, type CommandSpec, type DataContext, type WouldBlock } from './types.js';

const read = (ctx: DataContext, key: string) => lookup(ctx, key, ListValue, false);
const write = (ctx: DataContext, key: string) => lookup(ctx, key, ListValue, true);

type End = 'left' | 'right';

function parseEnd(arg: string): End | null {
  if (isWord(arg, 'LEFT')) return 'left';
  if (isWord(arg, 'RIGHT')) return 'right';
  return null;
}

function pop(list: ListValue, end: End): string {
  return (end === 'left' ? list.popFront() : list.popBack())!;
}

function push(list: ListValue, end: End, value: string): void {
  if (end === 'left') list.pushFront(value);
  else list.pushBack(value);
}

/** Redis's list index rule: negative counts from the end; null when outside the list. */
function resolveIndex(list: ListValue, index: number): number | null {
  const i = index < 0 ? list.length + index : index;
  return i < 0 || i >= list.length ? null : i;
}

function pushGeneric(ctx: DataContext, argv: readonly string[], end: End, onlyIfExists: boolean): Reply {
  const key = argv[1]!;
  const found = write(ctx, key);
  if (found instanceof ErrorReply) return found;
  if (found === undefined && onlyIfExists) return 0;
  const list = found ?? new ListValue();
  for (let i = 2; i < argv.length; i++) push(list, end, argv[i]!);
  if (found === undefined) ctx.db.set(key, list, ctx.nowMs);
  else ctx.db.touched(key, list);
  return list.length;
}

function popGeneric(ctx: DataContext, argv: readonly string[], end: End): Reply {
  if (argv.length > 3) return arityError(argv[0]!.toLowerCase());
  const count = parseOptionalCount(argv);
  if (count instanceof ErrorReply) return count;
  const key = argv[1]!;
  const list = write(ctx, key);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return count === null ? null : NullArray.instance;
  if (count === null) {
    const value = pop(list, end);
    afterChange(ctx, key, list.length, list);
    return value;
  }
  if (count === 0) return [];
  const out: string[] = [];
  while (out.length < count && list.length > 0) out.push(pop(list, end));
  afterChange(ctx, key, list.length, list);
  return out;
}

function llen(ctx: DataContext, argv: readonly string[]): Reply {
  const list = read(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  return list?.length ?? 0;
}

function lrange(ctx: DataContext, argv: readonly string[]): Reply {
  const start = parseInteger(argv[2]!);
  const stop = parseInteger(argv[3]!);
  if (start === null || stop === null) return ERR_NOT_INTEGER;
  const list = read(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return [];
  const [from, to] = clampRange(list.length, start, stop);
  return from > to ? [] : list.range(from, to);
}

/** LRANGE/LTRIM/ZRANGE index normalisation: [from, to] within the list, from > to when empty. */
function clampRange(length: number, start: number, stop: number): [number, number] {
  if (start < 0) start = Math.max(0, length + start);
  if (stop < 0) stop = length + stop;
  if (stop >= length) stop = length - 1;
  if (start >= length) return [1, 0];
  return [start, stop];
}

function lindex(ctx: DataContext, argv: readonly string[]): Reply {
  const index = parseInteger(argv[2]!);
  if (index === null) return ERR_NOT_INTEGER;
  const list = read(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return null;
  const i = resolveIndex(list, index);
  return i === null ? null : list.at(i);
}

function lset(ctx: DataContext, argv: readonly string[]): Reply {
  const list = write(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return new ErrorReply('ERR no such key');
  const index = parseInteger(argv[2]!);
  if (index === null) return ERR_NOT_INTEGER;
  const i = resolveIndex(list, index);
  if (i === null) return new ErrorReply('ERR index out of range');
  list.set(i, argv[3]!);
  ctx.db.touched(argv[1]!);
  return OK;
}

function linsert(ctx: DataContext, argv: readonly string[]): Reply {
  let after: boolean;
  if (isWord(argv[2], 'AFTER')) after = true;
  else if (isWord(argv[2], 'BEFORE')) after = false;
  else return ERR_SYNTAX;
  const list = write(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return 0;
  for (let i = 0; i < list.length; i++) {
    if (list.at(i) === argv[3]) {
      list.insertAt(after ? i + 1 : i, argv[4]!);
      ctx.db.touched(argv[1]!);
      return list.length;
    }
  }
  return -1;
}

function lrem(ctx: DataContext, argv: readonly string[]): Reply {
  const count = parseInteger(argv[2]!);
  if (count === null) return ERR_NOT_INTEGER;
  const list = write(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return 0;
  const removed = list.remove(argv[3]!, Math.abs(count), count < 0);
  if (removed > 0) afterChange(ctx, argv[1]!, list.length);
  return removed;
}

function ltrim(ctx: DataContext, argv: readonly string[]): Reply {
  const start = parseInteger(argv[2]!);
  const stop = parseInteger(argv[3]!);
  if (start === null || stop === null) return ERR_NOT_INTEGER;
  const list = write(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return OK;
  const [from, to] = clampRange(list.length, start, stop);
  list.trim(from, to);
  afterChange(ctx, argv[1]!, list.length);
  return OK;
}

function lpos(ctx: DataContext, argv: readonly string[]): Reply {
  let rank = 1;
  let count: number | null = null;
  let maxlen = 0;
  for (let i = 3; i < argv.length; i++) {
    const value = argv[i + 1];
    if (isWord(argv[i], 'RANK') && value !== undefined) {
      const parsed = parseInteger(value);
      if (parsed === null) return ERR_NOT_INTEGER;
      if (parsed === 0) {
        return new ErrorReply(
          "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
        );
      }
      // Redis negates the rank; LONG_MIN stays negative there and then matches from the first hit.
      rank = parsed === -(2 ** 63) ? -1 : parsed;
    } else if (isWord(argv[i], 'COUNT') && value !== undefined) {
      const parsed = parseNonNegative(value, new ErrorReply("ERR COUNT can't be negative"));
      if (parsed instanceof ErrorReply) return parsed;
      count = parsed;
    } else if (isWord(argv[i], 'MAXLEN') && value !== undefined) {
      const parsed = parseNonNegative(value, new ErrorReply("ERR MAXLEN can't be negative"));
      if (parsed instanceof ErrorReply) return parsed;
      maxlen = parsed;
    } else {
      return ERR_SYNTAX;
    }
    i++;
  }
  const list = read(ctx, argv[1]!);
  if (list instanceof ErrorReply) return list;
  if (list === undefined) return count === null ? null : [];
  const wanted = count === null ? 1 : count === 0 ? Infinity : count;
  const matches: number[] = [];
  const step = rank > 0 ? 1 : -1;
  let skip = Math.abs(rank) - 1;
  const limit = maxlen === 0 ? list.length : Math.min(maxlen, list.length);
  for (let n = 0, i = rank > 0 ? 0 : list.length - 1; n < limit && matches.length < wanted; n++, i += step) {
    if (list.at(i) !== argv[2]) continue;
    if (skip > 0) skip--;
    else matches.push(i);
  }
  if (count === null) return matches.length === 0 ? null : matches[0]!;
  return matches;
}

/** Pops from `source` at `from` and pushes to `destination` at `to`; null when source is missing. */
function moveGeneric(ctx: DataContext, source: string, destination: string, from: End, to: End): Reply | undefined {
  const src = write(ctx, source);
  if (src instanceof ErrorReply) return src;
  if (src === undefined) return undefined;
  const dst = write(ctx, destination);
  if (dst instanceof ErrorReply) return dst;
  const value = pop(src, from);
  const target = dst ?? (source === destination ? src : new ListValue());
  push(target, to, value);
  if (source !== destination) afterChange(ctx, source, src.length);
  if (dst === undefined && source !== destination) ctx.db.set(destination, target, ctx.nowMs);
  else ctx.db.touched(destination);
  return value;
}

function lmove(ctx: DataContext, argv: readonly string[]): Reply {
  const from = parseEnd(argv[3]!);
  const to = parseEnd(argv[4]!);
  if (from === null || to === null) return ERR_SYNTAX;
  return moveGeneric(ctx, argv[1]!, argv[2]!, from, to) ?? null;
}

function rpoplpush(ctx: DataContext, argv: readonly string[]): Reply {
  return moveGeneric(ctx, argv[1]!, argv[2]!, 'right', 'left') ?? null;
}

/** Pops up to `count` elements from the first non-empty list: [key, [elements]], or undefined. */
function mpopFirst(ctx: DataContext, keys: readonly string[], end: End, count: number): Reply | undefined {
  for (const key of keys) {
    const list = write(ctx, key);
    if (list instanceof ErrorReply) return list;
    if (list === undefined) continue;
    const out: string[] = [];
    while (out.length < count && list.length > 0) out.push(pop(list, end));
    afterChange(ctx, key, list.length);
    return [key, out];
  }
  return undefined;
}

function lmpop(ctx: DataContext, argv: readonly string[]): Reply {
  const args = parseMultiPop(argv, 1, ['LEFT', 'RIGHT']);
  if (args instanceof ErrorReply) return args;
  return mpopFirst(ctx, args.keys, args.end === 0 ? 'left' : 'right', args.count) ?? NullArray.instance;
}

function blpopGeneric(ctx: DataContext, argv: readonly string[], end: End): Reply | WouldBlock {
  const timeout = parseTimeoutMs(argv[argv.length - 1]!);
  if (timeout instanceof ErrorReply) return timeout;
  for (let i = 1; i < argv.length - 1; i++) {
    const key = argv[i]!;
    const list = write(ctx, key);
    if (list instanceof ErrorReply) return list;
    if (list === undefined) continue;
    const value = pop(list, end);
    afterChange(ctx, key, list.length, list);
    return [key, value];
  }
  return WOULD_BLOCK;
}

function blmove(ctx: DataContext, argv: readonly string[]): Reply | WouldBlock {
  const from = parseEnd(argv[3]!);
  const to = parseEnd(argv[4]!);
  if (from === null || to === null) return ERR_SYNTAX;
  const timeout = parseTimeoutMs(argv[5]!);
  if (timeout instanceof ErrorReply) return timeout;
  return moveGeneric(ctx, argv[1]!, argv[2]!, from, to) ?? WOULD_BLOCK;
}

function brpoplpush(ctx: DataContext, argv: readonly string[]): Reply | WouldBlock {
  const timeout = parseTimeoutMs(argv[3]!);
  if (timeout instanceof ErrorReply) return timeout;
  return moveGeneric(ctx, argv[1]!, argv[2]!, 'right', 'left') ?? WOULD_BLOCK;
}

function blmpop(ctx: DataContext, argv: readonly string[]): Reply | WouldBlock {
  const timeout = parseTimeoutMs(argv[1]!);
  if (timeout instanceof ErrorReply) return timeout;
  const args = parseMultiPop(argv, 2, ['LEFT', 'RIGHT']);
  if (args instanceof ErrorReply) return args;
  return mpopFirst(ctx, args.keys, args.end === 0 ? 'left' : 'right', args.count) ?? WOULD_BLOCK;
}

export const listCommands: CommandSpec[] = [
  dataCommand('lpush', (ctx, argv) => pushGeneric(ctx, argv, 'left', false)),
  dataCommand('rpush', (ctx, argv) => pushGeneric(ctx, argv, 'right', false)),
  dataCommand('lpushx', (ctx, argv) => pushGeneric(ctx, argv, 'left', true)),
  dataCommand('rpushx', (ctx, argv) => pushGeneric(ctx, argv, 'right', true)),
  dataCommand('lpop', (ctx, argv) => popGeneric(ctx, argv, 'left')),
  dataCommand('rpop', (ctx, argv) => popGeneric(ctx, argv, 'right')),
  dataCommand('llen', llen),
  dataCommand('lrange', lrange),
  dataCommand('lindex', lindex),
  dataCommand('lset', lset),
  dataCommand('linsert', linsert),
  dataCommand('lrem', lrem),
  dataCommand('ltrim', ltrim),
  dataCommand('lpos', lpos),
  dataCommand('lmove', lmove),
  dataCommand('rpoplpush', rpoplpush),
  dataCommand('lmpop', lmpop, (argv) => numkeysPositions(argv, 1)),
  dataCommand('blpop', (ctx, argv) => blpopGeneric(ctx, argv, 'left')),
  dataCommand('brpop', (ctx, argv) => blpopGeneric(ctx, argv, 'right')),
  dataCommand('blmove', blmove),
  dataCommand('brpoplpush', brpoplpush),
  dataCommand('blmpop', blmpop, (argv) => numkeysPositions(argv, 2)),
];
