// Pub/Sub commands: SUBSCRIBE and friends, PUBLISH, SPUBLISH and PUBSUB introspection. The
// subscriptions live in the server layer (src/server/pubsub.ts); these specs parse arguments and
// shape replies as Redis 7.0. Shard channels are keys for routing (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH).

import type { PubSubApi, PubSubKind, ServerContext } from './server-context.js';
import type { CommandSpec, KeyRange } from './types.js';
import { ErrorReply, type Reply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import { dispatchSubcommands, helpReply, serverCommand, subcommand, type Subcommand } from './server/util.js';

function withPubSub(run: (pubsub: PubSubApi, argv: readonly string[]) => Reply) {
  return (ctx: ServerContext, argv: readonly string[]): Reply =>
    ctx.pubsub === undefined ? new ErrorReply(errors.INTERNAL) : run(ctx.pubsub, argv);
}

const slow = ['pubsub', 'slow'];
const fast = ['pubsub', 'fast'];
const subscribeFlags = ['pubsub', 'noscript', 'loading', 'stale'] as const;
const publishFlags = ['pubsub', 'loading', 'stale', 'fast'] as const;
const allArgs: KeyRange = { first: 1, last: -1, step: 1 };

function subscription(
  name: string,
  kind: PubSubKind,
  subscribe: boolean,
  summary: string,
  since: string,
): CommandSpec {
  return serverCommand({
    name,
    arity: subscribe ? -2 : -1,
    flags: subscribeFlags,
    categories: slow,
    keys: kind === 'shard' ? allArgs : null,
    summary,
    since,
    group: 'pubsub',
    run: withPubSub((pubsub, argv) =>
      subscribe ? pubsub.subscribe(kind, argv.slice(1)) : pubsub.unsubscribe(kind, argv.slice(1)),
    ),
  });
}

const PUBSUB_HELP = [
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  '    Return the currently active shard level channels matching a <pattern> (default: \'*\').',
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
];

function channelsOf(kind: 'channel' | 'shard') {
  return withPubSub((pubsub, argv) => pubsub.channels(kind, argv[2] ?? null));
}

function numsubOf(kind: 'channel' | 'shard') {
  return withPubSub((pubsub, argv) => argv.slice(2).flatMap((channel) => [channel, pubsub.subscriberCount(kind, channel)]));
}

// In the order Redis 7.0.15's COMMAND lists them.
const pubsubSubcommands: Subcommand[] = [
  subcommand('numsub', -2, ['pubsub', 'loading', 'stale'], slow, 'Get the count of subscribers for channels', '2.8.0', 'pubsub', numsubOf('channel')),
  subcommand('help', 2, ['loading', 'stale'], ['slow'], 'Show helpful text about the different subcommands', '6.2.0', 'pubsub',
    () => helpReply('pubsub', PUBSUB_HELP)),
  subcommand('shardchannels', -2, ['pubsub', 'loading', 'stale'], slow, 'List active shard channels', '7.0.0', 'pubsub', channelsOf('shard')),
  subcommand('numpat', 2, ['pubsub', 'loading', 'stale'], slow, 'Get the count of unique patterns pattern subscriptions', '2.8.0', 'pubsub',
    withPubSub((pubsub) => pubsub.patternCount())),
  subcommand('channels', -2, ['pubsub', 'loading', 'stale'], slow, 'List active channels', '2.8.0', 'pubsub', channelsOf('channel')),
  subcommand('shardnumsub', -2, ['pubsub', 'loading', 'stale'], slow, 'Get the count of subscribers for shard channels', '7.0.0', 'pubsub', numsubOf('shard')),
];

export const pubsubCommands: CommandSpec[] = [
  subscription('subscribe', 'channel', true, 'Listen for messages published to the given channels', '2.0.0'),
  subscription('unsubscribe', 'channel', false, 'Stop listening for messages posted to the given channels', '2.0.0'),
  subscription('psubscribe', 'pattern', true, 'Listen for messages published to channels matching the given patterns', '2.0.0'),
  subscription('punsubscribe', 'pattern', false, 'Stop listening for messages posted to channels matching the given patterns', '2.0.0'),
  subscription('ssubscribe', 'shard', true, 'Listen for messages published to the given shard channels', '7.0.0'),
  subscription('sunsubscribe', 'shard', false, 'Stop listening for messages posted to the given shard channels', '7.0.0'),
  serverCommand({
    name: 'publish', arity: 3, flags: publishFlags, categories: fast, keys: null,
    summary: 'Post a message to a channel', since: '2.0.0', group: 'pubsub',
    run: withPubSub((pubsub, argv) => pubsub.publish('channel', argv[1]!, argv[2]!)),
  }),
  serverCommand({
    name: 'spublish', arity: 3, flags: publishFlags, categories: fast, keys: { first: 1, last: 1, step: 1 },
    summary: 'Post a message to a shard channel', since: '7.0.0', group: 'pubsub',
    run: withPubSub((pubsub, argv) => pubsub.publish('shard', argv[1]!, argv[2]!)),
  }),
  serverCommand({
    name: 'pubsub', arity: -2, flags: [], categories: ['slow'], keys: null,
    summary: 'A container for Pub/Sub commands', since: '2.8.0', group: 'pubsub',
    subcommands: pubsubSubcommands, run: dispatchSubcommands('pubsub', pubsubSubcommands),
  }),
];
