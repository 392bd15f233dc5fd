import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Network } from './harness.js';

test('three nodes elect a leader and replicate', () => {
  const net = new Network([1, 2, 3]);
  net.campaign(1);
  assert.equal(net.leader(), 1);
  net.propose(1, 'a');
  net.propose(2, 'b');
  for (const id of [1, 2, 3]) assert.deepEqual(net.node(id).applied, ['a', 'b']);
});
