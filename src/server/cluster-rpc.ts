// The small requests nodes send each other on the cluster bus besides Raft traffic: who a node is (for
// bootstrap), which shards it leads (so nodes outside a shard know where to send MOVED), Pub/Sub messages
// to deliver, and a new node's join. Rare and small, so one type byte and a JSON body each.

export const enum RpcType {
  /** -> { id } : the 40-hex id of the node asked. */
  WhoAmI = 1,
  /** { leads: [groupId, term][], replicaPort } : the groups the sender leads now (the complete list). */
  Leaders = 2,
  /** { kind, channel, message } : deliver to this node's subscribers (latin1 strings). */
  Publish = 3,
  /** { id, ip, port, busPort } -> { raftId, clusterId, nodes } or { error }. */
  Join = 4,
}

export interface JoinRequest {
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly busPort: number;
}

export interface JoinReply {
  readonly raftId?: number;
  readonly error?: string;
  /** Every member's bus address, to connect to at once. */
  readonly nodes?: readonly { raftId: number; ip: string; busPort: number }[];
}

export function encodeRpc(type: RpcType, body: unknown): Buffer {
  return Buffer.concat([Buffer.from([type]), Buffer.from(JSON.stringify(body), 'latin1')]);
}

/** The type and body of a request; throws on garbage (the bus peer is authenticated, but still). */
export function decodeRpc(bytes: Buffer): { type: RpcType; body: unknown } {
  if (bytes.length < 1) throw new Error('empty cluster request');
  return { type: bytes[0] as RpcType, body: JSON.parse(bytes.latin1Slice(1)) as unknown };
}

export function encodeJson(body: unknown): Buffer {
  return Buffer.from(JSON.stringify(body), 'latin1');
}

export function decodeJson<T>(bytes: Buffer): T {
  return JSON.parse(bytes.latin1Slice(0)) as T;
}
