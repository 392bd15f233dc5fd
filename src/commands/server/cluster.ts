// CLUSTER subcommands that read the cluster view or the local keyspaces. Topology changes (MEET,
// ADDSLOTS, SETSLOT, FAILOVER...) are decided by the metadata Raft group, not by these commands: they
// get Redis's unknown-subcommand error, as for any subcommand this server does not offer.

import type { ServerContext } from '../server-context.js';
import type { CommandFlag, CommandSpec } from '../types.js';
import { ErrorReply, VerbatimReply } from '../../resp/reply.js';
import { keySlot, SLOT_COUNT } from '../../cluster/slot.js';
import { SYNTAX } from '../../resp/errors.js';
import {
  NOT_INTEGER_ERROR,
  dispatchSubcommands,
  helpReply,
  parseInteger,
  serverCommand,
  subcommand,
  type ServerHandler,
} from './util.js';

const INVALID_SLOT = new ErrorReply('ERR Invalid slot');
const INVALID_SLOT_OR_COUNT = new ErrorReply('ERR Invalid slot or number of keys');

function unknownNode(id: string): ErrorReply {
  return new ErrorReply(`ERR Unknown node ${id.replace(/[\r\n]/g, ' ')}`);
}

const countKeysInSlot: ServerHandler = (ctx, argv) => {
  const slot = parseInteger(argv[2]!);
  if (slot === null) return NOT_INTEGER_ERROR;
  if (slot < 0 || slot >= SLOT_COUNT) return INVALID_SLOT;
  let count = 0;
  for (const keyspace of ctx.server.keyspaces()) count += keyspace.countKeysInSlot(slot);
  return count;
};

const getKeysInSlot: ServerHandler = (ctx, argv) => {
  const slot = parseInteger(argv[2]!);
  const count = parseInteger(argv[3]!);
  if (slot === null || count === null) return NOT_INTEGER_ERROR;
  if (slot < 0 || slot >= SLOT_COUNT || count < 0) return INVALID_SLOT_OR_COUNT;
  const keys: string[] = [];
  for (const keyspace of ctx.server.keyspaces()) {
    if (keys.length >= count) break;
    keys.push(...keyspace.keysInSlot(slot, count - keys.length));
  }
  return keys;
};

/** CLUSTER REPLICAS / SLAVES: the CLUSTER NODES lines of the nodes shown as slaves of a master. */
const replicas: ServerHandler = (ctx, argv) => {
  const view = ctx.server.cluster();
  const id = argv[2]!;
  const master = view.node(id);
  if (master === undefined) return unknownNode(id);
  if (!view.roleOf(id).master) return new ErrorReply('ERR The specified node is not a master');
  return view.nodes
    .filter((node) => {
      const role = view.roleOf(node.id);
      return !role.master && role.masterId === id;
    })
    .map((node) => view.nodeLine(node));
};

const countFailureReports: ServerHandler = (ctx, argv) =>
  ctx.server.cluster().node(argv[2]!) === undefined ? unknownNode(argv[2]!) : 0;

/** Cluster mode: this node asks to lead every shard it follows (Redis: a replica takes over its master). */
const failover: ServerHandler = (ctx, argv) => {
  const option = argv[2]?.toLowerCase();
  if (argv.length > 3 || (option !== undefined && option !== 'force' && option !== 'takeover')) return new ErrorReply(SYNTAX);
  return ctx.server.failover?.() ?? new ErrorReply('ERR You should send CLUSTER FAILOVER to a replica');
};

const CLUSTER_HELP = [
  'COUNTKEYSINSLOT <slot>',
  '    Return the number of keys in <slot>.',
  'COUNT-FAILURE-REPORTS <node-id>',
  '    Return number of failure reports for <node-id>.',
  'FORGET <node-id>',
  '    Remove a node from the cluster.',
  'FAILOVER [FORCE|TAKEOVER]',
  '    Promote current replica node to being a master.',
  'GETKEYSINSLOT <slot> <count>',
  '    Return key names stored by current node in a slot.',
  'INFO',
  '    Return information about the cluster.',
  'KEYSLOT <key>',
  '    Return the hash slot for <key>.',
  'MYID',
  '    Return the node id.',
  'MYSHARDID',
  '    Return the node\'s shard id.',
  'NODES',
  '    Return cluster configuration seen by node. Output format:',
  '    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...',
  'REPLICAS <node-id>',
  '    Return <node-id> replicas.',
  'SLOTS',
  '    Return information about slots range mappings. Each range is made of:',
  '    start, end, master and replicas IP addresses, ports and ids',
  'SHARDS',
  '    Return information about slot range mappings and the nodes associated with them.',
  'LINKS',
  '    Return information about all network links between this node and its peers.',
  '    Output format is an array where each array element is a map containing attributes of a link',
];

const stale: CommandFlag[] = ['stale'];
const adminStale: CommandFlag[] = ['admin', 'stale'];
const adminStaleNoAsync: CommandFlag[] = ['admin', 'stale', 'no_async_loading'];
const adminCats = ['admin', 'slow', 'dangerous'];
const NONDETERMINISTIC = ['nondeterministic_output'];
const sub = (name: string, arity: number, flags: CommandFlag[], cats: string[], summary: string, since: string, run: ServerHandler, tips?: string[]) => ({
  ...subcommand(name, arity, flags, cats, summary, since, 'cluster', run),
  ...(tips ? { tips } : {}),
});
const view = (ctx: ServerContext) => ctx.server.cluster();

const clusterSubcommands = [
  sub('slots', 2, stale, ['slow'], 'Get array of Cluster slot to node mappings', '3.0.0', (ctx) => view(ctx).clusterSlots(), NONDETERMINISTIC),
  sub('shards', 2, stale, ['slow'], 'Get array of cluster slots to node mappings', '7.0.0', (ctx) => view(ctx).clusterShards(), NONDETERMINISTIC),
  sub('nodes', 2, stale, ['slow'], 'Get Cluster config for the node', '3.0.0', (ctx) => new VerbatimReply('txt', view(ctx).clusterNodes()), NONDETERMINISTIC),
  sub('info', 2, stale, ['slow'], 'Provides info about Redis Cluster node state', '3.0.0', (ctx) => new VerbatimReply('txt', view(ctx).clusterInfo()), NONDETERMINISTIC),
  sub('myid', 2, stale, ['slow'], 'Return the node id', '3.0.0', (ctx) => view(ctx).myId),
  sub('myshardid', 2, stale, ['slow'], 'Return the node\'s shard id', '7.2.0', (ctx) => view(ctx).myShard()?.id ?? view(ctx).myId, NONDETERMINISTIC),
  sub('keyslot', 3, stale, ['slow'], 'Returns the hash slot of the specified key', '3.0.0', (_ctx, argv) => keySlot(argv[2]!)),
  sub('countkeysinslot', 3, stale, ['slow'], 'Return the number of local keys in the specified hash slot', '3.0.0', countKeysInSlot),
  sub('getkeysinslot', 4, stale, ['slow'], 'Return local key names in the specified hash slot', '3.0.0', getKeysInSlot, NONDETERMINISTIC),
  sub('forget', 3, adminStaleNoAsync, adminCats, 'Remove a node from the nodes table', '3.0.0', (ctx, argv) =>
    ctx.server.forget?.(argv[2]!) ?? new ErrorReply(`ERR Unknown node ${argv[2]}`)),
  sub('failover', -2, adminStaleNoAsync, adminCats, 'Forces a replica to perform a manual failover of its master.', '3.0.0', failover),
  sub('links', 2, stale, ['slow'], 'Returns a list of all TCP links to and from peer nodes in cluster', '7.0.0', () => [], NONDETERMINISTIC),
  sub('replicas', 3, adminStale, adminCats, 'List replica nodes of the specified master node', '5.0.0', replicas, NONDETERMINISTIC),
  sub('slaves', 3, adminStale, adminCats, 'List replica nodes of the specified master node', '3.0.0', replicas, NONDETERMINISTIC),
  sub('count-failure-reports', 3, adminStale, adminCats, 'Return the number of failure reports active for a given node', '3.0.0', countFailureReports, NONDETERMINISTIC),
  sub('help', 2, ['loading', 'stale'], ['slow'], 'Show helpful text about the different subcommands', '5.0.0', () => helpReply('cluster', CLUSTER_HELP)),
];

export const clusterCommands: CommandSpec[] = [
  serverCommand({
    name: 'cluster', arity: -2, flags: [], categories: ['slow'], keys: null,
    summary: 'A container for cluster commands', since: '3.0.0', group: 'cluster',
    subcommands: clusterSubcommands, run: dispatchSubcommands('cluster', clusterSubcommands),
  }),
];
