// Pub/Sub: the node's registry of subscriptions (channels, patterns, shard channels) and each
// connection's own subscriptions. A message is encoded once per protocol and handed to every
// receiving connection, which queues it behind its replies on its normal bounded output path.
//
// `PubSubRegistry.publish` is the one function that delivers a message on this node: a cluster bus
// forwarding PUBLISH from other nodes calls it too.

import type { PubSubApi, PubSubKind } from '../commands/server-context.js';
import type { OutputBufferLimit } from './config.js';
import { encodeReply } from '../resp/encoder.js';
import { PushReply, RawReply, type Reply } from '../resp/reply.js';
import { globMatch } from '../store/glob.js';

/** A connection as Pub/Sub sees it. */
export interface Subscriber {
  /** The connection's protocol now (RESP3 gets push frames). */
  readonly resp: 2 | 3;
  /** Queues an encoded message in the client's output, behind its pending replies. */
  deliver(message: RawReply): void;
}

/** A message frame encoded at most once per protocol, however many clients receive it. */
class Frame {
  private resp2: RawReply | null = null;
  private resp3: RawReply | null = null;

  constructor(private readonly items: Reply[]) {}

  encoded(resp: 2 | 3): RawReply {
    if (resp === 2) return (this.resp2 ??= encodePush(this.items, 2));
    return (this.resp3 ??= encodePush(this.items, 3));
  }
}

function encodePush(items: Reply[], resp: 2 | 3): RawReply {
  return new RawReply(Buffer.from(encodeReply(new PushReply(items), resp), 'latin1'));
}

type Subscribers = Map<string, Set<ClientPubSub>>;

export class PubSubRegistry {
  /** Cluster mode: sends a message published by a client here to the other nodes (Redis's bus does). */
  forward: ((kind: 'channel' | 'shard', channel: string, message: string) => void) | null = null;
  private readonly byKind: Record<PubSubKind, Subscribers> = {
    channel: new Map(),
    pattern: new Map(),
    shard: new Map(),
  };

  /** Delivers `message` to the subscribers of `channel` (and, for channels, of matching patterns). */
  publish(kind: 'channel' | 'shard', channel: string, message: string): number {
    let receivers = 0;
    const direct = this.byKind[kind].get(channel);
    if (direct !== undefined) {
      const frame = new Frame([kind === 'shard' ? 'smessage' : 'message', channel, message]);
      for (const client of direct) client.receive(frame);
      receivers += direct.size;
    }
    if (kind === 'channel') {
      for (const [pattern, clients] of this.byKind.pattern) {
        if (!globMatch(pattern, channel)) continue;
        const frame = new Frame(['pmessage', pattern, channel, message]);
        for (const client of clients) client.receive(frame);
        receivers += clients.size;
      }
    }
    return receivers;
  }

  channels(kind: 'channel' | 'shard', pattern: string | null): string[] {
    const names: string[] = [];
    for (const name of this.byKind[kind].keys()) if (pattern === null || globMatch(pattern, name)) names.push(name);
    return names;
  }

  subscriberCount(kind: 'channel' | 'shard', channel: string): number {
    return this.byKind[kind].get(channel)?.size ?? 0;
  }

  patternCount(): number {
    return this.byKind.pattern.size;
  }

  add(kind: PubSubKind, name: string, client: ClientPubSub): void {
    const map = this.byKind[kind];
    let clients = map.get(name);
    if (clients === undefined) map.set(name, (clients = new Set()));
    clients.add(client);
  }

  remove(kind: PubSubKind, name: string, client: ClientPubSub): void {
    const map = this.byKind[kind];
    const clients = map.get(name);
    if (clients === undefined) return;
    clients.delete(client);
    if (clients.size === 0) map.delete(name);
  }
}

const SUBSCRIBE_VERB: Record<PubSubKind, string> = { channel: 'subscribe', pattern: 'psubscribe', shard: 'ssubscribe' };
const UNSUBSCRIBE_VERB: Record<PubSubKind, string> = {
  channel: 'unsubscribe',
  pattern: 'punsubscribe',
  shard: 'sunsubscribe',
};

/** One connection's subscriptions, and the PubSubApi its commands see. */
export class ClientPubSub implements PubSubApi {
  private readonly names: Record<PubSubKind, Set<string>> = {
    channel: new Set(),
    pattern: new Set(),
    shard: new Set(),
  };
  /** Subscriptions of every kind (kept as a number: dispatch reads it on every RESP2 command). */
  private total = 0;

  constructor(
    private readonly registry: PubSubRegistry,
    private readonly client: Subscriber,
  ) {}

  /** Channels and patterns: the count SUBSCRIBE and PSUBSCRIBE replies carry. */
  count(): number {
    return this.names.channel.size + this.names.pattern.size;
  }

  channelCount(): number {
    return this.names.channel.size;
  }

  patternSubscriptions(): number {
    return this.names.pattern.size;
  }

  /** Any subscription at all, shard channels included: RESP2's subscribed mode. */
  subscribed(): boolean {
    return this.total !== 0;
  }

  receive(frame: Frame): void {
    this.client.deliver(frame.encoded(this.client.resp));
  }

  subscribe(kind: PubSubKind, names: readonly string[]): Reply {
    const mine = this.names[kind];
    const confirmations: Reply[][] = [];
    for (const name of names) {
      if (!mine.has(name)) {
        mine.add(name);
        this.total++;
        this.registry.add(kind, name, this);
      }
      confirmations.push([SUBSCRIBE_VERB[kind], name, this.countFor(kind)]);
    }
    return this.encode(confirmations);
  }

  unsubscribe(kind: PubSubKind, names: readonly string[]): Reply {
    const mine = this.names[kind];
    const targets = names.length > 0 ? names : [...mine];
    const verb = UNSUBSCRIBE_VERB[kind];
    if (targets.length === 0) return this.encode([[verb, null, this.countFor(kind)]]);
    const confirmations: Reply[][] = [];
    for (const name of targets) {
      if (mine.delete(name)) {
        this.total--;
        this.registry.remove(kind, name, this);
      }
      confirmations.push([verb, name, this.countFor(kind)]);
    }
    return this.encode(confirmations);
  }

  /** Drops every subscription (RESET, disconnection). */
  clear(): void {
    for (const kind of ['channel', 'pattern', 'shard'] as const) {
      for (const name of this.names[kind]) this.registry.remove(kind, name, this);
      this.names[kind].clear();
    }
    this.total = 0;
  }

  publish(kind: 'channel' | 'shard', channel: string, message: string): number {
    this.registry.forward?.(kind, channel, message);
    return this.registry.publish(kind, channel, message);
  }

  channels(kind: 'channel' | 'shard', pattern: string | null): string[] {
    return this.registry.channels(kind, pattern);
  }

  subscriberCount(kind: 'channel' | 'shard', channel: string): number {
    return this.registry.subscriberCount(kind, channel);
  }

  patternCount(): number {
    return this.registry.patternCount();
  }

  /** Shard channels count apart from channels and patterns, as in Redis 7.0. */
  private countFor(kind: PubSubKind): number {
    return kind === 'shard' ? this.names.shard.size : this.count();
  }

  /** Several top-level replies (one per channel) as one reply value: their encoded concatenation. */
  private encode(confirmations: Reply[][]): RawReply {
    let bytes = '';
    for (const items of confirmations) bytes += encodeReply(new PushReply(items), this.client.resp);
    return new RawReply(Buffer.from(bytes, 'latin1'));
  }
}

/** The `pubsub` class of client-output-buffer-limit (default 32mb 8mb 60), parsed once per value. */
let cachedLimitText = '';
let cachedLimit: OutputBufferLimit = { hardBytes: 33554432, softBytes: 8388608, softSeconds: 60 };

export function pubsubOutputLimit(directive: string | undefined): OutputBufferLimit {
  if (directive === undefined || directive === cachedLimitText) return cachedLimit;
  const words = directive.split(' ');
  const at = words.indexOf('pubsub');
  if (at >= 0 && at + 3 < words.length) {
    cachedLimit = {
      hardBytes: Number(words[at + 1]),
      softBytes: Number(words[at + 2]),
      softSeconds: Number(words[at + 3]),
    };
  }
  cachedLimitText = directive;
  return cachedLimit;
}
