// The cluster bus wire format: every frame is [length u32 BE][type u8][payload], where `length` counts
// the type byte and the payload. Payloads use codec.ts building blocks (varints, length-prefixed bytes);
// a Raft frame's payload is the Multi-Raft frame body of transport-tcp.ts (coalesced messages and
// heartbeats of all groups for one peer). Decoders throw CodecError on any malformed input.
//
// Handshake (the dialer speaks first; nothing but these three frame types is accepted before it ends):
//   dialer   -> HELLO{version, cluster, from, to, nonceD}
//   acceptor -> HELLO{version, cluster, from, to, nonceA}, AUTH{mac(acceptor role)}
//   dialer   -> AUTH{mac(dialer role)}
//   acceptor -> AUTH_OK
// mac = HMAC-SHA256(secret, role | cluster | dialer id | acceptor id | nonceD | nonceA): each side proves
// it knows the secret over a nonce the other chose, so the secret never travels and a recorded
// handshake cannot be replayed. The role tag stops a peer reflecting one side's proof back at it.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { ByteReader, ByteWriter } from '../raft/codec.js';
import type { GroupId, Index, NodeId } from '../raft/types.js';

export const BUS_PROTOCOL_VERSION = 1;
/** Bytes before the payload: the length (u32) and the type (u8). */
export const HEADER_BYTES = 5;
export const NONCE_BYTES = 32;
export const MAC_BYTES = 32;
/** Largest frame accepted before authentication: enough for a HELLO, too little to hurt. */
export const HANDSHAKE_FRAME_BYTES_MAX = 512;
const CLUSTER_ID_BYTES_MAX = 128;

export const enum BusFrameType {
  Hello = 1,
  Auth = 2,
  AuthOk = 3,
  Raft = 4,
  SnapshotChunk = 5,
  SnapshotAck = 6,
  Request = 7,
  Response = 8,
  Ping = 9,
  Pong = 10,
}

export const HANDSHAKE_TYPES: ReadonlySet<number> = new Set([BusFrameType.Hello, BusFrameType.Auth, BusFrameType.AuthOk]);
const LAST_TYPE = BusFrameType.Pong;

export function isKnownType(type: number): boolean {
  return type >= BusFrameType.Hello && type <= LAST_TYPE;
}

/** A frame's header for a payload of `payloadBytes`. */
export function frameHeader(type: BusFrameType, payloadBytes: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32BE(payloadBytes + 1, 0);
  header[4] = type;
  return header;
}

/** A whole frame (header and payload) in one buffer, for small frames. */
export function frame(type: BusFrameType, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length + 1, 0);
  out[4] = type;
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Splits a byte stream into frames. Feed it what the socket delivers; it calls `onFrame` for each
 * complete frame and throws CodecError (leaving the caller to drop the connection) as soon as a header
 * declares a length over `frameBytesMax` (which the caller may lower or raise between frames, e.g. after
 * the handshake) or an unknown type. Holds at most one incomplete frame.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload bytes of the frame being assembled, or -1 while its header is incomplete. */
  private needed = -1;
  private type = 0;

  constructor(
    public frameBytesMax: number,
    private readonly onFrame: (type: BusFrameType, payload: Buffer) => void,
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.needed < 0) {
        if (this.buffered < HEADER_BYTES) return;
        const header = this.take(HEADER_BYTES);
        const length = header.readUInt32BE(0);
        const type = header[4]!;
        if (length < 1 || length > this.frameBytesMax) {
          throw new BusProtocolError(`frame length ${length} outside 1..${this.frameBytesMax}`);
        }
        if (!isKnownType(type)) throw new BusProtocolError(`unknown frame type ${type}`);
        this.needed = length - 1;
        this.type = type;
      }
      if (this.buffered < this.needed) return;
      const payload = this.take(this.needed);
      this.needed = -1;
      this.onFrame(this.type as BusFrameType, payload);
    }
  }

  /** Removes and returns the first `n` buffered bytes (a view when they sit in one chunk). */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first!.length >= n) {
      if (first!.length === n) this.chunks.shift();
      else this.chunks[0] = first!.subarray(n);
      return first!.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const chunk = this.chunks[0]!;
      const part = Math.min(chunk.length, n - at);
      chunk.copy(out, at, 0, part);
      at += part;
      if (part === chunk.length) this.chunks.shift();
      else this.chunks[0] = chunk.subarray(part);
    }
    return out;
  }
}

/** The peer broke the protocol (bad framing, bad handshake, a frame it may not send). */
export class BusProtocolError extends Error {
  override readonly name = 'BusProtocolError';
}

// ---- handshake ----

export interface Hello {
  readonly version: number;
  readonly clusterId: string;
  readonly from: NodeId;
  /** The node the sender believes it talks to (0 when unknown: the acceptor always knows). */
  readonly to: NodeId;
  readonly nonce: Uint8Array;
}

export function encodeHello(h: Hello): Buffer {
  const w = new ByteWriter(64 + h.clusterId.length);
  w.u8(h.version).bytes(Buffer.from(h.clusterId, 'utf8')).varint(h.from).varint(h.to).raw(h.nonce);
  return frame(BusFrameType.Hello, w.view());
}

export function decodeHello(payload: Uint8Array): Hello {
  const r = new ByteReader(payload, 'bus hello');
  const version = r.u8('version');
  const cluster = r.bytes('cluster id');
  if (cluster.length > CLUSTER_ID_BYTES_MAX) r.fail('cluster id too long');
  const from = r.varint('from');
  const to = r.varint('to');
  const nonce = r.raw(NONCE_BYTES, 'nonce');
  r.end();
  return { version, clusterId: Buffer.from(cluster).toString('utf8'), from, to, nonce };
}

export type AuthRole = 'dialer' | 'acceptor';

export interface HandshakeTranscript {
  readonly clusterId: string;
  readonly dialer: NodeId;
  readonly acceptor: NodeId;
  readonly dialerNonce: Uint8Array;
  readonly acceptorNonce: Uint8Array;
}

/** The proof `role` sends: HMAC-SHA256 with the secret over the role and the whole handshake. */
export function authMac(secret: Uint8Array, role: AuthRole, t: HandshakeTranscript): Buffer {
  const w = new ByteWriter(160);
  w.bytes(Buffer.from(`slotraft-bus ${role}`, 'latin1')).bytes(Buffer.from(t.clusterId, 'utf8'));
  w.varint(t.dialer).varint(t.acceptor).raw(t.dialerNonce).raw(t.acceptorNonce);
  return createHmac('sha256', secret).update(w.view()).digest();
}

export function verifyMac(expected: Uint8Array, received: Uint8Array): boolean {
  return received.length === expected.length && timingSafeEqual(expected, received);
}

// ---- snapshot streaming ----

export const SNAPSHOT_LAST = 1;

export interface SnapshotChunk {
  readonly groupId: GroupId;
  readonly index: Index;
  readonly offset: number;
  readonly last: boolean;
  readonly data: Uint8Array;
}

/** The header part of a chunk frame; the data follows it raw (written separately, never copied). */
export function encodeSnapshotChunkHead(c: Omit<SnapshotChunk, 'data'>, dataBytes: number): Buffer {
  const w = new ByteWriter(32);
  w.varint(c.groupId).varint(c.index).varint(c.offset).u8(c.last ? SNAPSHOT_LAST : 0);
  const head = w.view();
  return Buffer.concat([frameHeader(BusFrameType.SnapshotChunk, head.length + dataBytes), head]);
}

export function decodeSnapshotChunk(payload: Buffer): SnapshotChunk {
  const r = new ByteReader(payload, 'snapshot chunk', true);
  const groupId = r.varint('group');
  const index = r.varint('index');
  const offset = r.varint('offset');
  const flags = r.u8('flags');
  if (flags & ~SNAPSHOT_LAST) r.fail(`unknown flags ${flags}`);
  const data = r.raw(r.remaining, 'data');
  return { groupId, index, offset, last: flags === SNAPSHOT_LAST, data };
}

export const enum SnapshotAckStatus {
  /** `received` bytes are safely taken; send more. */
  Progress = 0,
  /** The whole snapshot arrived and the receiver's sink accepted it. */
  Done = 1,
  /** The receiver gave up on the stream; `reason` says why. */
  Abort = 2,
}

export interface SnapshotAck {
  readonly groupId: GroupId;
  readonly index: Index;
  readonly received: number;
  readonly status: SnapshotAckStatus;
  readonly reason: string;
}

export function encodeSnapshotAck(a: SnapshotAck): Buffer {
  const w = new ByteWriter(32 + a.reason.length);
  w.varint(a.groupId).varint(a.index).varint(a.received).u8(a.status).bytes(Buffer.from(a.reason, 'utf8'));
  return frame(BusFrameType.SnapshotAck, w.view());
}

export function decodeSnapshotAck(payload: Uint8Array): SnapshotAck {
  const r = new ByteReader(payload, 'snapshot ack');
  const groupId = r.varint('group');
  const index = r.varint('index');
  const received = r.varint('received');
  const status = r.u8('status');
  if (status > SnapshotAckStatus.Abort) r.fail(`unknown status ${status}`);
  const reason = Buffer.from(r.bytes('reason')).toString('utf8');
  r.end();
  return { groupId, index, received, status, reason };
}

// ---- requests, responses, liveness ----

export function encodeRequest(id: number, body: Uint8Array): Buffer {
  const w = new ByteWriter(16 + body.length);
  w.varint(id).raw(body);
  return frame(BusFrameType.Request, w.view());
}

export interface Request {
  readonly id: number;
  readonly body: Uint8Array;
}

export function decodeRequest(payload: Buffer): Request {
  const r = new ByteReader(payload, 'request');
  const id = r.varint('id');
  return { id, body: r.raw(r.remaining, 'body') };
}

export interface Response {
  readonly id: number;
  /** null on success; the remote handler's error message otherwise. */
  readonly error: string | null;
  readonly body: Uint8Array;
}

export function encodeResponse(res: Response): Buffer {
  const w = new ByteWriter(16 + res.body.length);
  w.varint(res.id).u8(res.error === null ? 0 : 1);
  if (res.error !== null) w.bytes(Buffer.from(res.error, 'utf8'));
  w.raw(res.body);
  return frame(BusFrameType.Response, w.view());
}

export function decodeResponse(payload: Buffer): Response {
  const r = new ByteReader(payload, 'response');
  const id = r.varint('id');
  const failed = r.bool('failed');
  const error = failed ? Buffer.from(r.bytes('error')).toString('utf8') : null;
  return { id, error, body: r.raw(r.remaining, 'body') };
}

/** PING and PONG carry an 8-byte token the answer echoes (the sender's clock, for round-trip times). */
export function encodePing(type: BusFrameType.Ping | BusFrameType.Pong, token: Uint8Array): Buffer {
  if (token.length !== 8) throw new BusProtocolError('ping token must be 8 bytes');
  return frame(type, token);
}

export function decodePingToken(payload: Uint8Array): Uint8Array {
  if (payload.length !== 8) throw new BusProtocolError(`ping payload of ${payload.length} bytes`);
  return payload;
}
