// DUMP payload codec: CRC64 (Jones), length and string encodings, LZF, verification, extension point.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  RdbReader,
  RdbWriter,
  crc64,
  dumpValue,
  loadDumpPayload,
  registerRdbType,
  verifyDumpPayload,
} from '../../src/store/dump.js';
import { FakeCollection } from './harness.js';

test('crc64 is Redis crc64 (Jones): check value of "123456789"', () => {
  assert.equal(Buffer.from(crc64('123456789'), 'latin1').readBigUInt64LE(0), 0xe9c6d914c4b8d9can);
});

test('strings round-trip through every length and integer encoding', () => {
  const values = ['', 'a', '0', '-1', '127', '-128', '128', '32767', '-32769', '2147483647', '2147483648', '007', '-0',
    'x'.repeat(63), 'y'.repeat(64), 'z'.repeat(16383), 'w'.repeat(16384), '\x00\xff\x80binary'];
  for (const value of values) {
    const payload = dumpValue(value)!;
    assert.ok(verifyDumpPayload(payload), `verifies ${value.slice(0, 10)}`);
    assert.equal(loadDumpPayload(payload), value);
  }
});

test('corruption, a newer RDB version, and truncation are refused', () => {
  const payload = dumpValue('hello')!;
  for (let i = 0; i < payload.length; i++) {
    const broken = payload.slice(0, i) + String.fromCharCode(payload.charCodeAt(i) ^ 0x10) + payload.slice(i + 1);
    assert.equal(verifyDumpPayload(broken), false, `byte ${i} flipped`);
  }
  assert.equal(verifyDumpPayload(payload.slice(0, 9)), false);
  const body = payload.slice(0, payload.length - 10) + '\x0b\x00';
  assert.equal(verifyDumpPayload(body + crc64(body)), false, 'RDB version 11 is newer than 7.0');
  const truncated = '\x00\x05hel' + '\x0a\x00';
  assert.throws(() => loadDumpPayload(truncated + crc64(truncated)));
});

test('collection types plug in through registerRdbType', () => {
  registerRdbType('zset', {
    loadTypes: [200],
    load(_type, reader) {
      return new FakeCollection('zset', Number(reader.readString()));
    },
    save(value, writer) {
      writer.writeString(String(value.memoryBytes()));
      return 200;
    },
  });
  const payload = dumpValue(new FakeCollection('zset', 77))!;
  assert.equal(payload.charCodeAt(0), 200);
  const loaded = loadDumpPayload(payload);
  assert.ok(loaded instanceof FakeCollection && loaded.bytes === 77);
  const w = new RdbWriter();
  w.writeLength(70000);
  w.writeBinaryDouble(1.5);
  const r = new RdbReader(w.toString());
  assert.equal(r.readLength(), 70000);
  assert.equal(r.readBinaryDouble(), 1.5);
});
