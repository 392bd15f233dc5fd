// The history checker of the end-to-end cluster tests, on hand-written histories (no I/O).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, writeOutcomeOf, type Op, type WriteOutcome } from './history.js';

const write = (key: string, value: number, start: number, end: number, outcome: WriteOutcome = 'ok'): Op =>
  ({ kind: 'write', key, value, start, end, outcome, ...(outcome === 'ok' ? {} : { error: `failed ${outcome}` }) });
const read = (key: string, value: number | null | undefined, start: number, end: number): Op =>
  ({ kind: 'read', key, value, start, end, ...(value === undefined ? { error: 'CLUSTERDOWN The cluster is down' } : {}) });

test('a clean history passes and counts its operations', () => {
  const report = checkHistory([
    read('k', null, 0, 1),
    write('k', 1, 2, 3),
    read('k', 1, 4, 5),
    write('k', 2, 6, 8),
    read('k', 1, 7, 9), // concurrent with the write of 2: the old value is still fine
    read('k', 2, 10, 11),
    read('k', undefined, 12, 13),
  ]);
  assert.deepEqual(report.violations, []);
  assert.equal(report.ok, true);
  assert.deepEqual(report.writes, { ok: 2, error: 0, unknown: 0, timeout: 0 });
  assert.deepEqual(report.reads, { ok: 4, failed: 1 });
  assert.deepEqual(report.errors, { 'CLUSTERDOWN The cluster is': 1 });
});

test('a lost acknowledged write is caught', () => {
  const report = checkHistory([write('k', 1, 0, 1), write('k', 2, 2, 3), read('k', 1, 4, 5)]);
  assert.equal(report.ok, false);
  assert.match(report.violations[0]!, /k: read \[4, 5\] returned 1, but 2 was acknowledged at 3/);
});

test('a key that vanished after an acknowledged write is caught', () => {
  const report = checkHistory([write('k', 1, 0, 1), read('k', null, 2, 3)]);
  assert.equal(report.ok, false);
  assert.match(report.violations[0]!, /returned null, but 1 was acknowledged/);
});

test('a value never written, or written only after the read ended, is caught', () => {
  const never = checkHistory([write('k', 1, 0, 1), read('k', 7, 2, 3)]);
  assert.match(never.violations[0]!, /returned 7, never written/);
  const future = checkHistory([read('k', 1, 0, 1), write('k', 1, 2, 3)]);
  assert.match(future.violations[0]!, /returned 1, written only at 2/);
});

test('a write with an unknown outcome may or may not show, but once seen stays', () => {
  const base: Op[] = [write('k', 1, 0, 1), write('k', 2, 2, 100, 'unknown')];
  assert.equal(checkHistory([...base, read('k', 1, 101, 102)]).ok, true);
  assert.equal(checkHistory([...base, read('k', 2, 3, 4), read('k', 2, 101, 102)]).ok, true);
  const back = checkHistory([...base, read('k', 2, 3, 4), read('k', 1, 5, 6)]);
  assert.equal(back.ok, false);
  assert.match(back.violations[0]!, /returned 1, but an earlier read \(ended 4\) returned 2/);
  // The acknowledged write before the failed one must still be there.
  assert.equal(checkHistory([...base, read('k', null, 101, 102)]).ok, false);
});

test('overlapping reads may disagree; reads of other keys do not interfere', () => {
  const report = checkHistory([
    write('a', 1, 0, 1), write('a', 2, 2, 10),
    read('a', 2, 3, 6), read('a', 1, 4, 8), // overlapping the first read: not ordered after it
    write('b', 5, 0, 1), read('b', 5, 2, 3),
  ]);
  assert.deepEqual(report.violations, []);
});

test('the longest gap between acknowledged writes is over all keys, failed writes do not count', () => {
  const report = checkHistory([
    write('a', 1, 0, 10), write('b', 1, 5, 20), write('a', 2, 20, 25, 'timeout'),
    write('c', 1, 21, 70), write('b', 2, 71, 80),
  ]);
  assert.deepEqual(report.longestWriteGap, { ms: 50, from: 20 });
  assert.deepEqual(report.writes, { ok: 4, error: 0, unknown: 0, timeout: 1 });
});

test('writing the same value twice is a workload bug', () => {
  assert.match(checkHistory([write('k', 1, 0, 1), write('k', 1, 2, 3)]).violations[0]!, /written twice/);
});

test('violations are capped', () => {
  const ops: Op[] = [write('k', 5, 0, 1)];
  for (let i = 0; i < 50; i++) ops.push(read('k', 4, 2 + i, 3 + i));
  const report = checkHistory(ops, { maxViolations: 3 });
  assert.equal(report.violations.length, 3);
  assert.equal(report.ok, false);
});

test('error texts map to outcomes', () => {
  assert.equal(writeOutcomeOf('ERR write outcome unknown: leader changed before commit'), 'unknown');
  assert.equal(writeOutcomeOf('Command timed out'), 'timeout');
  assert.equal(writeOutcomeOf('CLUSTERDOWN The cluster is down'), 'error');
  assert.equal(writeOutcomeOf('Connection is closed.'), 'error');
});
