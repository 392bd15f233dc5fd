// The collection write path's shortcuts must give exactly what the general code gives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDouble } from '../../src/commands/collection-args.js';
import { Keyspace } from '../../src/store/keyspace.js';
import { ListValue } from '../../src/store/types/list.js';

test('parseDouble: short integers give the same number as the general rules', () => {
  const cases = ['0', '-0', '7', '-7', '000', '0012', '123456789012345', '-123456789012345'];
  for (const arg of cases) assert.ok(Object.is(parseDouble(arg), Number(arg)), arg);
  // Not short integers: still handled by the general rules.
  assert.equal(parseDouble('1234567890123456'), 1234567890123456);
  assert.equal(parseDouble('-'), null);
  assert.equal(parseDouble(''), null);
  assert.equal(parseDouble('1a'), null);
  assert.equal(parseDouble('1'.repeat(400)), null);
});

test('touched with the value accounts memory exactly as touched without it', () => {
  const withValue = new Keyspace();
  const without = new Keyspace();
  const a = new ListValue();
  const b = new ListValue();
  a.pushBack('x');
  b.pushBack('x');
  withValue.set('k', a, 0);
  without.set('k', b, 0);
  for (let i = 0; i < 50; i++) {
    a.pushFront('v'.repeat(i));
    b.pushFront('v'.repeat(i));
    withValue.touched('k', a);
    without.touched('k');
    assert.equal(withValue.usedMemoryBytes(), without.usedMemoryBytes());
  }
  assert.ok(withValue.usedMemoryBytes() > 0);
  withValue.delete('k', 0);
  assert.equal(withValue.usedMemoryBytes(), 0);
});
