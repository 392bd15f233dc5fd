import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import CRC32 from 'crc-32';
import type { Frame } from '../../src/raft/multi/ports.js';
import { encodeFrame } from '../../src/raft/transport-tcp.js';
import { MessageType, type Message } from '../../src/raft/types.js';
import { ClusterBus, type BusLimits, type BusOptions, type SnapshotSink } from '../../src/server/bus.js';
import {
  BUS_PROTOCOL_VERSION,
  BusFrameType,
  FrameSplitter,
  authMac,
  decodeHello,
  encodeHello,
  frame,
} from '../../src/server/bus-protocol.js';
import { Logger } from '../../src/server/logger.js';

const SECRET = 'correct horse battery staple';
const CLUSTER = 'test-cluster';
const FAST: Partial<BusLimits> = {
  pingIntervalMs: 100,
  deadAfterMs: 2000,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  handshakeTimeoutMs: 1000,
  requestTimeoutMs: 2000,
};

interface TestBus {
  bus: ClusterBus;
  frames: Frame[];
  logs: string[];
}

async function startBus(nodeId: number, options: Partial<BusOptions> = {}): Promise<TestBus> {
  const frames: Frame[] = [];
  const logs: string[] = [];
  let seed = nodeId * 7919;
  const bus = await ClusterBus.listen({
    nodeId,
    clusterId: CLUSTER,
    secret: SECRET,
    onRaftFrame: (f) => frames.push(f),
    onRequest: (from, body) => {
      const text = body.toString('latin1');
      if (text === 'fail') throw new Error('ERR asked to fail');
      return Buffer.from(`node ${nodeId} got "${text}" from ${from}`, 'latin1');
    },
    logger: new Logger('verbose', '', (line) => logs.push(line)),
    random: () => ((seed = (seed * 48271) % 2147483647) / 2147483647),
    ...options,
    limits: { ...FAST, ...options.limits },
  });
  return { bus, frames, logs };
}

function link(a: ClusterBus, b: ClusterBus): void {
  a.addPeer(b.nodeId, '127.0.0.1', b.port);
  b.addPeer(a.nodeId, '127.0.0.1', a.port);
}

async function until(check: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

const tick = () => new Promise((r) => setImmediate(r));

const payloads = new Map<string, Buffer>();
/** Entry data, shared between frames so that the tests themselves allocate little. */
function payload(bytes: number, fill: number): Buffer {
  const key = `${bytes}:${fill}`;
  let buf = payloads.get(key);
  if (!buf) payloads.set(key, (buf = Buffer.alloc(bytes, fill)));
  return buf;
}

function message(from: number, to: number, n: number, entryBytes = 16): Message {
  return {
    type: MessageType.App,
    from,
    to,
    term: 3,
    index: n,
    logTerm: 3,
    commit: n,
    entries: [{ term: 3, index: n + 1, type: 0, data: payload(entryBytes, n % 251) }],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: null,
  };
}

function raftFrame(from: number, to: number, n: number, entryBytes = 16): Frame {
  return {
    from,
    to,
    messages: [{ groupId: n % 7, message: message(from, to, n, entryBytes) }],
    heartbeats: [{ groupId: 9, term: 3, commit: n, context: null, quiesce: n % 2 === 0 }],
    heartbeatResps: [],
  };
}

/** Byte fields as hex, so Buffer and Uint8Array compare equal. */
/** A full garbage collection, so that memory figures count only what is still held. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

/** Resolves when the bus has hung up on `socket` (reading on, so that its end is seen). */
function closed(socket: Socket): Promise<void> {
  socket.resume();
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  return socket;
}

/**
 * Dials a bus by hand and runs the dialer's side of the handshake with `secret`; resolves with the
 * socket once the bus answered AUTH_OK (or rejects if the bus hung up).
 */
async function rawPeer(port: number, secret: string, from: number, to: number): Promise<Socket> {
  const socket = await open(port);
  const nonce = randomBytes(32);
  const got: { type: BusFrameType; payload: Buffer }[] = [];
  const splitter = new FrameSplitter(1 << 20, (type, payload) => got.push({ type, payload: Buffer.from(payload) }));
  const onData = (d: Buffer) => splitter.push(d);
  socket.on('data', onData);
  socket.write(encodeHello({ version: BUS_PROTOCOL_VERSION, clusterId: CLUSTER, from, to, nonce }));
  await until(() => got.length >= 2 || socket.destroyed, 'bus answers hello');
  if (socket.destroyed) throw new Error('bus hung up');
  const hello = decodeHello(got[0]!.payload);
  const transcript = { clusterId: CLUSTER, dialer: from, acceptor: to, dialerNonce: nonce, acceptorNonce: hello.nonce };
  socket.write(frame(BusFrameType.Auth, authMac(Buffer.from(secret), 'dialer', transcript)));
  await until(() => got.length >= 3 || socket.destroyed, 'bus answers auth');
  socket.off('data', onData);
  if (socket.destroyed || got[2]!.type !== BusFrameType.AuthOk) throw new Error('refused');
  return socket;
}

test('two buses exchange raft frames and requests both ways, authenticated', async () => {
  const a = await startBus(1);
  const b = await startBus(2);
  try {
    link(a.bus, b.bus);
    await until(() => a.bus.isConnected(2) && b.bus.isConnected(1), 'connected');
    const toB = Array.from({ length: 50 }, (_, i) => raftFrame(1, 2, i, i === 10 ? 300_000 : 16));
    const toA = Array.from({ length: 20 }, (_, i) => raftFrame(2, 1, i));
    for (const f of toB) assert.equal(a.bus.sendRaft(f), true);
    for (const f of toA) b.bus.transport.send(f);
    await until(() => b.frames.length === 50 && a.frames.length === 20, 'all frames arrive');
    assert.deepEqual(plain(b.frames), plain(toB), 'in order and intact');
    assert.deepEqual(plain(a.frames), plain(toA));

    const answers = await Promise.all([
      a.bus.request(2, Buffer.from('hello')),
      b.bus.request(1, Buffer.from('hi')),
      a.bus.request(2, Buffer.from('again')),
    ]);
    assert.deepEqual(
      answers.map((x) => x.toString()),
      ['node 2 got "hello" from 1', 'node 1 got "hi" from 2', 'node 2 got "again" from 1'],
    );
    await assert.rejects(a.bus.request(2, Buffer.from('fail')), /ERR asked to fail/);
    await assert.rejects(a.bus.request(5, Buffer.from('x')), /unknown peer 5/);
    assert.equal(a.bus.sendRaft(raftFrame(1, 9, 0)), false, 'unknown peer: dropped');
    assert.equal(a.bus.stats.authFailures + b.bus.stats.authFailures, 0);
    assert.equal(a.bus.stats.protocolErrors + b.bus.stats.protocolErrors, 0);
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('three buses in a mesh: one connection per pair, frames and requests between all', async () => {
  const nodes = await Promise.all([1, 2, 3].map((id) => startBus(id)));
  try {
    const [n1, n2, n3] = nodes as [TestBus, TestBus, TestBus];
    link(n1.bus, n2.bus);
    link(n1.bus, n3.bus);
    link(n2.bus, n3.bus);
    const all = (x: TestBus, ids: number[]) => ids.every((id) => x.bus.isConnected(id));
    await until(() => all(n1, [2, 3]) && all(n2, [1, 3]) && all(n3, [1, 2]), 'mesh connected');
    for (const from of nodes) {
      for (const to of nodes) {
        if (from === to) continue;
        for (let i = 0; i < 10; i++) assert.equal(from.bus.sendRaft(raftFrame(from.bus.nodeId, to.bus.nodeId, i)), true);
      }
    }
    await until(() => nodes.every((x) => x.frames.length === 20), 'every node gets 10 frames from each other');
    for (const x of nodes) {
      for (const f of x.frames) assert.equal(f.to, x.bus.nodeId);
      const froms = new Set(x.frames.map((f) => f.from));
      assert.equal(froms.size, 2);
    }
    assert.equal((await n3.bus.request(1, Buffer.from('q'))).toString(), 'node 1 got "q" from 3');
    assert.equal((await n1.bus.request(3, Buffer.from('r'))).toString(), 'node 3 got "r" from 1');
    // Both ends dialed each other at some point at most: the survivors of the tie-break are one per pair.
    await new Promise((r) => setTimeout(r, 100));
    for (const x of nodes) for (const id of [1, 2, 3]) if (id !== x.bus.nodeId) assert.ok(x.bus.isConnected(id));
  } finally {
    for (const x of nodes) await x.bus.close();
  }
});

test('simultaneous dials from both sides settle on one connection that both ends keep', async () => {
  const a = await startBus(1);
  const b = await startBus(2, { limits: { backoffBaseMs: 0.01 } }); // the higher id dials almost at once too
  try {
    link(b.bus, a.bus);
    await until(() => a.bus.isConnected(2) && b.bus.isConnected(1), 'connected');
    await new Promise((r) => setTimeout(r, 150)); // let any duplicate connection be resolved
    const duplicates = [...a.logs, ...b.logs].filter((l) => l.includes('duplicate connection'));
    assert.ok(duplicates.length >= 1, 'both dialed, and the tie-break ran');
    assert.ok(![...a.logs, ...b.logs].some((l) => l.includes('peer disconnected')), 'without a flap');
    for (let i = 0; i < 5; i++) a.bus.sendRaft(raftFrame(1, 2, i));
    for (let i = 0; i < 5; i++) b.bus.sendRaft(raftFrame(2, 1, i));
    await until(() => a.frames.length === 5 && b.frames.length === 5, 'frames flow on the surviving link');
    assert.equal((await b.bus.request(1, Buffer.from('x'))).toString(), 'node 1 got "x" from 2');
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('a peer with the wrong secret is refused and logged, and the host sees nothing from it', async () => {
  const a = await startBus(1);
  const intruder = await startBus(2, { secret: 'guess' });
  const otherCluster = await startBus(3, { clusterId: 'elsewhere' });
  try {
    // The intruder dials A, and A dials the intruder: refused both ways.
    link(a.bus, intruder.bus);
    link(a.bus, otherCluster.bus);
    await until(() => a.bus.stats.authFailures >= 4, 'refused in both directions, for both');
    for (let i = 0; i < 5; i++) {
      assert.equal(intruder.bus.sendRaft(raftFrame(2, 1, i)), false);
      assert.equal(a.bus.sendRaft(raftFrame(1, 2, i)), false);
    }
    await assert.rejects(intruder.bus.request(1, Buffer.from('x'), 200), /timed out/);
    assert.equal(a.bus.isConnected(2), false);
    assert.equal(intruder.bus.isConnected(1), false);
    assert.equal(a.frames.length, 0);
    assert.equal(intruder.frames.length, 0);
    assert.ok(a.logs.some((l) => l.includes('"reason":"wrong cluster secret"') && l.includes('"level":"warning"')));
    assert.ok(a.logs.some((l) => l.includes('cluster id \\"elsewhere\\"')));

    // A hand-made peer that skips the proof and sends a Raft frame at once gets nowhere either.
    const raw = await open(a.bus.port);
    const nonce = randomBytes(32);
    raw.write(encodeHello({ version: BUS_PROTOCOL_VERSION, clusterId: CLUSTER, from: 7, to: 1, nonce }));
    raw.write(frame(BusFrameType.Raft, Buffer.alloc(10)));
    await closed(raw);
    await assert.rejects(rawPeer(a.bus.port, 'guess', 8, 1), /refused|hung up/);
    assert.equal(a.frames.length, 0);
  } finally {
    await a.bus.close();
    await intruder.bus.close();
    await otherCluster.bus.close();
  }
});

test('garbage, a huge declared length or a half frame: the connection is dropped, the bus serves others', async () => {
  const a = await startBus(1, { limits: { frameBytesMax: 1 << 20 } });
  const b = await startBus(2);
  try {
    link(a.bus, b.bus);
    await until(() => a.bus.isConnected(2), 'connected');

    const garbage = await open(a.bus.port);
    garbage.write('GET foo\r\nPING\r\n');
    await closed(garbage);

    const huge = await open(a.bus.port);
    huge.write(Buffer.from([0xff, 0xff, 0xff, 0xf0, BusFrameType.Hello]));
    await closed(huge);

    const unknownType = await open(a.bus.port);
    unknownType.write(Buffer.from([0, 0, 0, 1, 200]));
    await closed(unknownType);

    const half = await open(a.bus.port);
    half.write(encodeHello({ version: 1, clusterId: CLUSTER, from: 5, to: 1, nonce: randomBytes(32) }).subarray(0, 20));
    half.end();
    await closed(half);

    const silent = await open(a.bus.port); // says nothing: the handshake deadline closes it
    await closed(silent);

    // Authenticated but then oversized, or garbage after the handshake: dropped too.
    const big = await rawPeer(a.bus.port, SECRET, 6, 1);
    big.write(Buffer.from([0x00, 0x20, 0x00, 0x00, BusFrameType.Raft]));
    await closed(big);
    const bad = await rawPeer(a.bus.port, SECRET, 6, 1);
    bad.write(frame(BusFrameType.Raft, Buffer.from('not a raft frame')));
    await closed(bad);
    const spoof = await rawPeer(a.bus.port, SECRET, 6, 1); // a frame claiming to come from node 2
    const body = encodeFrame(raftFrame(2, 1, 0)).subarray(4);
    spoof.write(frame(BusFrameType.Raft, body));
    await closed(spoof);

    assert.equal(a.frames.length, 0, 'nothing reached the host');
    assert.ok(a.bus.stats.protocolErrors >= 7, `protocol errors: ${a.bus.stats.protocolErrors}`);
    assert.ok(a.logs.some((l) => l.includes('frame length 4294967280 outside')));
    assert.ok(a.logs.some((l) => l.includes('handshake timed out')));

    // The good peer never noticed.
    assert.equal(a.bus.isConnected(2), true);
    for (let i = 0; i < 3; i++) b.bus.sendRaft(raftFrame(2, 1, i));
    await until(() => a.frames.length === 3, 'frames from the good peer still arrive');
    assert.equal((await b.bus.request(1, Buffer.from('ok?'))).toString(), 'node 1 got "ok?" from 2');
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('reconnects with backoff after the peer restarts; work in flight fails cleanly', async () => {
  const ups: number[] = [];
  const downs: number[] = [];
  const a = await startBus(1, { onPeerUp: (id) => ups.push(id), onPeerDown: (id) => downs.push(id) });
  let b = await startBus(2, { onRequest: () => new Promise(() => {}) }); // never answers
  const port = b.bus.port;
  try {
    link(a.bus, b.bus);
    await until(() => a.bus.isConnected(2), 'connected');
    const hanging = a.bus.request(2, Buffer.from('never answered'));
    await new Promise((r) => setTimeout(r, 20));
    await b.bus.close();
    await assert.rejects(hanging, /connection to node 2 lost/);
    await until(() => downs.length === 1, 'peer down reported');
    assert.equal(a.bus.sendRaft(raftFrame(1, 2, 0)), false, 'dropped while down');

    await new Promise((r) => setTimeout(r, 300)); // a few failed dials: the backoff grows
    b = await startBus(2, { port });
    b.bus.addPeer(1, '127.0.0.1', a.bus.port);
    await until(() => a.bus.isConnected(2) && b.bus.isConnected(1), 'reconnected', 4000);
    assert.deepEqual(ups, [2, 2]);
    for (let i = 0; i < 5; i++) assert.equal(a.bus.sendRaft(raftFrame(1, 2, i)), true);
    await until(() => b.frames.length === 5, 'frames flow again');
    assert.equal((await a.bus.request(2, Buffer.from('back'))).toString(), 'node 2 got "back" from 1');
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('a peer that stops reading cannot make the sender hold more than its bounds', async () => {
  const queueBytesMax = 1 << 20;
  const a = await startBus(1, { limits: { queueBytesMax, socketBytesMax: 256 << 10, deadAfterMs: 60_000 } });
  const slow = await rawPeer(a.bus.port, SECRET, 2, 1);
  slow.pause(); // reads nothing more: the kernel buffers fill, then the bus's
  try {
    await until(() => a.bus.isConnected(2), 'slow peer authenticated');
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    let maxQueued = 0;
    let maxHeld = 0;
    let sent = 0;
    for (let round = 0; round < 100; round++) {
      for (let i = 0; i < 20; i++) if (a.bus.sendRaft(raftFrame(1, 2, i, 64 << 10))) sent++;
      maxQueued = Math.max(maxQueued, a.bus.queuedBytes(2));
      await tick();
      maxHeld = Math.max(maxHeld, a.bus.heldBytes(2));
    }
    // 2000 frames of 64 KiB (125 MiB) offered.
    assert.ok(maxQueued <= queueBytesMax + (70 << 10), `queue stayed bounded: ${maxQueued}`);
    assert.ok(maxHeld <= queueBytesMax + (256 << 10) + (140 << 10), `queue and socket bounded: ${maxHeld}`);
    assert.ok(a.bus.stats.raftFramesDropped > 1000, `most frames dropped: ${a.bus.stats.raftFramesDropped}`);
    assert.ok(sent < 400, `sent ${sent}`);
    collectGarbage();
    const grown = process.memoryUsage().arrayBuffers - before;
    if (process.env.BUS_TEST_VERBOSE) console.log({ maxQueued, maxHeld, sent, dropped: a.bus.stats.raftFramesDropped, grown });
    assert.ok(grown < 8 << 20, `buffers grew by ${grown} bytes`);
    // The queue is within one frame of its bound: a request bigger than the room left is refused at once.
    await assert.rejects(a.bus.request(2, Buffer.alloc(100 << 10)), /send queue to node 2 is full/);
    assert.equal(a.bus.isConnected(2), true, 'raft frames alone never cut the link');
  } finally {
    slow.destroy();
    await a.bus.close();
  }
});

test('a peer that floods pings but never reads its pongs is cut off at twice the queue bound', async () => {
  const a = await startBus(1, { limits: { queueBytesMax: 64 << 10, socketBytesMax: 16 << 10, deadAfterMs: 60_000 } });
  const flooder = await rawPeer(a.bus.port, SECRET, 2, 1);
  flooder.pause();
  try {
    await until(() => a.bus.isConnected(2), 'authenticated');
    const ping = frame(BusFrameType.Ping, Buffer.alloc(8));
    flooder.write(Buffer.concat(Array.from({ length: 1 << 20 }, () => ping))); // 13 MiB of pings
    await until(() => !a.bus.isConnected(2), 'cut off', 10_000);
    assert.ok(a.logs.some((l) => l.includes('send queue overflow')));
    assert.ok(a.bus.heldBytes(2) === 0);
  } finally {
    flooder.destroy();
    await a.bus.close();
  }
});

test('a peer that goes silent (no frames, no pongs) is declared down', async () => {
  const downs: number[] = [];
  const a = await startBus(1, { onPeerDown: (id) => downs.push(id), limits: { pingIntervalMs: 50, deadAfterMs: 300 } });
  const mute = await rawPeer(a.bus.port, SECRET, 2, 1); // authenticates, then never answers a ping
  try {
    await until(() => a.bus.isConnected(2), 'authenticated');
    const start = Date.now();
    await until(() => downs.length === 1, 'declared down');
    assert.ok(Date.now() - start >= 250, 'not before the deadline');
    assert.equal(a.bus.isConnected(2), false);
    assert.ok(a.logs.some((l) => l.includes('peer silent')));
  } finally {
    mute.destroy();
    await a.bus.close();
  }
});

test('a 20 MB snapshot streams in window-limited chunks and arrives intact', async () => {
  const window = 1 << 20;
  const limits = { snapshotChunkBytes: 128 << 10, snapshotWindowBytes: window };
  const received: Buffer[] = [];
  let finished = 0;
  let maxUnacked = 0;
  let a: TestBus | null = null;
  const b = await startBus(2, {
    limits,
    onSnapshot: (from, groupId, index) => {
      assert.deepEqual([from, groupId, index], [1, 42, 1000]);
      const sink: SnapshotSink = {
        write: async (data) => {
          received.push(Buffer.from(data));
          maxUnacked = Math.max(maxUnacked, a!.bus.queuedBytes(2));
          await new Promise((r) => setTimeout(r, 1)); // a slow disk: the sender must wait for acks
        },
        finish: () => void finished++,
        abort: (reason) => assert.fail(`aborted: ${reason}`),
      };
      return sink;
    },
  });
  a = await startBus(1, { limits });
  try {
    link(a.bus, b.bus);
    await until(() => a.bus.isConnected(2), 'connected');
    const data = randomBytes(20 << 20);
    await a.bus.sendSnapshot(2, 42, 1000, data);
    const got = Buffer.concat(received);
    assert.equal(got.length, data.length);
    assert.equal(CRC32.buf(got), CRC32.buf(data), 'CRC matches');
    assert.equal(finished, 1);
    assert.equal(received.length, 160, 'cut into 128 KiB chunks');
    assert.ok(maxUnacked <= window + (128 << 10), `never more than the window queued: ${maxUnacked}`);

    // An async source of odd-sized pieces, then a refused stream, then one the sink fails.
    received.length = 0;
    async function* pieces() {
      for (let i = 0; i < 10; i++) yield data.subarray(i * 100_003, (i + 1) * 100_003);
    }
    await a.bus.sendSnapshot(2, 42, 1000, pieces());
    assert.equal(CRC32.buf(Buffer.concat(received)), CRC32.buf(data.subarray(0, 1_000_030)));
    assert.equal(finished, 2);
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('a refused or failing snapshot rejects the sender, and a lost link fails it', async () => {
  let mode: 'refuse' | 'fail' | 'hang' = 'refuse';
  const aborts: string[] = [];
  const b = await startBus(2, {
    onSnapshot: () =>
      mode === 'refuse'
        ? null
        : {
            write: () => (mode === 'fail' ? Promise.reject(new Error('disk full')) : new Promise(() => {})),
            finish: () => {},
            abort: (reason) => void aborts.push(reason),
          },
  });
  const a = await startBus(1);
  try {
    link(a.bus, b.bus);
    await until(() => a.bus.isConnected(2), 'connected');
    await assert.rejects(a.bus.sendSnapshot(2, 1, 5, Buffer.alloc(1000)), /snapshot refused/);
    mode = 'fail';
    await assert.rejects(a.bus.sendSnapshot(2, 1, 6, Buffer.alloc(1000)), /sink failed: disk full/);
    assert.deepEqual(aborts, ['sink failed: disk full']);
    mode = 'hang';
    const stuck = a.bus.sendSnapshot(2, 1, 7, Buffer.alloc(1000));
    await new Promise((r) => setTimeout(r, 50));
    await assert.rejects(a.bus.sendSnapshot(2, 1, 7, Buffer.alloc(10)), /already streaming/);
    await b.bus.close();
    await assert.rejects(stuck, /connection to node 2 lost/);
    assert.equal(aborts[1], 'bus closed');
  } finally {
    await a.bus.close();
    await b.bus.close();
  }
});

test('the bus refuses to start without a cluster secret', async () => {
  await assert.rejects(ClusterBus.listen({ nodeId: 1, clusterId: CLUSTER, secret: '' }), /needs a cluster secret/);
});
