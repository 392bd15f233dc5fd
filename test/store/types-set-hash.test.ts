import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SetValue, isCanonicalInt64 } from '../../src/store/types/set.js';
import { HashValue } from '../../src/store/types/hash.js';
import { Prng } from '../sim/prng.js';

test('canonical int64 detection follows Redis string2ll', () => {
  for (const s of ['0', '1', '-1', '9223372036854775807', '-9223372036854775808', '123']) assert.ok(isCanonicalInt64(s), s);
  for (const s of ['', '-0', '01', '+1', ' 1', '1.0', '9223372036854775808', '-9223372036854775809', 'a']) {
    assert.ok(!isCanonicalInt64(s), s);
  }
});

test('set matches a Set model and keeps intset order and encoding rules', () => {
  const rng = new Prng(3);
  const set = new SetValue();
  const model = new Set<string>();
  for (let step = 0; step < 5000; step++) {
    const member = String(rng.int(-300, 300));
    if (rng.chance(0.6)) {
      assert.equal(set.add(member), !model.has(member));
      model.add(member);
    } else assert.equal(set.delete(member), model.delete(member));
    assert.equal(set.size, model.size);
  }
  assert.equal(set.encoding(), 'intset');
  const members = set.members();
  assert.deepEqual(members, [...model].sort((a, b) => Number(a) - Number(b)));
  for (let i = 0; i < set.size; i++) assert.ok(model.has(set.at(i)));
  set.add('x');
  assert.equal(set.encoding(), 'hashtable');
  set.delete('x');
  assert.equal(set.encoding(), 'hashtable');
  const big = SetValue.from(Array.from({ length: 513 }, (_, i) => String(i)));
  assert.equal(big.encoding(), 'hashtable');
  assert.equal(SetValue.from(Array.from({ length: 512 }, (_, i) => String(i))).encoding(), 'intset');
});

test('set and hash scans return every stable element despite churn', () => {
  const set = SetValue.from(Array.from({ length: 700 }, (_, i) => `s${i}`));
  const hash = new HashValue();
  for (let i = 0; i < 700; i++) hash.set(`f${i}`, 'v');
  const seenSet = new Set<string>();
  const seenHash = new Set<string>();
  let cs = 0;
  let ch = 0;
  let setDone = false;
  let hashDone = false;
  for (let call = 0; call < 1000 && !(setDone && hashDone); call++) {
    if (!setDone) {
      const a = set.scan(cs, 7);
      a.members.forEach((m) => seenSet.add(m));
      cs = a.cursor;
      setDone = cs === 0;
    }
    if (!hashDone) {
      const b = hash.scan(ch, 7);
      b.fields.forEach((f) => seenHash.add(f));
      ch = b.cursor;
      hashDone = ch === 0;
    }
    set.add(`churn${call}`);
    set.delete(`churn${call - 1}`);
    hash.set(`churn${call}`, 'x');
    hash.delete(`churn${call - 1}`);
  }
  assert.ok(setDone && hashDone);
  for (let i = 0; i < 700; i++) {
    assert.ok(seenSet.has(`s${i}`));
    assert.ok(seenHash.has(`f${i}`));
  }
});

test('hash encoding thresholds of Redis 7.0', () => {
  const hash = new HashValue();
  for (let i = 0; i < 512; i++) hash.set(`f${i}`, 'v');
  assert.equal(hash.encoding(), 'listpack');
  hash.set('f-last', 'v');
  assert.equal(hash.encoding(), 'hashtable');
  const wide = new HashValue();
  wide.set('f', 'v'.repeat(64));
  assert.equal(wide.encoding(), 'listpack');
  wide.set('f', 'v'.repeat(65));
  assert.equal(wide.encoding(), 'hashtable');
  const before = wide.memoryBytes();
  wide.delete('f');
  assert.ok(wide.memoryBytes() < before);
});

test('clones are deep, keep order and encoding, and do not share state', async () => {
  const { ListValue } = await import('../../src/store/types/list.js');
  const { ZSetValue } = await import('../../src/store/types/zset.js');
  const hash = new HashValue();
  for (let i = 0; i < 600; i++) hash.set(`f${i}`, `v${i}`);
  const hashCopy = hash.clone();
  assert.deepEqual([...hashCopy.fields], [...hash.fields]);
  assert.equal(hashCopy.encoding(), 'hashtable');
  hashCopy.set('f0', 'changed');
  assert.equal(hash.get('f0'), 'v0');

  const set = SetValue.from(['b', 'a', 'c']);
  const setCopy = set.clone();
  assert.deepEqual(setCopy.members(), set.members());
  setCopy.delete('a');
  assert.ok(set.has('a'));

  const list = ListValue.from(['x', 'y']);
  const listCopy = list.clone();
  listCopy.pushBack('z');
  assert.deepEqual(list.toArray(), ['x', 'y']);
  assert.deepEqual(listCopy.toArray(), ['x', 'y', 'z']);

  const zset = new ZSetValue();
  zset.set('a', 2);
  zset.set('b', 1);
  const zsetCopy = zset.clone();
  zsetCopy.set('a', 0);
  assert.equal(zset.rank('a'), 1);
  assert.equal(zsetCopy.rank('a'), 0);
  assert.equal(zsetCopy.memoryBytes(), zset.memoryBytes());
});
