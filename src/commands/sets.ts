// Set commands (t_set.c of Redis 7.0). Random picks use ctx.random only, so every replica picks alike.

import { ErrorReply, SetReply, type Reply } from '../resp/reply.js';
import { SetValue } from '../store/types/set.js';
import {
  ERR_SYNTAX,
  LONG_MAX,
  afterChange,
  distinctRandomIndexes,
  isWord,
  lookup,
  numkeysPositions,
  parseIntegerInRange,
  parseNonNegative,
  parseOptionalCount,
  scanCollection,
  removeMembers,
  ERR_TOO_MANY_PICKS,
  RANDOM_PICKS_MAX,
} from './collection-args.js';
import { dataCommand } from './collection-meta.js';
import type { CommandSpec, DataContext } from './types.js';

const read = (ctx: DataContext, key: string) => lookup(ctx, key, SetValue, false);
const write = (ctx: DataContext, key: string) => lookup(ctx, key, SetValue, true);

function sadd(ctx: DataContext, argv: readonly string[]): Reply {
  const found = write(ctx, argv[1]!);
  if (found instanceof ErrorReply) return found;
  const set = found ?? new SetValue();
  let added = 0;
  for (let i = 2; i < argv.length; i++) if (set.add(argv[i]!)) added++;
  if (found === undefined) ctx.db.set(argv[1]!, set, ctx.nowMs);
  else if (added > 0) ctx.db.touched(argv[1]!, set);
  return added;
}

function srem(ctx: DataContext, argv: readonly string[]): Reply {
  return removeMembers(ctx, argv, SetValue);
}

function smembers(ctx: DataContext, argv: readonly string[]): Reply {
  const set = read(ctx, argv[1]!);
  if (set instanceof ErrorReply) return set;
  return new SetReply(set?.members() ?? []);
}

function sismember(ctx: DataContext, argv: readonly string[]): Reply {
  const set = read(ctx, argv[1]!);
  if (set instanceof ErrorReply) return set;
  return set?.has(argv[2]!) ? 1 : 0;
}

function smismember(ctx: DataContext, argv: readonly string[]): Reply {
  const set = read(ctx, argv[1]!);
  if (set instanceof ErrorReply) return set;
  return argv.slice(2).map((m) => (set?.has(m) ? 1 : 0));
}

function scard(ctx: DataContext, argv: readonly string[]): Reply {
  const set = read(ctx, argv[1]!);
  if (set instanceof ErrorReply) return set;
  return set?.size ?? 0;
}

function spop(ctx: DataContext, argv: readonly string[]): Reply {
  if (argv.length > 3) return ERR_SYNTAX;
  const count = parseOptionalCount(argv);
  if (count instanceof ErrorReply) return count;
  const key = argv[1]!;
  const set = write(ctx, key);
  if (set instanceof ErrorReply) return set;
  if (set === undefined) return count === null ? null : new SetReply([]);
  if (count === null) {
    const member = set.at(Math.floor(ctx.random() * set.size));
    set.delete(member);
    afterChange(ctx, key, set.size);
    return member;
  }
  if (count === 0) return new SetReply([]);
  if (count >= set.size) {
    const all = set.members();
    ctx.db.delete(key, ctx.nowMs);
    return new SetReply(all);
  }
  const popped: string[] = [];
  for (let i = 0; i < count; i++) {
    const member = set.at(Math.floor(ctx.random() * set.size));
    set.delete(member);
    popped.push(member);
  }
  ctx.db.touched(key);
  return new SetReply(popped);
}

function srandmember(ctx: DataContext, argv: readonly string[]): Reply {
  if (argv.length > 3) return ERR_SYNTAX;
  let count: number | null = null;
  if (argv.length === 3) {
    const parsed = parseIntegerInRange(argv[2]!, -LONG_MAX, LONG_MAX);
    if (parsed instanceof ErrorReply) return parsed;
    count = parsed;
  }
  const set = read(ctx, argv[1]!);
  if (set instanceof ErrorReply) return set;
  if (count === null) return set === undefined ? null : set.at(Math.floor(ctx.random() * set.size));
  if (set === undefined || count === 0) return [];
  if (count < -RANDOM_PICKS_MAX) return ERR_TOO_MANY_PICKS;
  if (count < 0) {
    const out: string[] = [];
    for (let i = 0; i < -count; i++) out.push(set.at(Math.floor(ctx.random() * set.size)));
    return out;
  }
  if (count >= set.size) return set.members();
  return distinctRandomIndexes(ctx.random, set.size, count).map((i) => set.at(i));
}

function smove(ctx: DataContext, argv: readonly string[]): Reply {
  const [, source, destination, member] = argv as [string, string, string, string];
  const src = write(ctx, source);
  if (src === undefined) return 0;
  if (src instanceof ErrorReply) return src;
  const dst = write(ctx, destination);
  if (dst instanceof ErrorReply) return dst;
  if (source === destination) return src.has(member) ? 1 : 0;
  if (!src.delete(member)) return 0;
  afterChange(ctx, source, src.size);
  if (dst === undefined) {
    ctx.db.set(destination, SetValue.from([member]), ctx.nowMs);
  } else if (dst.add(member)) {
    ctx.db.touched(destination);
  }
  return 1;
}

type SetOp = 'inter' | 'union' | 'diff';

/** The sets at `keys` (undefined for missing ones), or WRONGTYPE if any holds something else. */
function readSets(ctx: DataContext, keys: readonly string[]): (SetValue | undefined)[] | ErrorReply {
  const sets: (SetValue | undefined)[] = [];
  for (const key of keys) {
    const set = read(ctx, key);
    if (set instanceof ErrorReply) return set;
    sets.push(set);
  }
  return sets;
}

function combine(sets: readonly (SetValue | undefined)[], op: SetOp): SetValue {
  const result = new SetValue();
  if (op === 'inter') {
    if (sets.some((s) => s === undefined)) return result;
    const ordered = (sets as SetValue[]).slice().sort((a, b) => a.size - b.size);
    for (const member of ordered[0]!.members()) {
      if (ordered.every((s, i) => i === 0 || s.has(member))) result.add(member);
    }
  } else if (op === 'union') {
    for (const set of sets) if (set !== undefined) for (const member of set.members()) result.add(member);
  } else {
    const [first, ...others] = sets;
    if (first !== undefined) {
      for (const member of first.members()) if (!others.some((s) => s?.has(member))) result.add(member);
    }
  }
  return result;
}

function setOperation(op: SetOp) {
  return (ctx: DataContext, argv: readonly string[]): Reply => {
    const sets = readSets(ctx, argv.slice(1));
    if (sets instanceof ErrorReply) return sets;
    return new SetReply(combine(sets, op).members());
  };
}

function setOperationStore(op: SetOp) {
  return (ctx: DataContext, argv: readonly string[]): Reply => {
    const sets = readSets(ctx, argv.slice(2));
    if (sets instanceof ErrorReply) return sets;
    const result = combine(sets, op);
    const destination = argv[1]!;
    if (result.size === 0) ctx.db.delete(destination, ctx.nowMs);
    else ctx.db.set(destination, result, ctx.nowMs);
    return result.size;
  };
}

function sintercard(ctx: DataContext, argv: readonly string[]): Reply {
  const numkeys = parseIntegerInRange(argv[1]!, 1n, LONG_MAX, new ErrorReply('ERR numkeys should be greater than 0'));
  if (numkeys instanceof ErrorReply) return numkeys;
  if (numkeys > argv.length - 2) return new ErrorReply("ERR Number of keys can't be greater than number of args");
  let limit = 0;
  for (let i = 2 + numkeys; i < argv.length; i++) {
    if (isWord(argv[i], 'LIMIT') && i + 1 < argv.length) {
      const parsed = parseNonNegative(argv[++i]!, new ErrorReply("ERR LIMIT can't be negative"));
      if (parsed instanceof ErrorReply) return parsed;
      limit = parsed;
    } else {
      return ERR_SYNTAX;
    }
  }
  const sets = readSets(ctx, argv.slice(2, 2 + numkeys));
  if (sets instanceof ErrorReply) return sets;
  if (sets.some((s) => s === undefined)) return 0;
  const ordered = (sets as SetValue[]).slice().sort((a, b) => a.size - b.size);
  let count = 0;
  const smallest = ordered[0]!;
  for (let i = 0; i < smallest.size && (limit === 0 || count < limit); i++) {
    const member = smallest.at(i);
    if (ordered.every((s, j) => j === 0 || s.has(member))) count++;
  }
  return count;
}

function sscan(ctx: DataContext, argv: readonly string[]): Reply {
  return scanCollection(
    ctx,
    argv,
    SetValue,
    (set, cursor, count) => {
      const page = set.scan(cursor, count);
      return { cursor: page.cursor, names: page.members };
    },
    (_set, member) => [member],
  );
}

export const setCommands: CommandSpec[] = [
  dataCommand('sadd', sadd),
  dataCommand('srem', srem),
  dataCommand('smembers', smembers),
  dataCommand('sismember', sismember),
  dataCommand('smismember', smismember),
  dataCommand('scard', scard),
  dataCommand('spop', spop),
  dataCommand('srandmember', srandmember),
  dataCommand('smove', smove),
  dataCommand('sinter', setOperation('inter')),
  dataCommand('sunion', setOperation('union')),
  dataCommand('sdiff', setOperation('diff')),
  dataCommand('sinterstore', setOperationStore('inter')),
  dataCommand('sunionstore', setOperationStore('union')),
  dataCommand('sdiffstore', setOperationStore('diff')),
  dataCommand('sintercard', sintercard, (argv) => numkeysPositions(argv, 1)),
  dataCommand('sscan', sscan),
];
