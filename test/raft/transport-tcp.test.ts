import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { TcpTransport, decodeFrameBody, encodeFrame, type GroupMessage } from '../../src/raft/transport-tcp.js';
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

test('frames carry the messages of many groups, in order, whatever the TCP segmentation', async () => {
  const received: GroupMessage[] = [];
  const b = await TcpTransport.listen({ onMessages: (batch) => received.push(...batch) });
  const a = await TcpTransport.listen({ onMessages: () => undefined });
  try {
    a.addPeer(2, '127.0.0.1', b.port);
    const rand = new Rand(21);
    const sent: GroupMessage[] = [];
    for (let f = 0; f < 50; f++) {
      const batch = Array.from({ length: 1 + rand.int(20) }, () => ({
        groupId: rand.int(1000),
        message: rand.message(),
      }));
      // One big snapshot message, so some frames span many TCP segments.
      if (f === 10) {
        const snapshot = { metadata: rand.snapshotMetadata(), data: Buffer.alloc(300_000, 7) };
        batch.push({ groupId: 7, message: { ...rand.message(), snapshot } });
      }
      assert.equal(a.send(2, batch), true);
      sent.push(...batch);
    }
    await until(() => received.length === sent.length, 'every message arrives');
    assert.deepEqual(plain(received), plain(sent));
    assert.equal(b.stats.framesReceived, 50);
    assert.equal(a.send(9, sent.slice(0, 1)), false, 'unknown peer: dropped');
  } finally {
    await a.close();
    await b.close();
  }
});

test('a peer sending an oversized or malformed frame is disconnected', async () => {
  const received: GroupMessage[] = [];
  const t = await TcpTransport.listen({ onMessages: (batch) => received.push(...batch), frameBytesMax: 1000 });
  try {
    for (const bytes of [Buffer.from([0, 0, 0x10, 0, 1, 2, 3]), Buffer.from([0, 0, 0, 3, 1, 5, 0xff])]) {
      const socket = createConnection({ port: t.port, host: '127.0.0.1' });
      socket.on('error', () => undefined);
      socket.write(bytes);
      await new Promise<void>((resolve) => socket.on('close', () => resolve()));
    }
    assert.equal(received.length, 0);
    const good = encodeFrame([{ groupId: 1, message: new Rand(1).message() }]);
    assert.equal(decodeFrameBody(good.subarray(4)).length, 1);
  } finally {
    await t.close();
  }
});
