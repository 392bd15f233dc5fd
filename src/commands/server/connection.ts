// Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT, and the cluster session
// flags READONLY, READWRITE, ASKING. Replies and error texts are Redis 7.0.15's (CLIENT SETINFO and
// NO-TOUCH follow 7.2, which clients send).

import type { ServerContext, Session } from '../server-context.js';
import type { CommandFlag, CommandSpec } from '../types.js';
import { ErrorReply, MapReply, OK, PONG, SimpleString, VerbatimReply } from '../../resp/reply.js';
import * as errors from '../../resp/errors.js';
import {
  NOT_INTEGER_ERROR,
  SYNTAX_ERROR,
  dispatchSubcommands,
  helpReply,
  isValidClientAttribute,
  parseInteger,
  serverCommand,
  subcommand,
  withTips,
  type ServerHandler,
} from './util.js';

export const REDIS_VERSION = '7.0.15';

const CLIENT_NAME_ERROR = 'ERR Client names cannot contain spaces, newlines or special characters.';
const PROTOCOL_VERSION_ERROR = 'ERR Protocol version is not an integer or out of range';

const connection = ['fast', 'connection'];

// ---------------------------------------------------------------- authentication

/** The default user is the only user: any password when requirepass is empty (nopass), else requirepass. */
function credentialsValid(ctx: ServerContext, user: string, password: string): boolean {
  if (user !== 'default') return false;
  const required = ctx.server.config.value('requirepass') ?? '';
  return required === '' || password === required;
}

function passwordRequired(ctx: ServerContext): boolean {
  return (ctx.server.config.value('requirepass') ?? '') !== '';
}

const auth: ServerHandler = (ctx, argv) => {
  if (argv.length > 3) return SYNTAX_ERROR;
  if (argv.length === 2 && !passwordRequired(ctx)) return new ErrorReply(errors.AUTH_NO_PASSWORD);
  const [user, password] = argv.length === 2 ? ['default', argv[1]!] : [argv[1]!, argv[2]!];
  if (!credentialsValid(ctx, user, password)) return new ErrorReply(errors.WRONGPASS);
  ctx.session.authenticated = true;
  return OK;
};

const hello: ServerHandler = (ctx, argv) => {
  let protocol: 2 | 3 | null = null;
  if (argv.length >= 2) {
    const version = parseInteger(argv[1]!);
    if (version === null) return new ErrorReply(PROTOCOL_VERSION_ERROR);
    if (version !== 2 && version !== 3) return new ErrorReply(errors.NOPROTO);
    protocol = version;
  }
  let credentials: [string, string] | null = null;
  let name: string | null = null;
  for (let i = 2; i < argv.length; i++) {
    const option = argv[i]!;
    const more = argv.length - 1 - i;
    if (option.toLowerCase() === 'auth' && more >= 2) {
      credentials = [argv[i + 1]!, argv[i + 2]!];
      i += 2;
    } else if (option.toLowerCase() === 'setname' && more >= 1) {
      name = argv[i + 1]!;
      i += 1;
    } else {
      return new ErrorReply(errors.sanitize(`ERR Syntax error in HELLO option '${option}'`));
    }
  }
  const session = ctx.session;
  if (credentials !== null) {
    if (!credentialsValid(ctx, credentials[0], credentials[1])) return new ErrorReply(errors.WRONGPASS);
    session.authenticated = true;
  }
  if (!session.authenticated && passwordRequired(ctx)) return new ErrorReply(errors.NOAUTH_HELLO);
  if (name !== null) {
    if (!isValidClientAttribute(name)) return new ErrorReply(CLIENT_NAME_ERROR);
    session.name = name;
  }
  if (protocol !== null) session.resp = protocol;
  const view = ctx.server.cluster();
  const role = view.roleOf(view.myId).master ? 'master' : 'replica';
  return new MapReply([
    'server', 'redis',
    'version', REDIS_VERSION,
    'proto', session.resp,
    'id', session.id,
    'mode', 'cluster',
    'role', role,
    'modules', [],
  ]);
};

// ---------------------------------------------------------------- simple connection commands

const ping: ServerHandler = (ctx, argv) => {
  if (argv.length > 2) return new ErrorReply(errors.wrongArity('ping'));
  const session = ctx.session;
  // A RESP2 connection in subscribed mode gets PING's answer as a pub/sub style array.
  if (session.resp === 2 && session.subscriptionCount() + session.patternCount() > 0) {
    return ['pong', argv[1] ?? ''];
  }
  return argv.length === 1 ? PONG : argv[1]!;
};

const select: ServerHandler = (_ctx, argv) => {
  const index = parseInteger(argv[1]!);
  if (index === null || index < -2147483648 || index > 2147483647) return NOT_INTEGER_ERROR;
  return index === 0 ? OK : new ErrorReply(errors.SELECT_CLUSTER);
};

const RESET_REPLY = new SimpleString('RESET');

// ---------------------------------------------------------------- CLIENT

type ClientType = 'normal' | 'master' | 'replica' | 'pubsub';

function clientTypeByName(name: string): ClientType | null {
  switch (name.toLowerCase()) {
    case 'normal':
      return 'normal';
    case 'master':
      return 'master';
    case 'slave':
    case 'replica':
      return 'replica';
    case 'pubsub':
      return 'pubsub';
    default:
      return null;
  }
}

function clientType(session: Session): ClientType {
  return session.subscriptionCount() + session.patternCount() > 0 ? 'pubsub' : 'normal';
}

/** One CLIENT LIST / CLIENT INFO line (Redis 7.0 fields, then 7.2's lib-name and lib-ver), no newline. */
export function clientInfoLine(session: Session, nowMs: number): string {
  let flags = '';
  if (session.subscriptionCount() + session.patternCount() > 0) flags += 'P';
  if (session.inMulti()) flags += 'x';
  if (session.readonlyMode) flags += 'r';
  if (flags === '') flags = 'N';
  const qbuf = session.queryBufferBytes();
  const omem = session.outputBufferBytes();
  return (
    `id=${session.id} addr=${session.remoteAddress} laddr=${session.localAddress} fd=-1 ` +
    `name=${session.name} age=${Math.floor((nowMs - session.createdAtMs) / 1000)} ` +
    `idle=${Math.floor((nowMs - session.lastInteractionMs) / 1000)} flags=${flags} db=0 ` +
    `sub=${session.subscriptionCount()} psub=${session.patternCount()} ssub=0 ` +
    `multi=${session.inMulti() ? 0 : -1} qbuf=${qbuf} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 ` +
    `obl=0 oll=0 omem=${omem} tot-mem=${qbuf + omem} events=${omem > 0 ? 'rw' : 'r'} ` +
    `cmd=${session.lastCommand || 'NULL'} user=default redir=-1 resp=${session.resp} ` +
    `lib-name=${session.libName} lib-ver=${session.libVer}`
  );
}

function findClient(ctx: ServerContext, id: number): Session | undefined {
  for (const session of ctx.server.clients()) if (session.id === id) return session;
  return undefined;
}

const clientList: ServerHandler = (ctx, argv) => {
  let sessions: Session[];
  if (argv.length === 4 && argv[2]!.toLowerCase() === 'type') {
    const type = clientTypeByName(argv[3]!);
    if (type === null) return new ErrorReply(errors.sanitize(`ERR Unknown client type '${argv[3]}'`));
    sessions = [...ctx.server.clients()].filter((s) => clientType(s) === type);
  } else if (argv.length > 3 && argv[2]!.toLowerCase() === 'id') {
    sessions = [];
    for (const arg of argv.slice(3)) {
      const id = parseInteger(arg);
      if (id === null) return new ErrorReply('ERR Invalid client ID');
      const session = findClient(ctx, id);
      if (session) sessions.push(session);
    }
  } else if (argv.length !== 2) {
    return SYNTAX_ERROR;
  } else {
    sessions = [...ctx.server.clients()];
  }
  const nowMs = ctx.server.nowMs();
  return new VerbatimReply('txt', sessions.map((s) => clientInfoLine(s, nowMs) + '\n').join(''));
};

const clientKill: ServerHandler = (ctx, argv) => {
  let addr: string | null = null;
  let laddr: string | null = null;
  let type: ClientType | null = null;
  let id: number | null = null;
  let skipMe = true;
  const oldForm = argv.length === 3;
  if (oldForm) {
    addr = argv[2]!;
    skipMe = false; // the old form may kill the caller itself
  } else {
    for (let i = 2; i < argv.length; i += 2) {
      const option = argv[i]!.toLowerCase();
      const value = argv[i + 1];
      if (value === undefined) return SYNTAX_ERROR;
      if (option === 'id') {
        id = parseInteger(value);
        if (id === null || id < 1) return new ErrorReply('ERR client-id should be greater than 0');
      } else if (option === 'type') {
        type = clientTypeByName(value);
        if (type === null) return new ErrorReply(errors.sanitize(`ERR Unknown client type '${value}'`));
      } else if (option === 'addr') {
        addr = value;
      } else if (option === 'laddr') {
        laddr = value;
      } else if (option === 'user') {
        if (value !== 'default') return new ErrorReply(errors.sanitize(`ERR No such user '${value}'`));
      } else if (option === 'skipme') {
        if (value.toLowerCase() === 'yes') skipMe = true;
        else if (value.toLowerCase() === 'no') skipMe = false;
        else return SYNTAX_ERROR;
      } else {
        return SYNTAX_ERROR;
      }
    }
  }
  let killed = 0;
  const me = ctx.session;
  for (const session of [...ctx.server.clients()]) {
    if (addr !== null && session.remoteAddress !== addr) continue;
    if (laddr !== null && session.localAddress !== laddr) continue;
    if (type !== null && clientType(session) !== type) continue;
    if (id !== null && session.id !== id) continue;
    if (session === me && skipMe) continue;
    if (session === me) session.closeAfterReply();
    else session.kill();
    killed++;
  }
  if (oldForm) return killed === 0 ? new ErrorReply('ERR No such client') : OK;
  return killed;
};

const clientSetInfo: ServerHandler = (ctx, argv) => {
  const attribute = argv[2]!;
  const value = argv[3]!;
  const which = attribute.toLowerCase();
  if (which !== 'lib-name' && which !== 'lib-ver') {
    return new ErrorReply(errors.sanitize(`ERR Unrecognized option '${attribute}'`));
  }
  if (!isValidClientAttribute(value)) {
    return new ErrorReply(errors.sanitize(`ERR ${attribute} cannot contain spaces, newlines or special characters.`));
  }
  if (which === 'lib-name') ctx.session.libName = value;
  else ctx.session.libVer = value;
  return OK;
};

/** ON|OFF switches we accept without effect (client eviction and LRU touching are not per client here). */
const onOffSwitch: ServerHandler = (_ctx, argv) => {
  const value = argv[2]!.toLowerCase();
  return value === 'on' || value === 'off' ? OK : SYNTAX_ERROR;
};

const CLIENT_HELP = [
  'GETREDIR',
  '    Return the client ID we are redirecting to when tracking is enabled.',
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  '    * ID <client-id> [<client-id> ...]',
  '      Return clients with the given ids.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value>',
  '    Set client library name or version.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  '    Will not touch LRU/LFU stats when this mode is on.',
];

const admin: CommandFlag[] = ['admin', 'noscript', 'loading', 'stale'];
const plain: CommandFlag[] = ['noscript', 'loading', 'stale'];
const adminCats = ['admin', 'slow', 'dangerous', 'connection'];
const slowCats = ['slow', 'connection'];
const sub = (
  name: string,
  arity: number,
  flags: CommandFlag[],
  cats: string[],
  summary: string,
  since: string,
  run: ServerHandler,
) => subcommand(name, arity, flags, cats, summary, since, 'connection', run);

/** CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if that client was blocked and is now answered. */
const clientUnblock: ServerHandler = (ctx, argv) => {
  if (argv.length > 4) return SYNTAX_ERROR;
  const id = parseInteger(argv[2]!);
  if (id === null) return NOT_INTEGER_ERROR;
  const reason = argv.length === 4 ? argv[3]!.toLowerCase() : 'timeout';
  if (reason !== 'timeout' && reason !== 'error') {
    return new ErrorReply('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
  }
  return ctx.blocking?.unblock(id, reason === 'error') === true ? 1 : 0;
};

const clientSubcommands = [
  sub('id', 2, plain, slowCats, 'Returns the client ID for the current connection', '5.0.0', (ctx) => ctx.session.id),
  sub('getname', 2, plain, slowCats, 'Get the current connection name', '2.6.9', (ctx) => ctx.session.name || null),
  sub('setname', 3, plain, slowCats, 'Set the current connection name', '2.6.9', (ctx, argv) => {
    if (!isValidClientAttribute(argv[2]!)) return new ErrorReply(CLIENT_NAME_ERROR);
    ctx.session.name = argv[2]!;
    return OK;
  }),
  sub('setinfo', 4, plain, slowCats, 'Set client or connection specific info', '7.2.0', clientSetInfo),
  withTips(
    sub('info', 2, plain, slowCats, 'Returns information about the current client connection.', '6.2.0', (ctx) =>
      new VerbatimReply('txt', clientInfoLine(ctx.session, ctx.server.nowMs()) + '\n'),
    ),
    'nondeterministic_output',
  ),
  withTips(sub('list', -2, admin, adminCats, 'Get the list of client connections', '2.4.0', clientList), 'nondeterministic_output'),
  sub('kill', -3, admin, adminCats, 'Kill the connection of a client', '2.4.0', clientKill),
  sub('unblock', -3, admin, ['admin', 'slow', 'dangerous', 'connection'], 'Unblock a client blocked in a blocking command from a different connection', '5.0.0', clientUnblock),
  sub('no-evict', 3, admin, adminCats, 'Set client eviction mode for the current connection', '7.0.0', onOffSwitch),
  sub('no-touch', 3, plain, slowCats, 'Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.', '7.2.0', onOffSwitch),
  sub('tracking', -3, plain, slowCats, 'Enable or disable server assisted client side caching support', '6.0.0', () =>
    new ErrorReply('ERR CLIENT TRACKING is not supported by this server'),
  ),
  sub('getredir', 2, plain, slowCats, 'Get tracking notifications redirection client ID if any', '6.0.0', () => -1),
  sub('help', 2, ['loading', 'stale'], slowCats, 'Show helpful text about the different subcommands', '5.0.0', () =>
    helpReply('client', CLIENT_HELP),
  ),
];

// ---------------------------------------------------------------- the family

const session = (change: (s: Session) => void): ServerHandler => (ctx) => {
  change(ctx.session);
  return OK;
};

export const connectionCommands: CommandSpec[] = [
  serverCommand({
    name: 'ping', arity: -1, flags: ['fast'], categories: connection, keys: null,
    summary: 'Ping the server', since: '1.0.0', group: 'connection',
    tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], run: ping,
  }),
  serverCommand({
    name: 'echo', arity: 2, flags: ['loading', 'stale', 'fast'], categories: connection, keys: null,
    summary: 'Echo the given string', since: '1.0.0', group: 'connection', run: (_ctx, argv) => argv[1]!,
  }),
  serverCommand({
    name: 'hello', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    categories: connection, keys: null, summary: 'Handshake with Redis', since: '6.0.0', group: 'connection',
    run: hello,
  }),
  serverCommand({
    name: 'auth', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    categories: connection, keys: null, summary: 'Authenticate to the server', since: '1.0.0',
    group: 'connection', run: auth,
  }),
  serverCommand({
    name: 'select', arity: 2, flags: ['loading', 'stale', 'fast'], categories: connection, keys: null,
    summary: 'Change the selected database for the current connection', since: '1.0.0', group: 'connection',
    run: select,
  }),
  serverCommand({
    name: 'quit', arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    categories: connection, keys: null, summary: 'Close the connection', since: '1.0.0', group: 'connection',
    run: session((s) => s.closeAfterReply()),
  }),
  serverCommand({
    name: 'reset', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    categories: connection, keys: null, summary: 'Reset the connection', since: '6.2.0', group: 'connection',
    run: (ctx) => {
      ctx.session.reset();
      return RESET_REPLY;
    },
  }),
  serverCommand({
    name: 'client', arity: -2, flags: [], categories: ['slow'], keys: null,
    summary: 'A container for client connection commands', since: '2.4.0', group: 'connection',
    subcommands: clientSubcommands, run: dispatchSubcommands('client', clientSubcommands),
  }),
  serverCommand({
    name: 'readonly', arity: 1, flags: ['loading', 'stale', 'fast'], categories: connection, keys: null,
    summary: 'Enables read queries for a connection to a cluster replica node', since: '3.0.0', group: 'cluster',
    run: session((s) => (s.readonlyMode = true)),
  }),
  serverCommand({
    name: 'readwrite', arity: 1, flags: ['loading', 'stale', 'fast'], categories: connection, keys: null,
    summary: 'Disables read queries for a connection to a cluster replica node', since: '3.0.0', group: 'cluster',
    run: session((s) => (s.readonlyMode = false)),
  }),
  serverCommand({
    name: 'asking', arity: 1, flags: ['fast'], categories: connection, keys: null,
    summary: 'Sent by cluster clients after an -ASK redirect', since: '3.0.0', group: 'cluster',
    run: session((s) => (s.asking = true)),
  }),
];
