// The simulator's safety checkers, each fed a correct and a broken situation by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EntryType, type Entry } from '../../src/raft/types.js';
import { ElectionSafety } from './checkers/election-safety.js';
import { LogView, checkLogMatching } from './checkers/log-matching.js';
import { StateMachineSafety } from './checkers/state-machine.js';
import { checkLeaderCompleteness, checkNothingLost } from './checkers/leader-completeness.js';

const entry = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: EntryType.Normal,
  data: Buffer.from(text, 'latin1'),
});

function log(...terms: number[]): LogView {
  const view = new LogView();
  view.append(terms.map((t, i) => entry(i + 1, t)));
  return view;
}

test('election safety: one leader per term, re-election of the same node is fine', () => {
  const es = new ElectionSafety();
  assert.equal(es.onLeader(3, 1), null);
  assert.equal(es.onLeader(3, 1), null);
  assert.equal(es.onLeader(4, 2), null);
  assert.match(es.onLeader(3, 2) ?? '', /two leaders in term 3: 1 and 2/);
});

test('log view: an append at index i replaces everything from i on; a snapshot resets it', () => {
  const view = log(1, 1, 2, 2);
  view.append([entry(3, 3), entry(4, 3), entry(5, 3)]);
  assert.deepEqual([1, 2, 3, 4, 5].map((i) => view.term(i)), [1, 1, 3, 3, 3]);
  view.append([entry(2, 4)]);
  assert.equal(view.lastIndex, 2);
  view.resetTo(10, 4);
  assert.equal(view.term(10), 4);
  assert.equal(view.term(2), undefined);
  view.append([entry(11, 5)]);
  assert.equal(view.lastIndex, 11);
  assert.throws(() => view.append([entry(13, 5)]), /gap/);
});

test('log matching: divergent suffixes are fine, a same-term entry after a difference is not', () => {
  assert.equal(checkLogMatching(1, log(1, 1, 2), 2, log(1, 1, 3, 3)), null);
  assert.match(checkLogMatching(1, log(1, 2, 3), 2, log(1, 1, 3)) ?? '', /differ at index 2/);
  const a = log(1, 1, 2);
  const b = new LogView();
  b.append([entry(1, 1), entry(2, 1, 'other payload'), entry(3, 2)]);
  assert.match(checkLogMatching(1, a, 2, b) ?? '', /different payloads/);
});

test('state machine safety: the first apply of an index is canonical', () => {
  const sm = new StateMachineSafety();
  assert.equal(sm.onApply(1, 1, 1, 'p', '"OK"', 1), null);
  assert.equal(sm.onApply(2, 1, 1, 'p', '"OK"', 1), null);
  assert.match(sm.onApply(3, 1, 2, 'q', '"OK"', 2) ?? '', /different entry at index 1/);
  assert.match(sm.onApply(3, 1, 1, 'p', '7', 2) ?? '', /got result 7/);
  assert.equal(sm.onState(1, 1, 'S', 'state'), null);
  assert.match(sm.onState(2, 1, 'T', 'installed snapshot') ?? '', /installed snapshot at index 1 differs/);
  assert.equal(sm.highestApplied, 1);
});

test('leader completeness and nothing lost: a later leader must hold what was applied', () => {
  const sm = new StateMachineSafety();
  sm.onApply(1, 1, 1, `${EntryType.Normal}:e1`, 'null', 1);
  sm.onApply(1, 2, 2, `${EntryType.Normal}:e2`, 'null', 2);
  assert.equal(checkLeaderCompleteness(sm, 3, 3, log(1, 2)), null);
  assert.match(checkLeaderCompleteness(sm, 3, 3, log(1, 3)) ?? '', /lacks committed entry 2/);
  // A leader of a term not above the term seen when the entry was committed is not held to it.
  assert.equal(checkLeaderCompleteness(sm, 3, 2, log(1)), null);
  const snapshotted = new LogView();
  snapshotted.resetTo(2, 2);
  assert.equal(checkLeaderCompleteness(sm, 3, 3, snapshotted), null);
  assert.equal(checkNothingLost(sm, 3, 2, log(1, 2)), null);
  assert.match(checkNothingLost(sm, 3, 1, log(1, 2)) ?? '', /committed only up to 1/);
  assert.match(checkNothingLost(sm, 3, 2, log(1, 3)) ?? '', /lost applied entry 2/);
});
