// The linearizability checker on histories whose answer is known by construction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkHistory,
  checkKvHistory,
  checkPartition,
  kvModel,
  type KvInput,
  type KvOutput,
  type Model,
  type Operation,
} from './checkers/linearizability.js';
import { Prng } from './prng.js';

type Op = Operation<KvInput, KvOutput>;
const put = (key: string, value: string, call: number, ret: number, client = 0): Op => ({
  client, input: { op: 'put', key, value }, output: ret === Infinity ? undefined : 'OK', call, ret,
});
const get = (key: string, output: string | null, call: number, ret: number, client = 0): Op => ({
  client, input: { op: 'get', key }, output, call, ret,
});

// The register of the reference example: numbers, put and get.
type RegInput = { op: 'put'; v: number } | { op: 'get' };
const register: Model<number, RegInput, number | null> = {
  init: () => 0,
  step: (s, i, o) => (i.op === 'put' ? [true, i.v] : [o === undefined || o === s, s]),
  key: (s) => String(s),
};
const reg = (input: RegInput, output: number | null | undefined, call: number, ret: number) => ({
  client: 0, input, output, call, ret,
});

test('reference example 1: concurrent put and gets that can be ordered', () => {
  const ops = [reg({ op: 'put', v: 100 }, null, 0, 10), reg({ op: 'get' }, 100, 1, 8), reg({ op: 'get' }, 0, 2, 5)];
  assert.equal(checkPartition(register, ops, 10_000).outcome, 'ok');
});

test('reference example 2: a read of the old value after a read of the new one is illegal', () => {
  const ops = [reg({ op: 'put', v: 200 }, null, 0, 20), reg({ op: 'get' }, 200, 1, 5), reg({ op: 'get' }, 0, 8, 12)];
  assert.equal(checkPartition(register, ops, 10_000).outcome, 'illegal');
});

test('an indeterminate write may take effect later, or never, but not be undone', () => {
  const unknown = { op: 'put' as const, v: 5 };
  const later = [reg(unknown, undefined, 0, Infinity), reg({ op: 'get' }, 0, 1, 2), reg({ op: 'get' }, 5, 3, 4)];
  assert.equal(checkPartition(register, later, 10_000).outcome, 'ok');
  const never = [reg(unknown, undefined, 0, Infinity), reg({ op: 'get' }, 0, 1, 2)];
  assert.equal(checkPartition(register, never, 10_000).outcome, 'ok');
  const undone = [reg(unknown, undefined, 0, Infinity), reg({ op: 'get' }, 5, 1, 2), reg({ op: 'get' }, 0, 3, 4)];
  assert.equal(checkPartition(register, undone, 10_000).outcome, 'illegal');
});

test('kv model: append lengths, cas results, per-key partitions', () => {
  const ok: Op[] = [
    { client: 1, input: { op: 'append', key: 'a', value: 'xy' }, output: 2, call: 0, ret: 3 },
    { client: 2, input: { op: 'append', key: 'a', value: 'z' }, output: 3, call: 1, ret: 4 },
    { client: 3, input: { op: 'cas', key: 'a', expect: 'xyz', value: 'q' }, output: true, call: 5, ret: 6 },
    get('a', 'q', 7, 8),
    put('b', '1', 2, 9),
    get('b', null, 3, 4),
  ];
  assert.equal(checkKvHistory(ok).outcome, 'ok');
  // A cas that claims to have failed although the value matched.
  const badCas: Op[] = [
    put('a', 'v', 0, 1),
    { client: 1, input: { op: 'cas', key: 'a', expect: 'v', value: 'w' }, output: false, call: 2, ret: 3 },
  ];
  const result = checkKvHistory(badCas);
  assert.equal(result.outcome, 'illegal');
  assert.equal(result.partition, 'a');
  // Two appends whose reported lengths both claim to be first.
  const doubleFirst: Op[] = [
    { client: 1, input: { op: 'append', key: 'k', value: 'a' }, output: 1, call: 0, ret: 3 },
    { client: 2, input: { op: 'append', key: 'k', value: 'b' }, output: 1, call: 1, ret: 2 },
  ];
  assert.equal(checkKvHistory(doubleFirst).outcome, 'illegal');
});

test('a stale read after an acknowledged write is illegal; a concurrent one is not', () => {
  assert.equal(checkKvHistory([put('k', 'new', 0, 1), get('k', null, 2, 3)]).outcome, 'illegal');
  assert.equal(checkKvHistory([put('k', 'new', 0, 3), get('k', null, 1, 2)]).outcome, 'ok');
});

test('the step budget yields unknown, never a wrong verdict', () => {
  // Many concurrent writes and a read that matches none of them: exhaustive search is exponential.
  const ops: Op[] = [];
  for (let i = 0; i < 10; i++) ops.push(put('k', String(i), i, 100 + i, i));
  ops.push(get('k', 'none', 50, 60, 99));
  assert.equal(checkKvHistory(ops, 100).outcome, 'unknown');
  assert.equal(checkKvHistory(ops, 50_000_000).outcome, 'illegal');
});

/** Builds a random history that is linearizable by construction: each op takes effect at one instant
 * inside its [call, ret] interval, executed against a real register. */
function randomLinearizableHistory(rng: Prng, size: number): Op[] {
  const keys = ['a', 'b'];
  const values = new Map<string, string | null>();
  const effects: { at: number; op: KvInput; client: number }[] = [];
  for (let i = 0; i < size; i++) {
    const key = rng.pick(keys);
    const kind = rng.int(0, 3);
    const value = String(rng.int(0, 3));
    const input: KvInput =
      kind === 0 ? { op: 'put', key, value }
      : kind === 1 ? { op: 'get', key }
      : kind === 2 ? { op: 'append', key, value }
      : { op: 'cas', key, expect: rng.chance(0.5) ? null : value, value: String(rng.int(0, 3)) };
    effects.push({ at: i * 10 + 5, op: input, client: i });
  }
  const ops: Op[] = [];
  for (const e of effects) {
    const state = values.get(e.op.key) ?? null;
    const [, next] = kvModel.step(state, e.op, undefined);
    const output: KvOutput =
      e.op.op === 'put' ? 'OK' : e.op.op === 'get' ? state : e.op.op === 'append' ? next!.length : next !== state || (state === e.op.expect);
    values.set(e.op.key, next);
    const call = e.at - rng.int(1, 25);
    const indeterminate = e.op.op !== 'get' && rng.chance(0.1);
    const ret = indeterminate ? Infinity : e.at + rng.int(1, 25);
    ops.push({ client: e.client, input: e.op, output: indeterminate ? undefined : output, call, ret });
  }
  return ops;
}

test('random histories that are linearizable by construction pass; a read of a never-written value fails', () => {
  const rng = new Prng(7);
  let corruptedCaught = 0;
  for (let round = 0; round < 60; round++) {
    const ops = randomLinearizableHistory(rng, 30);
    assert.equal(checkKvHistory(ops).outcome, 'ok', `round ${round}`);
    // Corrupt one read with a value never written: can never be explained.
    const reads = ops.map((op, i) => [op, i] as const).filter(([op]) => op.input.op === 'get');
    if (reads.length === 0) continue;
    const [op, index] = rng.pick(reads);
    const corrupted = ops.slice();
    corrupted[index] = { ...op, output: 'never-written' };
    assert.equal(checkKvHistory(corrupted).outcome, 'illegal', `round ${round}`);
    corruptedCaught++;
  }
  assert.ok(corruptedCaught > 30);
});

test('checkHistory reports the failing partition', () => {
  const ops = [
    { client: 0, input: { op: 'put' as const, v: 1 }, output: null, call: 0, ret: 1 },
    { client: 0, input: { op: 'get' as const }, output: 2, call: 2, ret: 3 },
  ];
  const result = checkHistory(register, ops, () => 'only');
  assert.equal(result.outcome, 'illegal');
  assert.equal(result.partition, 'only');
});
