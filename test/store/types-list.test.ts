import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ListValue } from '../../src/store/types/list.js';
import { Prng } from '../sim/prng.js';

test('list matches an array model under random pushes, pops, sets, inserts, trims and removes', () => {
  const rng = new Prng(7);
  const list = new ListValue();
  let model: string[] = [];
  for (let step = 0; step < 20000; step++) {
    const value = `v${rng.int(0, 20)}`;
    switch (rng.int(0, 9)) {
      case 0:
      case 1:
        list.pushBack(value);
        model.push(value);
        break;
      case 2:
      case 3:
        list.pushFront(value);
        model.unshift(value);
        break;
      case 4:
        assert.equal(list.popFront(), model.shift());
        break;
      case 5:
        assert.equal(list.popBack(), model.pop());
        break;
      case 6:
        if (model.length > 0) {
          const i = rng.int(0, model.length - 1);
          list.set(i, value);
          model[i] = value;
        }
        break;
      case 7: {
        const i = rng.int(0, model.length);
        list.insertAt(i, value);
        model.splice(i, 0, value);
        break;
      }
      case 8: {
        const limit = rng.int(0, 2);
        const fromTail = rng.chance(0.5);
        let removed = 0;
        const indexes = model.map((_, i) => i);
        if (fromTail) indexes.reverse();
        const drop = new Set<number>();
        for (const i of indexes) {
          if (model[i] === value && (limit === 0 || removed < limit)) {
            drop.add(i);
            removed++;
          }
        }
        assert.equal(list.remove(value, limit, fromTail), removed);
        model = model.filter((_, i) => !drop.has(i));
        break;
      }
      default:
        if (model.length > 40) {
          const start = rng.int(0, 5);
          const stop = model.length - 1 - rng.int(0, 5);
          list.trim(start, stop);
          model = model.slice(start, stop + 1);
        }
    }
    assert.equal(list.length, model.length);
    if (step % 101 === 0) assert.deepEqual(list.toArray(), model);
  }
  assert.deepEqual(list.toArray(), model);
  assert.equal(list.encoding(), 'quicklist');
});

test('list memory estimate follows contents', () => {
  const list = ListValue.from(['abc', 'de']);
  const before = list.memoryBytes();
  list.pushBack('x'.repeat(100));
  assert.ok(list.memoryBytes() >= before + 100);
  list.popBack();
  assert.equal(list.memoryBytes(), before);
});
