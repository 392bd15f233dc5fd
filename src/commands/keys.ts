// Generic key commands (Redis 7.0 db.c, expire.c, object.c, cluster.c DUMP/RESTORE).
import type { CommandSpec, DataCommand, DataContext, DataHandler } from './types.js';
import { ErrorReply, OK, SimpleString, type Reply } from '../resp/reply.js';
import { BUSYKEY, SYNTAX, unknownSubcommand, wrongArity } from '../resp/errors.js';
import { INT64_MAX, INT64_MIN, parseInt64 } from '../store/numbers.js';
import { dumpValue, loadDumpPayload, verifyDumpPayload } from '../store/dump.js';
import { typeOf, type StringEncoding } from '../store/value.js';
import { NOT_INTEGER_REPLY } from './strings.js';
import { ONE_KEY, dataSpecsOf } from './data-spec.js';

const NO_SUCH_KEY = new ErrorReply('ERR no such key');
const SYNTAX_REPLY = new ErrorReply(SYNTAX);
/** Redis's `databases` default: COPY ... DB n accepts 0..15 before the cluster-mode check. */
const DATABASES = 16;

// ---------------------------------------------------------------- existence and deletion

const del: DataHandler = (ctx, argv) => {
  let deleted = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.delete(argv[i]!, ctx.nowMs)) deleted++;
  return deleted;
};

const exists: DataHandler = (ctx, argv) => {
  let count = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.get(argv[i]!, ctx.nowMs, false) !== undefined) count++;
  return count;
};

/** TOUCH: counts existing keys and records an access for LRU/LFU. */
const touch: DataHandler = (ctx, argv) => {
  let count = 0;
  for (let i = 1; i < argv.length; i++) if (ctx.db.get(argv[i]!, ctx.nowMs) !== undefined) count++;
  return count;
};

const type: DataHandler = (ctx, argv) => {
  const value = ctx.db.get(argv[1]!, ctx.nowMs, false);
  return new SimpleString(value === undefined ? 'none' : typeOf(value));
};

// ---------------------------------------------------------------- RENAME / COPY

function renameGeneric(ctx: DataContext, argv: readonly string[], nx: boolean): Reply {
  const db = ctx.db;
  const from = argv[1]!;
  const to = argv[2]!;
  const value = db.getForWrite(from, ctx.nowMs);
  if (value === undefined) return NO_SUCH_KEY;
  if (from === to) return nx ? 0 : OK;
  const expireAt = db.getExpireAt(from);
  const encoding = db.objectEncoding(from, value);
  if (db.getForWrite(to, ctx.nowMs) !== undefined) {
    if (nx) return 0;
    db.delete(to, ctx.nowMs);
  }
  db.delete(from, ctx.nowMs);
  db.set(to, value, ctx.nowMs, expireAt);
  if (typeof value === 'string') db.setStringEncoding(to, encoding as StringEncoding);
  return nx ? 1 : OK;
}

const rename: DataHandler = (ctx, argv) => renameGeneric(ctx, argv, false);
const renamenx: DataHandler = (ctx, argv) => renameGeneric(ctx, argv, true);

const copy: DataHandler = (ctx, argv) => {
  let replace = false;
  let dbIndex = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    if (opt === 'replace') {
      replace = true;
    } else if (opt === 'db' && j < argv.length - 1) {
      const n = parseInt64(argv[++j]!);
      if (n === null || n < -2147483648 || n > 2147483647) return NOT_INTEGER_REPLY;
      if (n < 0 || n >= DATABASES) return new ErrorReply('ERR DB index is out of range');
      dbIndex = Number(n);
    } else {
      return SYNTAX_REPLY;
    }
  }
  if (dbIndex !== 0) return new ErrorReply('ERR Copying to another database is not allowed in cluster mode');
  const from = argv[1]!;
  const to = argv[2]!;
  if (from === to) return new ErrorReply('ERR source and destination objects are the same');
  const value = ctx.db.get(from, ctx.nowMs);
  if (value === undefined) return 0;
  const expireAt = ctx.db.getExpireAt(from);
  if (ctx.db.getForWrite(to, ctx.nowMs) !== undefined) {
    if (!replace) return 0;
    ctx.db.delete(to, ctx.nowMs);
  }
  if (typeof value === 'string') {
    const encoding = ctx.db.objectEncoding(from, value) as StringEncoding;
    ctx.db.set(to, value, ctx.nowMs, expireAt);
    ctx.db.setStringEncoding(to, encoding);
  } else {
    ctx.db.set(to, value.clone(), ctx.nowMs, expireAt);
  }
  return 1;
};

// ---------------------------------------------------------------- expiry

const EXPIRE_NX = 1;
const EXPIRE_XX = 2;
const EXPIRE_GT = 4;
const EXPIRE_LT = 8;

/** Redis's expireGenericCommand. `basetimeMs` is nowMs for EXPIRE/PEXPIRE, 0 for the *AT forms. */
function expireGeneric(ctx: DataContext, argv: readonly string[], relative: boolean, unitMs: 1 | 1000): Reply {
  let flags = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    if (opt === 'nx') flags |= EXPIRE_NX;
    else if (opt === 'xx') flags |= EXPIRE_XX;
    else if (opt === 'gt') flags |= EXPIRE_GT;
    else if (opt === 'lt') flags |= EXPIRE_LT;
    else return new ErrorReply(`ERR Unsupported option ${argv[j]!}`);
  }
  if (flags & EXPIRE_NX && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) {
    return new ErrorReply('ERR NX and XX, GT or LT options at the same time are not compatible');
  }
  if (flags & EXPIRE_GT && flags & EXPIRE_LT) {
    return new ErrorReply('ERR GT and LT options at the same time are not compatible');
  }
  const parsed = parseInt64(argv[2]!);
  if (parsed === null) return NOT_INTEGER_REPLY;
  const command = argv[0]!.toLowerCase();
  let when = BigInt(parsed);
  if (unitMs === 1000) {
    if (when > INT64_MAX / 1000n || when < INT64_MIN / 1000n) return invalidExpire(command);
    when *= 1000n;
  }
  const base = relative ? BigInt(ctx.nowMs) : 0n;
  if (when > INT64_MAX - base) return invalidExpire(command);
  when += base;
  const key = argv[1]!;
  if (ctx.db.getForWrite(key, ctx.nowMs) === undefined) return 0;
  const whenMs = Number(when);
  if (flags !== 0) {
    const current = ctx.db.getExpireAt(key);
    if (flags & EXPIRE_NX && current !== undefined) return 0;
    if (flags & EXPIRE_XX && current === undefined) return 0;
    if (flags & EXPIRE_GT && (current === undefined || whenMs <= current)) return 0;
    if (flags & EXPIRE_LT && current !== undefined && whenMs >= current) return 0;
  }
  if (whenMs <= ctx.nowMs) ctx.db.delete(key, ctx.nowMs);
  else ctx.db.setExpireAt(key, whenMs);
  return 1;
}

function invalidExpire(command: string): ErrorReply {
  return new ErrorReply(`ERR invalid expire time in '${command}' command`);
}

/** Redis's ttlGenericCommand: -2 missing, -1 no TTL, else remaining (or absolute) time. */
function ttlHandler(outputMs: boolean, absolute: boolean): DataHandler {
  return (ctx, argv) => {
    const key = argv[1]!;
    if (ctx.db.get(key, ctx.nowMs, false) === undefined) return -2;
    const expireAt = ctx.db.getExpireAt(key);
    if (expireAt === undefined) return -1;
    const ttl = Math.max(0, absolute ? expireAt : expireAt - ctx.nowMs);
    return outputMs ? ttl : Math.floor((ttl + 500) / 1000);
  };
}

const persist: DataHandler = (ctx, argv) => {
  const key = argv[1]!;
  if (ctx.db.getForWrite(key, ctx.nowMs) === undefined) return 0;
  return ctx.db.persist(key) ? 1 : 0;
};

// ---------------------------------------------------------------- OBJECT

const OBJECT_HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the kind of internal representation used in order to store the value',
  '    associated with a <key>.',
  'FREQ <key>',
  '    Return the access frequency index of the <key>. The returned integer is',
  '    proportional to the logarithm of the recent access frequency of the key.',
  'IDLETIME <key>',
  '    Return the idle time of the <key>, that is the approximated number of',
  '    seconds elapsed since the last access to the key.',
  'REFCOUNT <key>',
  '    Return the number of references of the value associated with the specified',
  '    <key>.',
  'HELP',
  '    Prints this help.',
].map((line) => new SimpleString(line));

const POLICY_NOTE =
  'Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.';
/** Redis's OBJ_SHARED_REFCOUNT: what REFCOUNT shows for the shared integers 0..9999. */
const SHARED_REFCOUNT = 2147483647;

const object: DataHandler = (ctx, argv) => {
  const sub = argv[1]!.toLowerCase();
  if (sub === 'help') return argv.length === 2 ? OBJECT_HELP : new ErrorReply(wrongArity('object|help'));
  if (sub !== 'encoding' && sub !== 'freq' && sub !== 'idletime' && sub !== 'refcount') {
    return new ErrorReply(unknownSubcommand(argv[1]!, 'object'));
  }
  if (argv.length !== 3) return new ErrorReply(wrongArity(`object|${sub}`));
  const key = argv[2]!;
  const value = ctx.db.get(key, ctx.nowMs, false);
  if (value === undefined) return null;
  const tracking = ctx.db.accessTracking();
  switch (sub) {
    case 'encoding':
      return ctx.db.objectEncoding(key, value);
    case 'refcount': {
      const shared = typeof value === 'string' && tracking === 'none' && /^(0|[1-9][0-9]{0,3})$/.test(value);
      return shared ? SHARED_REFCOUNT : 1;
    }
    case 'idletime':
      if (tracking === 'lfu') {
        return new ErrorReply(`ERR An LFU maxmemory policy is selected, idle time not tracked. ${POLICY_NOTE}`);
      }
      return ctx.db.idleSeconds(key, ctx.nowMs);
    default:
      if (tracking !== 'lfu') {
        return new ErrorReply(`ERR An LFU maxmemory policy is not selected, access frequency not tracked. ${POLICY_NOTE}`);
      }
      return ctx.db.frequency(key, ctx.nowMs);
  }
};

/** OBJECT's key is argv[2] for the key subcommands; OBJECT HELP has none. */
function objectKeys(argv: readonly string[]): number[] {
  return argv.length >= 3 && argv[1]!.toLowerCase() !== 'help' ? [2] : [];
}

// ---------------------------------------------------------------- DUMP / RESTORE

const dump: DataHandler = (ctx, argv) => {
  const value = ctx.db.get(argv[1]!, ctx.nowMs);
  if (value === undefined) return null;
  const payload = dumpValue(value);
  return payload ?? new ErrorReply('ERR DUMP is not supported for this type');
};

const restore: DataHandler = (ctx, argv) => {
  let replace = false;
  let absTtl = false;
  let idleSeconds: number | undefined;
  let freq: number | undefined;
  for (let j = 4; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    const more = j < argv.length - 1;
    if (opt === 'replace') {
      replace = true;
    } else if (opt === 'absttl') {
      absTtl = true;
    } else if (opt === 'idletime' && more && freq === undefined) {
      const n = parseInt64(argv[++j]!);
      if (n === null) return NOT_INTEGER_REPLY;
      if (n < 0) return new ErrorReply('ERR Invalid IDLETIME value, must be >= 0');
      idleSeconds = Number(n);
    } else if (opt === 'freq' && more && idleSeconds === undefined) {
      const n = parseInt64(argv[++j]!);
      if (n === null) return NOT_INTEGER_REPLY;
      if (n < 0 || n > 255) return new ErrorReply('ERR Invalid FREQ value, must be >= 0 and <= 255');
      freq = Number(n);
    } else {
      return SYNTAX_REPLY;
    }
  }
  const key = argv[1]!;
  if (!replace && ctx.db.getForWrite(key, ctx.nowMs) !== undefined) return new ErrorReply(BUSYKEY);
  const ttlArg = parseInt64(argv[2]!);
  if (ttlArg === null) return NOT_INTEGER_REPLY;
  if (ttlArg < 0) return new ErrorReply('ERR Invalid TTL value, must be >= 0');
  const payload = argv[3]!;
  if (!verifyDumpPayload(payload)) return new ErrorReply('ERR DUMP payload version or checksum are wrong');
  let value;
  try {
    value = loadDumpPayload(payload);
  } catch {
    return new ErrorReply('ERR Bad data format');
  }
  if (replace) ctx.db.delete(key, ctx.nowMs);
  let expireAt: number | undefined;
  if (ttlArg !== 0) {
    expireAt = Number(ttlArg) + (absTtl ? 0 : ctx.nowMs);
    if (expireAt <= ctx.nowMs) return OK; // already expired: the old key (if replaced) is gone
  }
  ctx.db.set(key, value, ctx.nowMs, expireAt);
  ctx.db.setAccess(key, ctx.nowMs, idleSeconds, freq);
  return OK;
};

// ---------------------------------------------------------------- specs

const spec = dataSpecsOf('generic');

const ALL_KEYS = { first: 1, last: -1, step: 1 };
const TWO_KEYS = { first: 1, last: 2, step: 1 };
const READ_FAST = ['keyspace', 'read', 'fast'];
const WRITE_FAST = ['keyspace', 'write', 'fast'];
const WRITE_SLOW = ['keyspace', 'write', 'slow'];
const READ_SLOW = ['keyspace', 'read', 'slow'];

function objectSub(name: string, summary: string, since: string): DataCommand {
  return spec(`${name}`, 3, ['readonly'], READ_SLOW, { first: 2, last: 2, step: 1 }, summary, since, object);
}

export const keyCommands: CommandSpec[] = [
  spec('del', -2, ['write'], WRITE_SLOW, ALL_KEYS, 'Delete a key', '1.0.0', del),
  spec('unlink', -2, ['write', 'fast'], WRITE_FAST, ALL_KEYS, 'Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.', '4.0.0', del),
  spec('exists', -2, ['readonly', 'fast'], READ_FAST, ALL_KEYS, 'Determine if a key exists', '1.0.0', exists),
  spec('type', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Determine the type stored at key', '1.0.0', type),
  spec('rename', 3, ['write'], WRITE_SLOW, TWO_KEYS, 'Rename a key', '1.0.0', rename),
  spec('renamenx', 3, ['write', 'fast'], WRITE_FAST, TWO_KEYS, 'Rename a key, only if the new key does not exist', '1.0.0', renamenx),
  spec('copy', -3, ['write', 'denyoom'], WRITE_SLOW, TWO_KEYS, 'Copy a key', '6.2.0', copy),
  spec('expire', -3, ['write', 'fast'], WRITE_FAST, ONE_KEY, "Set a key's time to live in seconds", '1.0.0', (ctx, argv) => expireGeneric(ctx, argv, true, 1000)),
  spec('pexpire', -3, ['write', 'fast'], WRITE_FAST, ONE_KEY, "Set a key's time to live in milliseconds", '2.6.0', (ctx, argv) => expireGeneric(ctx, argv, true, 1)),
  spec('expireat', -3, ['write', 'fast'], WRITE_FAST, ONE_KEY, 'Set the expiration for a key as a UNIX timestamp', '1.2.0', (ctx, argv) => expireGeneric(ctx, argv, false, 1000)),
  spec('pexpireat', -3, ['write', 'fast'], WRITE_FAST, ONE_KEY, 'Set the expiration for a key as a UNIX timestamp specified in milliseconds', '2.6.0', (ctx, argv) => expireGeneric(ctx, argv, false, 1)),
  spec('ttl', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the time to live for a key in seconds', '1.0.0', ttlHandler(false, false)),
  spec('pttl', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the time to live for a key in milliseconds', '2.6.0', ttlHandler(true, false)),
  spec('expiretime', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the expiration Unix timestamp for a key', '7.0.0', ttlHandler(false, true)),
  spec('pexpiretime', 2, ['readonly', 'fast'], READ_FAST, ONE_KEY, 'Get the expiration Unix timestamp for a key in milliseconds', '7.0.0', ttlHandler(true, true)),
  spec('persist', 2, ['write', 'fast'], WRITE_FAST, ONE_KEY, 'Remove the expiration from a key', '2.2.0', persist),
  spec('touch', -2, ['readonly', 'fast'], READ_FAST, ALL_KEYS, 'Alters the last access time of a key(s). Returns the number of existing keys specified.', '3.2.1', touch),
  spec('object', -2, [], ['slow'], null, 'A container for object introspection commands', '2.2.3', object, {
    getKeys: objectKeys,
    subcommands: [
      objectSub('encoding', 'Inspect the internal encoding of a Redis object', '2.2.3'),
      objectSub('freq', 'Get the logarithmic access frequency counter of a Redis object', '4.0.0'),
      objectSub('idletime', 'Get the time since a Redis object was last accessed', '2.2.3'),
      objectSub('refcount', 'Get the number of references to the value of the key', '2.2.3'),
      spec('help', 2, ['loading', 'stale'], ['keyspace', 'slow'], null, 'Show helpful text about the different subcommands', '6.2.0', object),
    ],
  }),
  spec('dump', 2, ['readonly'], READ_SLOW, ONE_KEY, 'Return a serialized version of the value stored at the specified key.', '2.6.0', dump),
  spec('restore', -4, ['write', 'denyoom'], ['keyspace', 'write', 'slow', 'dangerous'], ONE_KEY, 'Create a key using the provided serialized value, previously obtained using DUMP.', '2.6.0', restore),
];
