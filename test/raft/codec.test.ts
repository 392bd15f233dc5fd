import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ByteReader,
  ByteWriter,
  CODEC_VERSION,
  CodecError,
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeMessage,
  decodeSnapshotMetadata,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeMessage,
  encodeSnapshotMetadata,
} from '../../src/raft/codec.js';
import { Rand } from './fixtures/storage-fixtures.js';

interface Kind<T> {
  name: string;
  make(r: Rand): T;
  encode(v: T): Buffer;
  decode(b: Uint8Array): T;
}

const kinds: Kind<any>[] = [
  { name: 'entry', make: (r) => r.entry(), encode: encodeEntry, decode: decodeEntry },
  { name: 'hard state', make: (r) => r.hardState(), encode: encodeHardState, decode: decodeHardState },
  { name: 'conf state', make: (r) => r.confState(), encode: encodeConfState, decode: decodeConfState },
  {
    name: 'snapshot metadata',
    make: (r) => r.snapshotMetadata(),
    encode: encodeSnapshotMetadata,
    decode: decodeSnapshotMetadata,
  },
  { name: 'message', make: (r) => r.message(), encode: encodeMessage, decode: decodeMessage },
];

/** Byte fields decode as Uint8Array copies; compare them as plain arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return Array.from(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

for (const kind of kinds) {
  test(`${kind.name}: random values round-trip`, () => {
    const r = new Rand(1234);
    for (let i = 0; i < 500; i++) {
      const value = kind.make(r);
      const bytes = kind.encode(value);
      assert.equal(bytes[0], CODEC_VERSION);
      assert.deepEqual(plain(kind.decode(bytes)), plain(value), `case ${i}`);
    }
  });

  test(`${kind.name}: every truncation and any trailing byte is a CodecError`, () => {
    const r = new Rand(99);
    for (let i = 0; i < 20; i++) {
      const bytes = kind.encode(kind.make(r));
      for (let len = 0; len < bytes.length; len++) {
        assert.throws(() => kind.decode(bytes.subarray(0, len)), CodecError, `prefix ${len} of ${bytes.length}`);
      }
      const longer = Buffer.concat([bytes, Buffer.from([0])]);
      assert.throws(() => kind.decode(longer), /trailing bytes/);
    }
  });

  test(`${kind.name}: random garbage decodes or throws CodecError, nothing else`, () => {
    const r = new Rand(7);
    let rejected = 0;
    for (let i = 0; i < 2000; i++) {
      const garbage = Buffer.from(r.bytes(60));
      if (garbage.length > 0) garbage[0] = CODEC_VERSION; // get past the version check
      try {
        kind.decode(garbage);
      } catch (err) {
        assert.ok(err instanceof CodecError, `unexpected ${String(err)}`);
        rejected++;
      }
    }
    assert.ok(rejected > 0);
  });
}

test('an unknown version is refused by name', () => {
  const bytes = encodeHardState({ term: 1, vote: 2, commit: 3 });
  bytes[0] = 9;
  const expected = { name: 'CodecError', message: /malformed hard state: unknown version 9/ };
  assert.throws(() => decodeHardState(bytes), expected);
});

test('a huge claimed count or length is refused before allocating', () => {
  const w = new ByteWriter();
  w.u8(CODEC_VERSION).varint(2 ** 40); // voters count
  assert.throws(() => decodeConfState(w.finish()), /voters count 1099511627776 runs past the end/);
  const e = new ByteWriter();
  e.u8(CODEC_VERSION).varint(1).varint(1).u8(0).varint(1_000_000).raw(new Uint8Array(10));
  assert.throws(() => decodeEntry(e.finish()), /truncated entry data/);
});

test('unknown enum values are refused', () => {
  const e = encodeEntry({ term: 1, index: 1, type: 0, data: new Uint8Array(0) });
  e[3] = 7; // the type byte follows version, term and index
  assert.throws(() => decodeEntry(e), /unknown entry type 7/);
  const m = encodeMessage(new Rand(5).message());
  m[1] = 200;
  assert.throws(() => decodeMessage(m), /unknown message type 200/);
});

test('varints cover 0 .. 2^53-1 and refuse anything else', () => {
  const values = [0, 1, 127, 128, 255, 16383, 16384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 48 + 5];
  values.push(Number.MAX_SAFE_INTEGER);
  const w = new ByteWriter(1);
  for (const v of values) w.varint(v).u64(v);
  const r = new ByteReader(w.finish(), 'test');
  for (const v of values) {
    assert.equal(r.varint(), v);
    assert.equal(r.u64(), v);
  }
  r.end();
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
    assert.throws(() => new ByteWriter().varint(bad), CodecError);
  }
  const tooLong = Buffer.alloc(9, 0xff);
  assert.throws(() => new ByteReader(tooLong, 'test').varint(), /longer than 8 bytes/);
  const over = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]); // 2^56 - 1
  assert.throws(() => new ByteReader(over, 'test').varint(), /exceeds 2\^53/);
});

test('decoded bytes are copies, not views of the input', () => {
  const bytes = encodeEntry({ term: 2, index: 3, type: 0, data: Buffer.from('abc') });
  const e = decodeEntry(bytes);
  bytes.fill(0);
  assert.deepEqual(Array.from(e.data), [97, 98, 99]);
});
