// A minimal TCP transport for the Multi-Raft host's frames (multi/ports.ts) between nodes: one outgoing
// connection per peer; on the wire [length u32 BE][version u8][from][to][messages][heartbeats]
// [heartbeat responses] (codec.ts encodings, varint counts), so one frame carries the messages and
// coalesced heartbeats of many groups for one peer. Raft tolerates loss, so the transport drops rather than queues
// without bound: a peer whose socket has more than `sendBufferBytesMax` waiting gets nothing more until
// it drains, and a broken connection is re-dialled on a later send after a short pause.
//
// This module does I/O (node:net) and belongs with the composition root; it lives here because the
// benchmarks need it before the cluster bus exists. It does not authenticate peers (the bus will).

import { createConnection, createServer, type Server, type Socket } from 'node:net';
import {
  ByteReader,
  ByteWriter,
  CODEC_VERSION,
  CodecError,
  entryEncodedSizeMax,
  readMessage,
  writeMessage,
} from './codec.js';
import type { CoalescedHeartbeat, Frame, GroupMessage, TransportPort } from './multi/ports.js';
import type { NodeId } from './types.js';

export interface TcpTransportOptions {
  readonly host?: string;
  /** 0 (default) picks a free port; read it back from `port`. */
  readonly port?: number;
  /** Called with each received frame, in order per connection. */
  readonly onFrame: (frame: Frame) => void;
  /** Largest frame accepted; a peer that sends more is disconnected. Default 64 MiB. */
  readonly frameBytesMax?: number;
  /** Bytes that may wait in one peer's socket before frames to it are dropped. Default 64 MiB. */
  readonly sendBufferBytesMax?: number;
  /** Pause before re-dialling a peer whose connection failed. Default 100 ms. */
  readonly redialDelayMs?: number;
}

interface Peer {
  readonly host: string;
  readonly port: number;
  socket: Socket | null;
  /** When the last connection failed (performance.now()), to pace re-dialling. */
  failedAt: number;
}

export interface TransportStats {
  framesSent: number;
  framesDropped: number;
  framesReceived: number;
  bytesSent: number;
}

const LENGTH_BYTES = 4;

const FLAG_QUIESCE = 1;
const FLAG_CONTEXT = 2;

function writeHeartbeats(w: ByteWriter, hbs: readonly CoalescedHeartbeat[]): void {
  w.varint(hbs.length);
  for (const hb of hbs) {
    w.varint(hb.groupId).varint(hb.term).varint(hb.commit);
    w.u8((hb.quiesce ? FLAG_QUIESCE : 0) | (hb.context ? FLAG_CONTEXT : 0));
    if (hb.context) w.bytes(hb.context);
  }
}

function readHeartbeats(r: ByteReader, field: string): CoalescedHeartbeat[] {
  const n = r.count(field, 4);
  const out: CoalescedHeartbeat[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const groupId = r.varint('group');
    const term = r.varint('term');
    const commit = r.varint('commit');
    const flags = r.u8('flags');
    if (flags & ~(FLAG_QUIESCE | FLAG_CONTEXT)) r.fail(`unknown heartbeat flags ${flags}`);
    const context = flags & FLAG_CONTEXT ? r.bytes('context') : null;
    out[i] = { groupId, term, commit, context, quiesce: (flags & FLAG_QUIESCE) !== 0 };
  }
  return out;
}

/** Encodes one frame with its length prefix. */
export function encodeFrame(frame: Frame): Buffer {
  // Size it up front (entries dominate), so the writer rarely grows and copies.
  let size = 64 + frame.messages.length * 64 + (frame.heartbeats.length + frame.heartbeatResps.length) * 24;
  for (const { message } of frame.messages) {
    for (const e of message.entries) size += entryEncodedSizeMax(e);
  }
  const w = new ByteWriter(size);
  w.u32(0).u8(CODEC_VERSION).varint(frame.from).varint(frame.to).varint(frame.messages.length);
  for (const { groupId, message } of frame.messages) {
    w.varint(groupId);
    writeMessage(w, message);
  }
  writeHeartbeats(w, frame.heartbeats);
  writeHeartbeats(w, frame.heartbeatResps);
  const bytes = w.view(); // the writer is ours alone: no need for a right-sized copy
  bytes.writeUInt32BE(bytes.length - LENGTH_BYTES, 0);
  return bytes;
}

/**
 * Decodes a frame's body (after the length prefix). Throws CodecError on malformed input. The body is
 * copied once and the decoded byte fields (entry data, contexts) are views of that private copy: one
 * allocation per frame instead of one per entry. A frame's entries live about as long as each other.
 */
export function decodeFrameBody(body: Uint8Array): Frame {
  const r = new ByteReader(Buffer.from(body), 'raft frame', true);
  r.version();
  const from = r.varint('from');
  const to = r.varint('to');
  const n = r.count('messages', 2);
  const messages: GroupMessage[] = new Array(n);
  for (let i = 0; i < n; i++) messages[i] = { groupId: r.varint('group'), message: readMessage(r) };
  const heartbeats = readHeartbeats(r, 'heartbeats');
  const heartbeatResps = readHeartbeats(r, 'heartbeat responses');
  r.end();
  return { from, to, messages, heartbeats, heartbeatResps };
}

export class TcpTransport implements TransportPort {
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<Socket>();
  readonly stats: TransportStats = { framesSent: 0, framesDropped: 0, framesReceived: 0, bytesSent: 0 };
  private readonly frameBytesMax: number;
  private readonly sendBufferBytesMax: number;
  private readonly redialDelayMs: number;

  private constructor(
    private readonly server: Server,
    private readonly options: TcpTransportOptions,
  ) {
    this.frameBytesMax = options.frameBytesMax ?? 64 << 20;
    this.sendBufferBytesMax = options.sendBufferBytesMax ?? 64 << 20;
    this.redialDelayMs = options.redialDelayMs ?? 100;
  }

  static listen(options: TcpTransportOptions): Promise<TcpTransport> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      const transport = new TcpTransport(server, options);
      server.on('connection', (socket) => transport.accept(socket));
      server.once('error', reject);
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve(transport));
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  addPeer(id: NodeId, host: string, port: number): void {
    this.peers.get(id)?.socket?.destroy();
    this.peers.set(id, { host, port, socket: null, failedAt: -Infinity });
  }

  /** Sends a frame to `frame.to`. Returns false if it was dropped (unknown peer, broken or full link). */
  send(frame: Frame): boolean {
    const peer = this.peers.get(frame.to);
    const socket = peer && this.connection(peer);
    if (!socket || socket.writableLength > this.sendBufferBytesMax) {
      this.stats.framesDropped++;
      return false;
    }
    const bytes = encodeFrame(frame);
    socket.write(bytes);
    this.stats.framesSent++;
    this.stats.bytesSent += bytes.length;
    return true;
  }

  private connection(peer: Peer): Socket | null {
    if (peer.socket) return peer.socket;
    if (performance.now() - peer.failedAt < this.redialDelayMs) return null;
    const socket = createConnection({ host: peer.host, port: peer.port });
    socket.setNoDelay(true);
    const fail = () => {
      if (peer.socket === socket) {
        peer.socket = null;
        peer.failedAt = performance.now();
      }
      socket.destroy();
    };
    socket.on('error', fail);
    socket.on('close', fail);
    socket.on('data', () => socket.destroy()); // peers never answer on this connection
    peer.socket = socket;
    return socket;
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.inbound.add(socket);
    let chunks: Buffer[] = [];
    let buffered = 0;
    let needed = LENGTH_BYTES; // bytes to wait for before parsing: a length prefix, or a whole frame
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      buffered += data.length;
      if (buffered < needed) return;
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
      let at = 0;
      while (buf.length - at >= LENGTH_BYTES) {
        const length = buf.readUInt32BE(at);
        if (length > this.frameBytesMax) {
          socket.destroy(); // a bad peer hurts only itself
          return;
        }
        if (buf.length - at - LENGTH_BYTES < length) break;
        const body = buf.subarray(at + LENGTH_BYTES, at + LENGTH_BYTES + length);
        at += LENGTH_BYTES + length;
        let frame: Frame;
        try {
          frame = decodeFrameBody(body);
        } catch (err) {
          if (!(err instanceof CodecError)) throw err;
          socket.destroy();
          return;
        }
        this.stats.framesReceived++;
        this.options.onFrame(frame);
      }
      buf = buf.subarray(at);
      chunks = buf.length > 0 ? [buf] : [];
      buffered = buf.length;
      needed = buffered >= LENGTH_BYTES ? LENGTH_BYTES + buf.readUInt32BE(0) : LENGTH_BYTES;
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.inbound.delete(socket));
  }

  async close(): Promise<void> {
    for (const peer of this.peers.values()) peer.socket?.destroy();
    for (const socket of this.inbound) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
