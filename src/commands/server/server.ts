// Server commands: INFO, COMMAND, CONFIG, FLUSHALL/FLUSHDB, TIME, ROLE, WAIT, MEMORY, and the
// housekeeping commands tools send (SAVE, BGSAVE, LASTSAVE, SHUTDOWN, DEBUG, FUNCTION, LATENCY,
// SLOWLOG). Replies and errors follow Redis 7.0.15; COMMAND is generated from the command table.

import type { ServerContext } from '../server-context.js';
import { keyIndexes, type CommandBase, type CommandFlag, type CommandSpec } from '../types.js';
import { ErrorReply, MapReply, OK, SetReply, SimpleString, VerbatimReply, type Reply } from '../../resp/reply.js';
import * as errors from '../../resp/errors.js';
import { globMatch } from '../../store/glob.js';
import { KEY_OVERHEAD_BYTES } from '../../store/keyspace.js';
import { infoText } from './info.js';
import {
  NOT_INTEGER_ERROR,
  SYNTAX_ERROR,
  dispatchSubcommands,
  helpReply,
  parseInteger,
  serverCommand,
  subcommand,
  withTips,
  type ServerHandler,
} from './util.js';

const adminFlags: CommandFlag[] = ['admin', 'noscript', 'loading', 'stale'];
const adminCats = ['admin', 'slow', 'dangerous'];
const helpFlags: CommandFlag[] = ['loading', 'stale'];

// ---------------------------------------------------------------- COMMAND

/** Redis 7 key specs derived from the legacy key triple (movable-key commands get none). */
function keySpecs(spec: CommandBase): Reply {
  const range = spec.keys;
  if (range === null || spec.getKeys !== undefined) return new SetReply([]);
  const access = spec.flags.includes('write') ? ['RW', 'update'] : ['RO', 'access'];
  return new SetReply([
    new MapReply([
      'flags', new SetReply(access.map((f) => new SimpleString(f))),
      'begin_search', new MapReply(['type', 'index', 'spec', new MapReply(['index', range.first])]),
      'find_keys', new MapReply([
        'type', 'range',
        'spec', new MapReply(['lastkey', range.last < 0 ? range.last : range.last - range.first, 'keystep', range.step, 'limit', 0]),
      ]),
    ]),
  ]);
}

/** One COMMAND INFO entry: the ten fields of Redis 7.0. */
function commandInfo(spec: CommandBase & { subcommands?: readonly CommandBase[] }, parent?: string): Reply {
  const flags = [...spec.flags];
  if (spec.getKeys !== undefined && !flags.includes('movablekeys')) flags.push('movablekeys');
  const subcommands = spec.subcommands ?? [];
  const range = spec.keys;
  return [
    parent === undefined ? spec.name : `${parent}|${spec.name}`,
    spec.arity,
    new SetReply(flags.map((f) => new SimpleString(f))),
    range?.first ?? 0,
    range?.last ?? 0,
    range?.step ?? 0,
    new SetReply(spec.categories.map((c) => new SimpleString(`@${c}`))),
    new SetReply([...(spec.tips ?? [])]),
    keySpecs(spec),
    // Redis sends an empty set, but an array when there are subcommands.
    subcommands.length === 0 ? new SetReply([]) : subcommands.map((s) => commandInfo(s, spec.name)),
  ];
}

function commandDocs(spec: CommandBase & { subcommands?: readonly CommandBase[] }): Reply {
  const fields: Reply[] = ['summary', spec.summary, 'since', spec.since, 'group', spec.group];
  const subcommands = spec.subcommands ?? [];
  if (subcommands.length > 0) {
    fields.push('subcommands', new MapReply(subcommands.flatMap((s) => [`${spec.name}|${s.name}`, commandDocs(s)])));
  }
  return new MapReply(fields);
}

/** A command or `parent|sub` subcommand by name, case-insensitively. */
function lookupCommand(ctx: ServerContext, name: string): (CommandBase & { subcommands?: readonly CommandBase[] }) | undefined {
  const [parentName, subName] = name.toLowerCase().split('|', 2);
  const parent = ctx.server.commands().get(parentName!);
  if (parent === undefined || subName === undefined) return parent;
  return parent.subcommands?.find((s) => s.name === subName);
}

const commandList: ServerHandler = (ctx, argv) => {
  const specs = [...ctx.server.commands().values()];
  const names = specs.flatMap((s) => [s.name, ...(s.subcommands ?? []).map((sub) => `${s.name}|${sub.name}`)]);
  if (argv.length === 2) return names;
  if (argv.length !== 5 || argv[2]!.toLowerCase() !== 'filterby') return SYNTAX_ERROR;
  const value = argv[4]!;
  switch (argv[3]!.toLowerCase()) {
    case 'module':
      return [];
    case 'aclcat': {
      const category = value.toLowerCase();
      return specs.flatMap((s) => [
        ...(s.categories.includes(category) ? [s.name] : []),
        ...(s.subcommands ?? []).filter((sub) => sub.categories.includes(category)).map((sub) => `${s.name}|${sub.name}`),
      ]);
    }
    case 'pattern':
      return names.filter((name) => globMatch(value, name, true));
    default:
      return SYNTAX_ERROR;
  }
};

const commandGetKeys: ServerHandler = (ctx, argv) => {
  const line = argv.slice(2);
  const spec = ctx.server.commands().get(line[0]!.toLowerCase());
  if (spec === undefined) return new ErrorReply('ERR Invalid command specified');
  if ((spec.arity > 0 && line.length !== spec.arity) || line.length < -spec.arity) {
    return new ErrorReply('ERR Invalid number of arguments specified for command');
  }
  const indexes = keyIndexes(spec, line);
  if (indexes.length === 0) return new ErrorReply('ERR The command has no key arguments');
  return indexes.map((i) => line[i]!);
};

const COMMAND_HELP = [
  '(no subcommand)',
  "    Return details about all Redis commands.",
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
];

const commandSub = (name: string, arity: number, summary: string, since: string, run: ServerHandler, tips?: string[]) => ({
  ...subcommand(name, arity, helpFlags, ['slow', 'connection'], summary, since, 'server', run),
  ...(tips ? { tips } : {}),
});
const ORDER_TIP = ['nondeterministic_output_order'];

const commandSubcommands = [
  commandSub('count', 2, 'Get total number of Redis commands', '2.8.13', (ctx) => ctx.server.commands().size),
  commandSub('info', -2, 'Get array of specific Redis command details, or all when no argument is given.', '2.8.13', (ctx, argv) => {
    if (argv.length === 2) return [...ctx.server.commands().values()].map((s) => commandInfo(s));
    return argv.slice(2).map((name) => {
      const spec = lookupCommand(ctx, name);
      return spec === undefined ? null : commandInfo(spec, name.includes('|') ? name.split('|')[0]!.toLowerCase() : undefined);
    });
  }, ORDER_TIP),
  commandSub('docs', -2, 'Get array of specific Redis command documentation', '7.0.0', (ctx, argv) => {
    const entries: Reply[] = [];
    const specs = argv.length === 2 ? [...ctx.server.commands().values()] : argv.slice(2).map((n) => lookupCommand(ctx, n));
    specs.forEach((spec, i) => {
      if (spec === undefined) return; // unknown names are left out
      entries.push(argv.length === 2 ? spec.name : argv[2 + i]!.toLowerCase(), commandDocs(spec));
    });
    return new MapReply(entries);
  }, ORDER_TIP),
  commandSub('list', -2, 'Get an array of Redis command names', '7.0.0', commandList, ORDER_TIP),
  commandSub('getkeys', -4, 'Extract keys given a full Redis command', '2.8.13', commandGetKeys),
  commandSub('help', 2, 'Show helpful text about the different subcommands', '5.0.0', () => helpReply('command', COMMAND_HELP)),
];
const commandSubcommandHandler = dispatchSubcommands('command', commandSubcommands);

const command: ServerHandler = (ctx, argv) => {
  if (argv.length === 1) return [...ctx.server.commands().values()].map((s) => commandInfo(s));
  return commandSubcommandHandler(ctx, argv);
};

// ---------------------------------------------------------------- CONFIG

const configGet: ServerHandler = (ctx, argv) => {
  const pairs = ctx.server.config.get(argv.slice(2));
  return new MapReply(pairs.flat());
};

const configSet: ServerHandler = (ctx, argv) => {
  if (argv.length % 2 !== 0) return new ErrorReply(errors.wrongArity('config|set'));
  const pairs: [string, string][] = [];
  for (let i = 2; i < argv.length; i += 2) pairs.push([argv[i]!, argv[i + 1]!]);
  const error = ctx.server.config.set(pairs);
  return error === null ? OK : new ErrorReply(error);
};

const CONFIG_HELP = [
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
];

const configSubcommands = [
  subcommand('get', -3, adminFlags, adminCats, 'Get the values of configuration parameters', '2.0.0', 'server', configGet),
  {
    ...subcommand('set', -4, adminFlags, adminCats, 'Set configuration parameters to the given values', '2.0.0', 'server', configSet),
    tips: ['request_policy:all_nodes', 'response_policy:all_succeeded'],
  },
  subcommand('resetstat', 2, adminFlags, adminCats, 'Reset the stats returned by INFO', '2.0.0', 'server', (ctx) => {
    ctx.server.stats.reset();
    return OK;
  }),
  subcommand('rewrite', 2, adminFlags, adminCats, 'Rewrite the configuration file with the in memory configuration', '2.8.0', 'server', (ctx) =>
    ctx.server.process.configFile === ''
      ? new ErrorReply('ERR The server is running without a config file')
      : new ErrorReply('ERR Rewriting config file: CONFIG REWRITE is not supported by slotraft'),
  ),
  subcommand('help', 2, helpFlags, ['slow'], 'Show helpful text about the different subcommands', '5.0.0', 'server', () =>
    helpReply('config', CONFIG_HELP),
  ),
];

// ---------------------------------------------------------------- small server commands

const flush: ServerHandler = (ctx, argv) => {
  if (argv.length > 2) return SYNTAX_ERROR;
  if (argv.length === 2 && !['async', 'sync'].includes(argv[1]!.toLowerCase())) return SYNTAX_ERROR;
  return ctx.server.flushAll();
};

const time: ServerHandler = (ctx) => {
  const nowMs = ctx.server.nowMs();
  const seconds = Math.floor(nowMs / 1000);
  const micros = Math.floor((nowMs - seconds * 1000) * 1000);
  return [String(seconds), String(micros)];
};

/** WAIT: writes are acknowledged once a Raft majority has them, so answer with the caught-up followers. */
const wait: ServerHandler = (ctx, argv) => {
  const replicas = parseInteger(argv[1]!);
  const timeout = parseInteger(argv[2]!);
  if (replicas === null || timeout === null) return NOT_INTEGER_ERROR;
  if (timeout < 0) return new ErrorReply('ERR timeout is negative');
  const led = ctx.server.cluster().ledShards();
  if (led.length === 0) return 0;
  return Math.min(...led.map((shard) => shard.replicas.filter((r) => r.caughtUp).length));
};

const role: ServerHandler = (ctx) => {
  const view = ctx.server.cluster();
  const myRole = view.roleOf(view.myId);
  if (!myRole.master) {
    const master = view.node(myRole.masterId)!;
    return ['slave', master.ip, master.port, master.linkState === 'connected' ? 'connected' : 'connect', 0];
  }
  const followers = new Map<string, Reply>();
  for (const shard of view.ledShards()) {
    for (const replica of shard.replicas) {
      const node = view.node(replica.nodeId)!;
      if (replica.caughtUp) followers.set(node.id, [node.ip, String(node.port), String(replica.replicationOffset ?? 0)]);
    }
  }
  return ['master', 0, [...followers.values()]];
};

const DEBUG_NOT_ALLOWED =
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it ' +
  'from a local connection, otherwise you need to set this option in the configuration file, and then ' +
  'restart the server.';

const debug: ServerHandler = (_ctx, argv) => {
  // DEBUG SLEEP 0 is a common "flush the pipeline" probe; nothing else of DEBUG is offered.
  if (argv.length === 3 && argv[1]!.toLowerCase() === 'sleep' && Number(argv[2]) === 0) return OK;
  return new ErrorReply(DEBUG_NOT_ALLOWED);
};

const shutdown: ServerHandler = (ctx, argv) => {
  let abort = false;
  for (const option of argv.slice(1)) {
    const o = option.toLowerCase();
    if (o === 'abort') abort = true;
    else if (!['nosave', 'save', 'now', 'force'].includes(o)) return SYNTAX_ERROR;
  }
  if (abort) return argv.length === 2 ? new ErrorReply('ERR No shutdown in progress.') : SYNTAX_ERROR;
  ctx.server.shutdown();
  return OK;
};

const memoryUsage: ServerHandler = (ctx, argv) => {
  if (argv.length !== 3) {
    if (argv.length !== 5 || argv[3]!.toLowerCase() !== 'samples') return SYNTAX_ERROR;
    if (parseInteger(argv[4]!) === null) return NOT_INTEGER_ERROR;
  }
  const key = argv[2]!;
  const nowMs = ctx.server.nowMs();
  for (const keyspace of ctx.server.keyspaces()) {
    const value = keyspace.peek(key, nowMs);
    if (value === undefined) continue;
    const valueBytes = typeof value === 'string' ? value.length : value.memoryBytes();
    return KEY_OVERHEAD_BYTES + key.length + valueBytes;
  }
  return null;
};

const MEMORY_HELP = [
  'USAGE <key> [SAMPLES <count>]',
  '    Return memory in bytes used by <key> and its value. Nested values are',
  '    sampled up to <count> times (default: 5, 0 means sample all).',
];
const memorySubcommands = [
  { ...subcommand('usage', -3, ['readonly'], ['read', 'slow'], 'Estimate the memory usage of a key', '4.0.0', 'server', memoryUsage), keys: { first: 2, last: 2, step: 1 } },
  subcommand('help', 2, helpFlags, ['slow'], 'Show helpful text about the different subcommands', '4.0.0', 'server', () => helpReply('memory', MEMORY_HELP)),
];

const ALL_NODES_SPECIAL = ['nondeterministic_output', 'request_policy:all_nodes', 'response_policy:special'];
const ALL_NODES_SUCCEEDED = ['request_policy:all_nodes', 'response_policy:all_succeeded'];
const LATENCY_DOCTOR =
  "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may " +
  'use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t ' +
  "in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n";
const latencySubcommands = [
  withTips(subcommand('latest', 2, adminFlags, adminCats, 'Return the latest latency samples for all events.', '2.8.13', 'server', () => []), ...ALL_NODES_SPECIAL),
  withTips(subcommand('history', 3, adminFlags, adminCats, 'Return timestamp-latency samples for the event.', '2.8.13', 'server', () => []), ...ALL_NODES_SPECIAL),
  withTips(subcommand('reset', -2, adminFlags, adminCats, 'Reset latency data for one or more events.', '2.8.13', 'server', () => 0), ...ALL_NODES_SUCCEEDED),
  withTips(
    subcommand('doctor', 2, adminFlags, adminCats, 'Return a human readable latency analysis report.', '2.8.13', 'server', () =>
      new VerbatimReply('txt', LATENCY_DOCTOR),
    ),
    ...ALL_NODES_SPECIAL,
  ),
  subcommand('help', 2, helpFlags, ['slow'], 'Show helpful text about the different subcommands.', '2.8.13', 'server', () =>
    helpReply('latency', ['LATEST', '    Return the latest latency samples for all events.', 'RESET [<event> ...]', '    Reset latency data of one or more <event> classes.']),
  ),
];

const slowlogFlags: CommandFlag[] = ['admin', 'loading', 'stale'];
const slowlogSubcommands = [
  withTips(subcommand('get', -2, slowlogFlags, adminCats, "Get the slow log's entries", '2.2.12', 'server', (_ctx, argv) => {
    if (argv.length > 3) return SYNTAX_ERROR;
    if (argv.length === 3) {
      const count = parseInteger(argv[2]!);
      if (count === null || count < -1) return new ErrorReply('ERR count should be greater than or equal to -1');
    }
    return [];
  }), 'request_policy:all_nodes', 'nondeterministic_output'),
  withTips(
    subcommand('len', 2, slowlogFlags, adminCats, "Get the slow log's length", '2.2.12', 'server', () => 0),
    'request_policy:all_nodes', 'response_policy:agg_sum', 'nondeterministic_output',
  ),
  withTips(subcommand('reset', 2, slowlogFlags, adminCats, 'Clear all entries from the slow log', '2.2.12', 'server', () => OK), ...ALL_NODES_SUCCEEDED),
  subcommand('help', 2, helpFlags, ['slow'], 'Show helpful text about the different subcommands', '6.2.0', 'server', () =>
    helpReply('slowlog', ['GET [<count>]', '    Return top <count> entries from the slowlog (default: 10, -1 mean all).', 'LEN', '    Return the length of the slowlog.', 'RESET', '    Reset the slowlog.']),
  ),
];

const functionSubcommands = [
  withTips(subcommand('flush', -2, ['write', 'noscript'], ['write', 'slow', 'scripting'], 'Deleting all functions', '7.0.0', 'scripting', (_ctx, argv) => {
    if (argv.length > 3) return SYNTAX_ERROR;
    if (argv.length === 3 && !['async', 'sync'].includes(argv[2]!.toLowerCase())) return SYNTAX_ERROR;
    return OK; // no functions are ever stored
  }), 'request_policy:all_shards', 'response_policy:all_succeeded'),
  withTips(subcommand('list', -2, ['noscript'], ['slow', 'scripting'], 'List information about all the functions', '7.0.0', 'scripting', () => []), 'nondeterministic_output_order'),
  subcommand('help', 2, helpFlags, ['slow', 'scripting'], 'Show helpful text about the different subcommands', '7.0.0', 'scripting', () =>
    helpReply('function', ['LIST', '    Return general information on all the libraries.', 'FLUSH [ASYNC|SYNC]', '    Delete all the libraries.']),
  ),
];

/** SAVE/BGSAVE: data is durable in each shard's Raft log and snapshots, so there is nothing to start. */
const BACKGROUND_SAVING = new SimpleString('Background saving started');

const container = (name: string, summary: string, since: string, group: string, subs: ReturnType<typeof subcommand>[]) =>
  serverCommand({
    name, arity: -2, flags: [], categories: ['slow'], keys: null, summary, since, group,
    subcommands: subs, run: dispatchSubcommands(name, subs),
  });

const memoryCommand = {
  ...container('memory', 'A container for memory diagnostics commands', '4.0.0', 'server', memorySubcommands),
  // MEMORY USAGE names a key: route it to the node that holds the key.
  getKeys: (argv: readonly string[]) => (argv.length >= 3 && argv[1]!.toLowerCase() === 'usage' ? [2] : []),
} as CommandSpec;

export const serverCommands: CommandSpec[] = [
  serverCommand({
    name: 'info', arity: -1, flags: ['loading', 'stale'], categories: ['slow', 'dangerous'], keys: null,
    summary: 'Get information and statistics about the server', since: '1.0.0', group: 'server',
    tips: ['nondeterministic_output', 'request_policy:all_shards', 'response_policy:special'],
    run: (ctx, argv) => new VerbatimReply('txt', infoText(ctx, argv.slice(1))),
  }),
  serverCommand({
    name: 'command', arity: -1, flags: ['loading', 'stale'], categories: ['slow', 'connection'], keys: null,
    summary: 'Get array of Redis command details', since: '2.8.13', group: 'server',
    tips: ORDER_TIP, subcommands: commandSubcommands, run: command,
  }),
  container('config', 'A container for server configuration commands', '2.0.0', 'server', configSubcommands),
  serverCommand({
    name: 'flushall', arity: -1, flags: ['write'], categories: ['keyspace', 'write', 'slow', 'dangerous'], keys: null,
    summary: 'Remove all keys from all databases', since: '1.0.0', group: 'server',
    tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], run: flush,
  }),
  serverCommand({
    name: 'flushdb', arity: -1, flags: ['write'], categories: ['keyspace', 'write', 'slow', 'dangerous'], keys: null,
    summary: 'Remove all keys from the current database', since: '1.0.0', group: 'server',
    tips: ['request_policy:all_shards', 'response_policy:all_succeeded'], run: flush,
  }),
  serverCommand({
    name: 'time', arity: 1, flags: ['loading', 'stale', 'fast'], categories: ['fast'], keys: null,
    summary: 'Return the current server time', since: '2.6.0', group: 'server', tips: ['nondeterministic_output'],
    run: time,
  }),
  serverCommand({
    name: 'role', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast'], categories: ['admin', 'fast', 'dangerous'],
    keys: null, summary: 'Return the role of the instance in the context of replication', since: '2.8.12',
    group: 'server', run: role,
  }),
  serverCommand({
    name: 'wait', arity: 3, flags: ['noscript'], categories: ['slow', 'connection'], keys: null,
    summary: 'Wait for the synchronous replication of all the write commands sent in the context of the current connection',
    since: '3.0.0', group: 'generic', tips: ['request_policy:all_shards', 'response_policy:agg_min'], run: wait,
  }),
  serverCommand({
    name: 'lastsave', arity: 1, flags: ['loading', 'stale', 'fast'], categories: ['admin', 'fast', 'dangerous'],
    keys: null, summary: 'Get the UNIX time stamp of the last successful save to disk', since: '1.0.0',
    group: 'server', tips: ['nondeterministic_output'],
    run: (ctx) => Math.floor(ctx.server.stats.startedAtMs / 1000),
  }),
  serverCommand({
    name: 'save', arity: 1, flags: ['admin', 'noscript', 'no_async_loading', 'no_multi'], categories: adminCats,
    keys: null, summary: 'Synchronously save the dataset to disk', since: '1.0.0', group: 'server', run: () => OK,
  }),
  serverCommand({
    name: 'bgsave', arity: -1, flags: ['admin', 'noscript', 'no_async_loading'], categories: adminCats, keys: null,
    summary: 'Asynchronously save the dataset to disk', since: '1.0.0', group: 'server',
    run: (_ctx, argv) => (argv.length > 2 || (argv.length === 2 && argv[1]!.toLowerCase() !== 'schedule') ? SYNTAX_ERROR : BACKGROUND_SAVING),
  }),
  serverCommand({
    name: 'shutdown', arity: -1, flags: ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'],
    categories: adminCats, keys: null, summary: 'Synchronously save the dataset to disk and then shut down the server',
    since: '1.0.0', group: 'server', run: shutdown,
  }),
  serverCommand({
    name: 'debug', arity: -2, flags: adminFlags, categories: adminCats, keys: null,
    summary: 'A container for debugging commands', since: '1.0.0', group: 'server', run: debug,
  }),
  container('function', 'A container for function commands', '7.0.0', 'scripting', functionSubcommands),
  memoryCommand,
  container('latency', 'A container for latency diagnostics commands', '2.8.13', 'server', latencySubcommands),
  container('slowlog', 'A container for slow log commands', '2.2.12', 'server', slowlogSubcommands),
];
