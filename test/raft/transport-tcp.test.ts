import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import type { CoalescedHeartbeat, Frame } from '../../src/raft/multi/ports.js';
import { TcpTransport, decodeFrameBody, encodeFrame } from '../../src/raft/transport-tcp.js';
import { Rand } from './fixtures/storage-fixtures.js';

/** Byte fields as hex strings, so Buffer and Uint8Array compare equal. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(check(), what);
}

function heartbeats(rand: Rand): CoalescedHeartbeat[] {
  return Array.from({ length: rand.int(5) }, () => ({
    groupId: rand.int(1000),
    term: rand.number(),
    commit: rand.number(),
    context: rand.int(2) === 0 ? null : rand.bytes(8),
    quiesce: rand.int(2) === 0,
  }));
}

test('frames carry messages and heartbeats of many groups, in order, whatever the TCP segmentation', async () => {
  const received: Frame[] = [];
  const b = await TcpTransport.listen({ onFrame: (frame) => received.push(frame) });
  const a = await TcpTransport.listen({ onFrame: () => undefined });
  try {
    a.addPeer(2, '127.0.0.1', b.port);
    const rand = new Rand(21);
    const sent: Frame[] = [];
    for (let f = 0; f < 50; f++) {
      const messages = Array.from({ length: rand.int(20) }, () => ({
        groupId: rand.int(1000),
        message: rand.message(),
      }));
      // One big snapshot message, so some frames span many TCP segments.
      if (f === 10) {
        const snapshot = { metadata: rand.snapshotMetadata(), data: Buffer.alloc(300_000, 7) };
        messages.push({ groupId: 7, message: { ...rand.message(), snapshot } });
      }
      const frame: Frame = { from: 1, to: 2, messages, heartbeats: heartbeats(rand), heartbeatResps: heartbeats(rand) };
      assert.equal(a.send(frame), true);
      sent.push(frame);
    }
    await until(() => received.length === sent.length, 'every frame arrives');
    assert.deepEqual(plain(received), plain(sent));
    assert.equal(b.stats.framesReceived, 50);
    assert.equal(a.send({ ...sent[0]!, to: 9 }), false, 'unknown peer: dropped');
  } finally {
    await a.close();
    await b.close();
  }
});

test('a peer sending an oversized or malformed frame is disconnected', async () => {
  const received: Frame[] = [];
  const t = await TcpTransport.listen({ onFrame: (frame) => received.push(frame), frameBytesMax: 1000 });
  try {
    for (const bytes of [Buffer.from([0, 0, 0x10, 0, 1, 2, 3]), Buffer.from([0, 0, 0, 3, 1, 5, 0xff])]) {
      const socket = createConnection({ port: t.port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      socket.write(bytes);
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    }
    assert.equal(received.length, 0);
    const messages = [{ groupId: 1, message: new Rand(1).message() }];
    const frame: Frame = { from: 3, to: 1, messages, heartbeats: [], heartbeatResps: [] };
    assert.deepEqual(plain(decodeFrameBody(encodeFrame(frame).subarray(4))), plain(frame));
  } finally {
    await t.close();
  }
});

test('a peer that goes away costs dropped frames only; it is re-dialled when it returns', async () => {
  const frame = (n: number): Frame => ({
    from: 1,
    to: 2,
    messages: [{ groupId: n, message: new Rand(n).message() }],
    heartbeats: [],
    heartbeatResps: [],
  });
  const a = await TcpTransport.listen({ onFrame: () => undefined, redialDelayMs: 10 });
  let b = await TcpTransport.listen({ onFrame: () => undefined });
  const port = b.port;
  await b.close();
  try {
    a.addPeer(2, '127.0.0.1', port);
    a.send(frame(1)); // dials, fails
    await until(() => !a.send(frame(2)), 'the failed connection is noticed and frames are dropped');
    const received: Frame[] = [];
    b = await TcpTransport.listen({ port, onFrame: (f) => received.push(f) });
    await until(() => {
      a.send(frame(3));
      return received.length > 0;
    }, 'frames flow again after the re-dial');
    assert.equal(received[0]!.messages[0]!.groupId, 3);
    assert.ok(a.stats.framesDropped > 0);
  } finally {
    await a.close();
    await b.close();
  }
});
