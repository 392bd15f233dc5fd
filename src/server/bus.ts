// The cluster bus: authenticated TCP links between slotraft nodes (design §8). Carries the Multi-Raft
// host's coalesced frames, snapshots streamed in flow-controlled chunks, request/response RPCs (join,
// admin, migration) and liveness pings. Wire format and handshake: bus-protocol.ts.
//
// - One connection per peer pair. Both sides may dial (the higher id waits a little first, so usually
//   only the lower one does); when two authenticated connections exist, both ends send on the one dialed
//   by the lower node id, or the newer one if the same node dialed both, and read the other a little
//   longer before closing it, so that nothing sent on it before the switch is lost.
// - Nothing a connection sends reaches the host before it proves it holds the cluster secret; a
//   connection that fails the handshake, sends garbage, an unknown type or an oversized frame is closed
//   and logged, and hurts nobody else.
// - Every peer has a bounded send queue. Past the bound Raft frames are dropped (Raft retries) and
//   requests fail at once; frames that cannot be dropped (responses, acks, pongs, window-limited
//   snapshot chunks) may go up to twice the bound, beyond which the peer is deemed stuck and cut off.
// - Lost connections are re-dialled with exponential backoff and jitter (from the injected `random`).
//
// This is the composition root's I/O: it uses node:net, node:crypto and timers directly.

import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { CodecError } from '../raft/codec.js';
import type { Frame, TransportPort } from '../raft/multi/ports.js';
import { decodeFrameBody, encodeFrame } from '../raft/transport-tcp.js';
import type { GroupId, Index, NodeId } from '../raft/types.js';
import {
  BUS_PROTOCOL_VERSION,
  BusFrameType,
  BusProtocolError,
  FrameSplitter,
  HANDSHAKE_FRAME_BYTES_MAX,
  HANDSHAKE_TYPES,
  NONCE_BYTES,
  SnapshotAckStatus,
  authMac,
  decodeHello,
  decodePingToken,
  decodeRequest,
  decodeResponse,
  decodeSnapshotAck,
  decodeSnapshotChunk,
  encodeHello,
  encodePing,
  encodeRequest,
  encodeResponse,
  encodeSnapshotAck,
  encodeSnapshotChunkHead,
  frame,
  frameHeader,
  verifyMac,
  type HandshakeTranscript,
  type SnapshotChunk,
} from './bus-protocol.js';
import type { Logger } from './logger.js';

export interface BusLimits {
  /** Largest frame sent or accepted after the handshake. */
  readonly frameBytesMax: number;
  /** A connection must finish the handshake within this time. */
  readonly handshakeTimeoutMs: number;
  /** Unauthenticated inbound connections at once; more are closed on arrival. */
  readonly handshakesMax: number;
  /** Bytes queued for one peer past which Raft frames are dropped and requests refused. */
  readonly queueBytesMax: number;
  /** Bytes handed to one socket before the queue waits for it to drain. */
  readonly socketBytesMax: number;
  readonly pingIntervalMs: number;
  /** A connection that delivers nothing (not even a pong) for this long is closed. */
  readonly deadAfterMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly requestTimeoutMs: number;
  /** Requests from one peer being handled at once; more are answered with an error. */
  readonly inboundRequestsMax: number;
  readonly snapshotChunkBytes: number;
  /** Unacknowledged snapshot bytes in flight per stream (both ends must agree). */
  readonly snapshotWindowBytes: number;
  /** Snapshot streams per peer and direction at once. */
  readonly snapshotStreamsMax: number;
  /** A stream that makes no progress for this long fails. */
  readonly snapshotStallMs: number;
}

export const DEFAULT_BUS_LIMITS: BusLimits = {
  frameBytesMax: 64 << 20,
  handshakeTimeoutMs: 5000,
  handshakesMax: 64,
  queueBytesMax: 16 << 20,
  socketBytesMax: 1 << 20,
  pingIntervalMs: 1000,
  deadAfterMs: 5000,
  backoffBaseMs: 100,
  backoffMaxMs: 5000,
  requestTimeoutMs: 10_000,
  inboundRequestsMax: 256,
  snapshotChunkBytes: 256 << 10,
  snapshotWindowBytes: 4 << 20,
  snapshotStreamsMax: 4,
  snapshotStallMs: 30_000,
};

/** Where an incoming snapshot's bytes go, in order. A promise from write/finish holds back the ack. */
export interface SnapshotSink {
  write(data: Uint8Array): void | Promise<void>;
  /** All bytes arrived; the sender's promise resolves once this settles without error. */
  finish(): void | Promise<void>;
  /** The stream failed (connection lost, bad chunk, write error); drop what was received. */
  abort(reason: string): void;
}

export interface BusOptions {
  readonly nodeId: NodeId;
  readonly clusterId: string;
  /** The shared cluster secret; never sent. */
  readonly secret: string | Uint8Array;
  readonly host?: string;
  /** 0 (default) picks a free port; read it back from `port`. */
  readonly port?: number;
  readonly onRaftFrame?: (frame: Frame) => void;
  readonly onRequest?: (from: NodeId, body: Buffer) => Uint8Array | Promise<Uint8Array>;
  /** A peer starts streaming a snapshot: return where it goes, or null to refuse it. */
  readonly onSnapshot?: (from: NodeId, groupId: GroupId, index: Index) => SnapshotSink | null;
  readonly onPeerUp?: (id: NodeId) => void;
  readonly onPeerDown?: (id: NodeId) => void;
  readonly logger?: Logger;
  /** Uniform in [0, 1): the backoff jitter. */
  readonly random?: () => number;
  readonly limits?: Partial<BusLimits>;
}

/** A request or snapshot stream that failed: the peer refused it, was unreachable, or the queue was full. */
export class BusError extends Error {
  override readonly name = 'BusError';
}

export interface BusStats {
  raftFramesSent: number;
  raftFramesDropped: number;
  raftFramesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  /** Connections closed for failing the handshake (wrong secret, cluster, version or node id). */
  authFailures: number;
  /** Connections closed for garbage, oversized frames or frames out of place. */
  protocolErrors: number;
  connectionsAccepted: number;
  connectionsDialed: number;
}

type ConnState = 'hello' | 'auth' | 'auth-ok' | 'ready' | 'closed';

interface Conn {
  readonly socket: Socket;
  /** True if this node dialed it. */
  readonly dialed: boolean;
  readonly remote: string;
  state: ConnState;
  /** Claimed until the handshake ends, proven after. */
  peerId: NodeId;
  readonly nonce: Buffer;
  transcript: HandshakeTranscript | null;
  readonly splitter: FrameSplitter;
  lastHeardAt: number;
  inboundRequests: number;
  handshakeTimer: NodeJS.Timeout | null;
  /** Set once a duplicate connection is retired: it is closed when this fires. */
  retireTimer: NodeJS.Timeout | null;
}

interface QueueItem {
  readonly parts: readonly Uint8Array[];
  readonly bytes: number;
}

interface PendingRequest {
  readonly resolve: (body: Buffer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface OutStream {
  acked: number;
  lastProgressAt: number;
  wake: (() => void) | null;
  failed: Error | null;
  readonly settle: { resolve: () => void; reject: (err: Error) => void };
}

interface InStream {
  readonly sink: SnapshotSink;
  /** Offset the next chunk must have. */
  expected: number;
  acked: number;
  chain: Promise<void>;
}

interface Peer {
  readonly id: NodeId;
  address: { host: string; port: number } | null;
  /** The authenticated connection in use. */
  conn: Conn | null;
  dialing: Conn | null;
  dialTimer: NodeJS.Timeout | null;
  failedDials: number;
  queue: (QueueItem | undefined)[];
  queueHead: number;
  queueBytes: number;
  pumpScheduled: boolean;
  nextRequestId: number;
  readonly pending: Map<number, PendingRequest>;
  readonly outStreams: Map<string, OutStream>;
  readonly inStreams: Map<string, InStream>;
}

/** How long a retired duplicate connection is still read before it is closed (then as long again to close). */
const RETIRE_LINGER_MS = 1000;

function clearQueue(peer: Peer): void {
  peer.queue = [];
  peer.queueHead = 0;
  peer.queueBytes = 0;
}

const streamKey = (groupId: GroupId, index: Index) => `${groupId}:${index}`;

export class ClusterBus {
  readonly stats: BusStats = {
    raftFramesSent: 0,
    raftFramesDropped: 0,
    raftFramesReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    authFailures: 0,
    protocolErrors: 0,
    connectionsAccepted: 0,
    connectionsDialed: 0,
  };
  /** The Multi-Raft host's view of the bus. */
  readonly transport: TransportPort = { send: (f) => void this.sendRaft(f) };

  private readonly limits: BusLimits;
  private readonly secret: Buffer;
  private readonly random: () => number;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly conns = new Set<Conn>();
  private handshakes = 0;
  private closed = false;
  private readonly ticker: NodeJS.Timeout;

  private constructor(
    private readonly server: Server,
    private readonly options: BusOptions,
  ) {
    this.limits = { ...DEFAULT_BUS_LIMITS, ...options.limits };
    this.secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
    if (this.secret.length === 0) throw new BusError('the cluster bus needs a cluster secret');
    if (!(options.nodeId > 0)) throw new BusError('node ids start at 1');
    this.random = options.random ?? Math.random;
    this.ticker = setInterval(() => this.tick(), this.limits.pingIntervalMs);
    this.ticker.unref();
  }

  static listen(options: BusOptions): Promise<ClusterBus> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      let bus: ClusterBus;
      try {
        bus = new ClusterBus(server, options);
      } catch (err) {
        reject(err);
        return;
      }
      server.on('connection', (socket) => bus.accept(socket));
      server.once('error', (err) => {
        clearInterval(bus.ticker);
        reject(err);
      });
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve(bus));
    });
  }

  get nodeId(): NodeId {
    return this.options.nodeId;
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Adds a peer or changes its address; the bus keeps a connection to it from now on. */
  addPeer(id: NodeId, host: string, port: number): void {
    if (id === this.nodeId || !(id > 0)) throw new BusError(`bad peer id ${id}`);
    const peer = this.peerFor(id);
    const moved = peer.address !== null && (peer.address.host !== host || peer.address.port !== port);
    peer.address = { host, port };
    if (moved) peer.dialing?.socket.destroy();
    // The lower id dials first; the higher one only if no connection shows up meanwhile.
    if (this.nodeId < id) this.dial(peer);
    else this.scheduleDial(peer);
  }

  removePeer(id: NodeId): void {
    const peer = this.peers.get(id);
    if (!peer) return;
    this.peers.delete(id);
    if (peer.dialTimer) clearTimeout(peer.dialTimer);
    peer.address = null;
    peer.dialing?.socket.destroy();
    peer.conn?.socket.destroy();
    this.failPeerWork(peer, 'peer removed');
  }

  isConnected(id: NodeId): boolean {
    return this.peers.get(id)?.conn != null;
  }

  /** Bytes waiting in a peer's send queue (not yet handed to its socket). */
  queuedBytes(id: NodeId): number {
    return this.peers.get(id)?.queueBytes ?? 0;
  }

  /** Bytes held for a peer: its send queue plus what its socket has not yet passed to the kernel. */
  heldBytes(id: NodeId): number {
    const peer = this.peers.get(id);
    return peer ? peer.queueBytes + (peer.conn?.socket.writableLength ?? 0) : 0;
  }

  /** Sends a Multi-Raft frame to `frame.to`; false if it was dropped (no link, queue full, too big). */
  sendRaft(f: Frame): boolean {
    const peer = this.peers.get(f.to);
    if (!peer || !peer.conn) {
      if (peer) this.scheduleDial(peer);
      this.stats.raftFramesDropped++;
      return false;
    }
    if (peer.queueBytes >= this.limits.queueBytesMax) {
      this.stats.raftFramesDropped++; // full: do not even encode it
      return false;
    }
    const body = encodeFrame(f).subarray(4); // transport-tcp's own length prefix gives way to ours
    const sent = this.enqueue(peer, [frameHeader(BusFrameType.Raft, body.length), body], 'droppable');
    if (sent) this.stats.raftFramesSent++;
    else this.stats.raftFramesDropped++;
    return sent;
  }

  /**
   * Sends `body` to the peer's request handler and resolves with its answer. A request that fails (timeout,
   * lost link) may still have run on the peer: requests must be safe to retry.
   */
  request(to: NodeId, body: Uint8Array, timeoutMs = this.limits.requestTimeoutMs): Promise<Buffer> {
    const peer = this.peers.get(to);
    if (this.closed) return Promise.reject(new BusError('bus closed'));
    if (!peer) return Promise.reject(new BusError(`unknown peer ${to}`));
    const id = peer.nextRequestId++;
    return new Promise<Buffer>((resolve, reject) => {
      if (!this.enqueue(peer, [encodeRequest(id, body)], 'droppable')) {
        reject(new BusError(`send queue to node ${to} is full`));
        return;
      }
      const timer = setTimeout(() => {
        peer.pending.delete(id);
        reject(new BusError(`request to node ${to} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      peer.pending.set(id, { resolve, reject, timer });
      if (!peer.conn) this.scheduleDial(peer);
    });
  }

  /**
   * Streams a snapshot to a peer in chunks, at most `snapshotWindowBytes` unacknowledged at a time.
   * Resolves when the peer's sink finished; rejects if the peer refuses, the link drops or it stalls.
   */
  async sendSnapshot(to: NodeId, groupId: GroupId, index: Index, data: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
    const peer = this.peers.get(to);
    if (this.closed) throw new BusError('bus closed');
    if (!peer) throw new BusError(`unknown peer ${to}`);
    const key = streamKey(groupId, index);
    if (peer.outStreams.has(key)) throw new BusError(`snapshot ${key} is already streaming to node ${to}`);
    if (peer.outStreams.size >= this.limits.snapshotStreamsMax) {
      throw new BusError(`too many snapshot streams to node ${to}`);
    }
    let settle!: OutStream['settle'];
    const finished = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    finished.catch(() => {}); // observed below, or by the failure that ends the send loop
    const stream: OutStream = { acked: 0, lastProgressAt: performance.now(), wake: null, failed: null, settle };
    peer.outStreams.set(key, stream);
    if (!peer.conn) this.scheduleDial(peer);
    try {
      let offset = 0;
      for await (const { bytes, last } of this.chunks(data)) {
        // Wait while the window is full (a chunk alone may exceed a tiny window: it then goes alone).
        const window = this.limits.snapshotWindowBytes;
        while (offset > stream.acked && offset + bytes.length - stream.acked > window && !stream.failed) {
          await new Promise<void>((wake) => (stream.wake = wake));
        }
        if (stream.failed) throw stream.failed;
        const head = encodeSnapshotChunkHead({ groupId, index, offset, last }, bytes.length);
        if (!this.enqueue(peer, [head, bytes], 'must')) throw new BusError(`send queue to node ${to} overflowed`);
        offset += bytes.length;
      }
      await finished;
    } finally {
      if (peer.outStreams.get(key) === stream) peer.outStreams.delete(key);
    }
  }

  /** The source cut into chunks of at most snapshotChunkBytes, the final one marked (empty if need be). */
  private async *chunks(data: Uint8Array | AsyncIterable<Uint8Array>): AsyncGenerator<{ bytes: Uint8Array; last: boolean }> {
    const max = this.limits.snapshotChunkBytes;
    if (data instanceof Uint8Array) {
      for (let at = 0; ; at += max) {
        const end = Math.min(at + max, data.length);
        yield { bytes: data.subarray(at, end), last: end === data.length };
        if (end === data.length) return;
      }
    }
    let held: Uint8Array | null = null; // one chunk of lookahead, to know which is last
    for await (const piece of data) {
      for (let at = 0; at < piece.length; at += max) {
        if (held) yield { bytes: held, last: false };
        held = piece.subarray(at, Math.min(at + max, piece.length));
      }
    }
    yield { bytes: held ?? new Uint8Array(0), last: true };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    for (const peer of this.peers.values()) {
      if (peer.dialTimer) clearTimeout(peer.dialTimer);
      this.failPeerWork(peer, 'bus closed');
    }
    for (const conn of this.conns) conn.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- connections and the handshake ----

  private peerFor(id: NodeId): Peer {
    let peer = this.peers.get(id);
    if (!peer) {
      peer = {
        id,
        address: null,
        conn: null,
        dialing: null,
        dialTimer: null,
        failedDials: 0,
        queue: [],
        queueHead: 0,
        queueBytes: 0,
        pumpScheduled: false,
        nextRequestId: 1,
        pending: new Map(),
        outStreams: new Map(),
        inStreams: new Map(),
      };
      this.peers.set(id, peer);
    }
    return peer;
  }

  private dial(peer: Peer): void {
    if (this.closed || peer.conn || peer.dialing || !peer.address) return;
    if (peer.dialTimer) {
      clearTimeout(peer.dialTimer);
      peer.dialTimer = null;
    }
    const socket = createConnection(peer.address);
    const conn = this.track(socket, true, `${peer.address.host}:${peer.address.port}`);
    conn.peerId = peer.id;
    peer.dialing = conn;
    this.stats.connectionsDialed++;
    socket.once('connect', () => {
      socket.write(this.hello(peer.id, conn.nonce));
    });
  }

  /** Dials after the current backoff: base * 2^failures, capped, times a jitter in [0.5, 1). */
  private scheduleDial(peer: Peer): void {
    if (this.closed || peer.conn || peer.dialing || peer.dialTimer || !peer.address) return;
    const ceiling = Math.min(this.limits.backoffMaxMs, this.limits.backoffBaseMs * 2 ** Math.min(peer.failedDials, 20));
    const delay = ceiling * (0.5 + this.random() / 2);
    peer.dialTimer = setTimeout(() => {
      peer.dialTimer = null;
      if (this.peers.get(peer.id) === peer) this.dial(peer);
    }, delay);
    peer.dialTimer.unref();
  }

  private accept(socket: Socket): void {
    this.stats.connectionsAccepted++;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (this.closed || this.handshakes >= this.limits.handshakesMax) {
      this.options.logger?.warning('cluster bus: too many connections in handshake, refusing one', { remote });
      socket.destroy();
      return;
    }
    this.track(socket, false, remote);
  }

  private track(socket: Socket, dialed: boolean, remote: string): Conn {
    socket.setNoDelay(true);
    const conn: Conn = {
      socket,
      dialed,
      remote,
      state: 'hello',
      peerId: 0,
      nonce: randomBytes(NONCE_BYTES),
      transcript: null,
      splitter: new FrameSplitter(HANDSHAKE_FRAME_BYTES_MAX, (type, payload) => this.onFrame(conn, type, payload)),
      lastHeardAt: performance.now(),
      inboundRequests: 0,
      handshakeTimer: null,
      retireTimer: null,
    };
    this.conns.add(conn);
    if (!dialed) this.handshakes++;
    conn.handshakeTimer = setTimeout(() => this.refuse(conn, 'handshake timed out', false), this.limits.handshakeTimeoutMs);
    socket.on('data', (data: Buffer) => {
      if (conn.state === 'closed') return;
      conn.lastHeardAt = performance.now();
      this.stats.bytesReceived += data.length;
      try {
        conn.splitter.push(data);
      } catch (err) {
        if (!(err instanceof BusProtocolError || err instanceof CodecError)) throw err;
        this.refuse(conn, err.message, false);
      }
    });
    socket.on('drain', () => {
      const peer = conn.state === 'ready' ? this.peers.get(conn.peerId) : undefined;
      if (peer && peer.conn === conn) this.pump(peer);
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.onClose(conn));
    return conn;
  }

  private hello(to: NodeId, nonce: Buffer): Buffer {
    return encodeHello({ version: BUS_PROTOCOL_VERSION, clusterId: this.options.clusterId, from: this.nodeId, to, nonce });
  }

  /** Closes a connection that broke the rules; nothing it sent has reached (or will reach) the host. */
  private refuse(conn: Conn, reason: string, auth: boolean): void {
    if (conn.state === 'closed') return;
    if (auth) this.stats.authFailures++;
    else this.stats.protocolErrors++;
    this.options.logger?.warning(auth ? 'cluster bus: peer refused' : 'cluster bus: connection dropped', {
      remote: conn.remote,
      node: conn.peerId || undefined,
      reason,
    });
    this.closeConn(conn);
  }

  private closeConn(conn: Conn): void {
    if (conn.state === 'closed') return;
    conn.socket.destroy();
    this.onClose(conn);
  }

  private onFrame(conn: Conn, type: BusFrameType, payload: Buffer): void {
    if (conn.state === 'closed') return;
    if (conn.state !== 'ready') {
      this.handshake(conn, type, payload);
      return;
    }
    if (HANDSHAKE_TYPES.has(type)) throw new BusProtocolError(`handshake frame ${type} after the handshake`);
    const peer = this.peers.get(conn.peerId);
    if (!peer) return; // removed while frames were in flight
    switch (type) {
      case BusFrameType.Raft: {
        const f = decodeFrameBody(payload);
        if (f.from !== conn.peerId || f.to !== this.nodeId) {
          throw new BusProtocolError(`raft frame from ${f.from} to ${f.to} on the link with node ${conn.peerId}`);
        }
        this.stats.raftFramesReceived++;
        this.options.onRaftFrame?.(f);
        return;
      }
      case BusFrameType.Ping:
        this.enqueue(peer, [encodePing(BusFrameType.Pong, decodePingToken(payload))], 'must');
        return;
      case BusFrameType.Pong:
        decodePingToken(payload); // arrival alone proves liveness
        return;
      case BusFrameType.Request:
        this.onRequest(conn, peer, payload);
        return;
      case BusFrameType.Response: {
        const res = decodeResponse(payload);
        const pending = peer.pending.get(res.id);
        if (!pending) return; // timed out already
        peer.pending.delete(res.id);
        clearTimeout(pending.timer);
        if (res.error === null) pending.resolve(Buffer.from(res.body));
        else pending.reject(new BusError(res.error));
        return;
      }
      case BusFrameType.SnapshotChunk:
        this.onSnapshotChunk(peer, decodeSnapshotChunk(payload));
        return;
      case BusFrameType.SnapshotAck:
        this.onSnapshotAck(peer, payload);
        return;
    }
  }

  private handshake(conn: Conn, type: BusFrameType, payload: Buffer): void {
    const expected: BusFrameType =
      conn.state === 'hello' ? BusFrameType.Hello : conn.state === 'auth' ? BusFrameType.Auth : BusFrameType.AuthOk;
    if (type !== expected) throw new BusProtocolError(`frame type ${type} during the handshake`);
    if (type === BusFrameType.Hello) {
      const hello = decodeHello(payload);
      const problem =
        hello.version !== BUS_PROTOCOL_VERSION
          ? `protocol version ${hello.version}`
          : hello.clusterId !== this.options.clusterId
            ? `cluster id ${JSON.stringify(hello.clusterId)}`
            : hello.from === this.nodeId || hello.from === 0
              ? `node id ${hello.from}`
              : conn.dialed && hello.from !== conn.peerId
                ? `node id ${hello.from} instead of ${conn.peerId}`
                : hello.to !== this.nodeId
                  ? `addressed to node ${hello.to}`
                  : null;
      if (problem !== null) return this.refuse(conn, `hello with ${problem}`, true);
      conn.peerId = hello.from;
      const [dialer, acceptor] = conn.dialed ? [this.nodeId, hello.from] : [hello.from, this.nodeId];
      const [dialerNonce, acceptorNonce] = conn.dialed ? [conn.nonce, hello.nonce] : [hello.nonce, conn.nonce];
      conn.transcript = { clusterId: this.options.clusterId, dialer, acceptor, dialerNonce, acceptorNonce };
      conn.state = 'auth';
      if (!conn.dialed) {
        conn.socket.write(this.hello(hello.from, conn.nonce));
        conn.socket.write(frame(BusFrameType.Auth, authMac(this.secret, 'acceptor', conn.transcript)));
      }
      return;
    }
    if (type === BusFrameType.Auth) {
      const theirRole = conn.dialed ? 'acceptor' : 'dialer';
      if (!verifyMac(authMac(this.secret, theirRole, conn.transcript!), payload)) {
        return this.refuse(conn, 'wrong cluster secret', true);
      }
      if (conn.dialed) {
        conn.socket.write(frame(BusFrameType.Auth, authMac(this.secret, 'dialer', conn.transcript!)));
        conn.state = 'auth-ok';
      } else {
        conn.socket.write(frame(BusFrameType.AuthOk, new Uint8Array(0)));
        this.ready(conn);
      }
      return;
    }
    if (payload.length !== 0) throw new BusProtocolError('non-empty AUTH_OK');
    this.ready(conn);
  }

  private ready(conn: Conn): void {
    conn.state = 'ready';
    this.endHandshake(conn);
    conn.splitter.frameBytesMax = this.limits.frameBytesMax;
    const peer = this.peerFor(conn.peerId);
    if (peer.dialing === conn) peer.dialing = null;
    peer.failedDials = 0;
    if (peer.dialTimer) {
      clearTimeout(peer.dialTimer);
      peer.dialTimer = null;
    }
    const current = peer.conn;
    if (current) {
      // Both ends apply the same rule, so both keep the same connection.
      const dialerOf = (c: Conn) => (c.dialed ? this.nodeId : c.peerId);
      const keepCurrent = dialerOf(current) < dialerOf(conn);
      this.options.logger?.verbose('cluster bus: duplicate connection', { node: peer.id, kept: keepCurrent ? 'older' : 'newer' });
      if (keepCurrent) {
        this.retire(conn);
        return;
      }
      peer.conn = conn;
      this.retire(current);
    } else {
      peer.conn = conn;
      this.options.logger?.notice('cluster bus: peer connected', { node: peer.id, remote: conn.remote });
      this.options.onPeerUp?.(peer.id);
    }
    this.schedulePump(peer);
  }

  /**
   * Stops sending on a duplicate connection but keeps reading it for a while: the peer may have sent on
   * it before it switched to the kept one too, and those frames still count.
   */
  private retire(conn: Conn): void {
    conn.retireTimer = setTimeout(() => {
      conn.socket.end();
      conn.retireTimer = setTimeout(() => this.closeConn(conn), RETIRE_LINGER_MS);
      conn.retireTimer.unref();
    }, RETIRE_LINGER_MS);
    conn.retireTimer.unref();
  }

  private endHandshake(conn: Conn): void {
    if (conn.handshakeTimer === null) return;
    clearTimeout(conn.handshakeTimer);
    conn.handshakeTimer = null;
    if (!conn.dialed) this.handshakes--;
  }

  private onClose(conn: Conn): void {
    if (conn.state === 'closed') return;
    const wasReady = conn.state === 'ready';
    conn.state = 'closed';
    if (conn.retireTimer) clearTimeout(conn.retireTimer);
    this.endHandshake(conn);
    this.conns.delete(conn);
    const peer = conn.peerId ? this.peers.get(conn.peerId) : undefined;
    if (!peer) return;
    if (peer.dialing === conn) {
      peer.dialing = null;
      peer.failedDials++;
    }
    if (wasReady && peer.conn === conn) {
      peer.conn = null;
      // What waits in the queue was meant for the lost link: stale Raft frames, requests about to be failed.
      clearQueue(peer);
      this.options.logger?.notice('cluster bus: peer disconnected', { node: peer.id });
      this.failPeerWork(peer, `connection to node ${peer.id} lost`);
      this.options.onPeerDown?.(peer.id);
    }
    this.scheduleDial(peer);
  }

  /** Fails what depends on the link: pending requests and snapshot streams both ways. */
  private failPeerWork(peer: Peer, reason: string): void {
    for (const [id, pending] of peer.pending) {
      clearTimeout(pending.timer);
      peer.pending.delete(id);
      pending.reject(new BusError(reason));
    }
    for (const stream of peer.outStreams.values()) this.failOutStream(stream, new BusError(reason));
    peer.outStreams.clear();
    for (const stream of peer.inStreams.values()) stream.sink.abort(reason);
    peer.inStreams.clear();
  }

  // ---- the send queue ----

  /**
   * Queues a frame (its parts are written back to back). 'droppable' frames are refused once the queue
   * holds queueBytesMax (unless it is empty); 'must' frames up to twice that, past which the peer is
   * not reading and its connection is cut.
   */
  private enqueue(peer: Peer, parts: readonly Uint8Array[], kind: 'droppable' | 'must'): boolean {
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    if (bytes > this.limits.frameBytesMax + 5) return false;
    const max = this.limits.queueBytesMax;
    if (kind === 'droppable' && peer.queueBytes > 0 && peer.queueBytes + bytes > max) return false;
    if (kind === 'must' && peer.queueBytes + bytes > 2 * max) {
      if (peer.conn) this.refuse(peer.conn, 'peer does not read: send queue overflow', false);
      clearQueue(peer);
      return false;
    }
    peer.queue.push({ parts, bytes });
    peer.queueBytes += bytes;
    this.schedulePump(peer);
    return true;
  }

  /** Writes once per tick, so that all frames queued in one turn leave in one corked write. */
  private schedulePump(peer: Peer): void {
    if (peer.pumpScheduled || !peer.conn) return;
    peer.pumpScheduled = true;
    queueMicrotask(() => {
      peer.pumpScheduled = false;
      this.pump(peer);
    });
  }

  private pump(peer: Peer): void {
    const conn = peer.conn;
    if (!conn || conn.state !== 'ready') return;
    const socket = conn.socket;
    const max = this.limits.socketBytesMax;
    if (socket.writableLength >= max || peer.queueHead >= peer.queue.length) return;
    socket.cork();
    while (peer.queueHead < peer.queue.length && socket.writableLength < max) {
      const item = peer.queue[peer.queueHead]!;
      peer.queue[peer.queueHead++] = undefined;
      for (const part of item.parts) socket.write(part);
      peer.queueBytes -= item.bytes;
      this.stats.bytesSent += item.bytes;
    }
    socket.uncork();
    if (peer.queueHead === peer.queue.length) {
      peer.queue = [];
      peer.queueHead = 0;
    } else if (peer.queueHead > 1024 && peer.queueHead * 2 > peer.queue.length) {
      peer.queue = peer.queue.slice(peer.queueHead);
      peer.queueHead = 0;
    }
  }

  // ---- requests ----

  private onRequest(conn: Conn, peer: Peer, payload: Buffer): void {
    const { id, body } = decodeRequest(payload);
    const respond = (error: string | null, res: Uint8Array) =>
      this.enqueue(peer, [encodeResponse({ id, error, body: res })], 'must');
    const handler = this.options.onRequest;
    if (!handler) return void respond('ERR this node serves no bus requests', new Uint8Array(0));
    if (conn.inboundRequests >= this.limits.inboundRequestsMax) {
      return void respond('ERR too many requests in flight', new Uint8Array(0));
    }
    conn.inboundRequests++;
    Promise.resolve()
      .then(() => handler(peer.id, Buffer.from(body)))
      .then(
        (res) => respond(null, res),
        (err: unknown) => respond(err instanceof Error ? err.message : String(err), new Uint8Array(0)),
      )
      .finally(() => conn.inboundRequests--);
  }

  // ---- snapshots ----

  private onSnapshotChunk(peer: Peer, chunk: SnapshotChunk): void {
    const key = streamKey(chunk.groupId, chunk.index);
    const ack = (status: SnapshotAckStatus, received: number, reason = '') =>
      this.enqueue(peer, [encodeSnapshotAck({ groupId: chunk.groupId, index: chunk.index, received, status, reason })], 'must');
    let stream = peer.inStreams.get(key);
    if (!stream) {
      if (chunk.offset !== 0) return void ack(SnapshotAckStatus.Abort, 0, `no stream at offset ${chunk.offset}`);
      if (peer.inStreams.size >= this.limits.snapshotStreamsMax) {
        return void ack(SnapshotAckStatus.Abort, 0, 'too many snapshot streams');
      }
      const sink = this.options.onSnapshot?.(peer.id, chunk.groupId, chunk.index) ?? null;
      if (!sink) return void ack(SnapshotAckStatus.Abort, 0, 'snapshot refused');
      stream = { sink, expected: 0, acked: 0, chain: Promise.resolve() };
      peer.inStreams.set(key, stream);
    }
    const s = stream;
    const abort = (reason: string) => {
      if (peer.inStreams.get(key) !== s) return;
      peer.inStreams.delete(key);
      s.sink.abort(reason);
      ack(SnapshotAckStatus.Abort, s.expected, reason);
    };
    if (chunk.offset !== s.expected) return abort(`chunk at offset ${chunk.offset}, expected ${s.expected}`);
    s.expected += chunk.data.length;
    if (s.expected - s.acked > 2 * this.limits.snapshotWindowBytes + chunk.data.length) return abort('sender ignores the window');
    const end = s.expected;
    s.chain = s.chain
      .then(async () => {
        if (peer.inStreams.get(key) !== s) return;
        await s.sink.write(chunk.data);
        if (chunk.last) await s.sink.finish();
        if (peer.inStreams.get(key) !== s) return;
        s.acked = end;
        if (chunk.last) peer.inStreams.delete(key);
        ack(chunk.last ? SnapshotAckStatus.Done : SnapshotAckStatus.Progress, end);
      })
      .catch((err: unknown) => abort(`sink failed: ${err instanceof Error ? err.message : String(err)}`));
  }

  private onSnapshotAck(peer: Peer, payload: Buffer): void {
    const a = decodeSnapshotAck(payload);
    const key = streamKey(a.groupId, a.index);
    const stream = peer.outStreams.get(key);
    if (!stream) return;
    stream.lastProgressAt = performance.now();
    if (a.status === SnapshotAckStatus.Abort) {
      peer.outStreams.delete(key);
      this.failOutStream(stream, new BusError(`node ${peer.id} aborted snapshot ${key}: ${a.reason}`));
      return;
    }
    stream.acked = Math.max(stream.acked, a.received);
    stream.wake?.();
    stream.wake = null;
    if (a.status === SnapshotAckStatus.Done) {
      peer.outStreams.delete(key);
      stream.settle.resolve();
    }
  }

  private failOutStream(stream: OutStream, err: Error): void {
    stream.failed ??= err;
    stream.wake?.();
    stream.wake = null;
    stream.settle.reject(err);
  }

  // ---- liveness ----

  private tick(): void {
    const now = performance.now();
    const token = Buffer.alloc(8);
    token.writeDoubleBE(now);
    for (const peer of this.peers.values()) {
      const conn = peer.conn;
      if (conn) {
        if (now - conn.lastHeardAt > this.limits.deadAfterMs) {
          this.options.logger?.warning('cluster bus: peer silent, closing', { node: peer.id });
          this.closeConn(conn);
        } else {
          this.enqueue(peer, [encodePing(BusFrameType.Ping, token)], 'must');
        }
      }
      for (const [key, stream] of peer.outStreams) {
        if (now - stream.lastProgressAt > this.limits.snapshotStallMs) {
          peer.outStreams.delete(key);
          this.failOutStream(stream, new BusError(`snapshot ${key} to node ${peer.id} stalled`));
        }
      }
    }
  }
}
