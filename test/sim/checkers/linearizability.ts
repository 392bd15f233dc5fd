// Linearizability of a client history, Porcupine-style (raft-design.md §3.3): split the history by key
// (P-compositionality), then for each key run Wing-Gong/Lowe's search with memoization of
// (set of linearized operations, model state). The search is bounded by a step budget; running out
// gives 'unknown' rather than a wrong answer.
//
// Indeterminate operations (timeouts, leader lost) are handled as Jepsen's :info: a write whose outcome
// is unknown gets ret = +Infinity, so it may take effect at any point after its call or never; a read
// whose outcome is unknown carries no information and must be left out by the caller.

export interface Operation<I, O> {
  readonly client: number;
  readonly input: I;
  /** undefined when the outcome is unknown (then `ret` must be Infinity). */
  readonly output: O | undefined;
  /** Logical times: every call and return of the history gets a distinct, increasing number. */
  readonly call: number;
  readonly ret: number;
}

export interface Model<S, I, O> {
  init(): S;
  /** Whether `input` may produce `output` in state `state` (output undefined = any), and the next state. */
  step(state: S, input: I, output: O | undefined): [ok: boolean, next: S];
  /** A stable serialization of a state, for memoization. */
  key(state: S): string;
  describe?(op: Operation<I, O>): string;
}

export type CheckOutcome = 'ok' | 'illegal' | 'unknown';

export interface CheckResult {
  readonly outcome: CheckOutcome;
  /** For 'illegal': the first partition (key) that could not be linearized. */
  readonly partition?: string;
  readonly steps: number;
}

interface Node {
  readonly id: number;
  readonly isCall: boolean;
  prev: Node | null;
  next: Node | null;
  match: Node | null;
}

/** Checks one partition. `budget` bounds the search steps; returns the outcome and the steps used. */
export function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  budget: number,
): { outcome: CheckOutcome; steps: number } {
  const events: { time: number; isCall: boolean; id: number }[] = [];
  ops.forEach((op, id) => {
    events.push({ time: op.call, isCall: true, id });
    events.push({ time: op.ret, isCall: false, id });
  });
  // Calls before returns on ties (Infinity - Infinity is NaN, which also falls to the tie-breaker).
  events.sort((x, y) => x.time - y.time || (x.isCall === y.isCall ? 0 : x.isCall ? -1 : 1));

  const head: Node = { id: -1, isCall: false, prev: null, next: null, match: null };
  const returns = new Map<number, Node>();
  let tail = head;
  for (const e of events) {
    const node: Node = { id: e.id, isCall: e.isCall, prev: tail, next: null, match: null };
    tail.next = node;
    tail = node;
    if (!e.isCall) returns.set(e.id, node);
  }
  for (let n = head.next; n; n = n.next) if (n.isCall) n.match = returns.get(n.id) ?? null;

  const unlink = (x: Node): void => {
    x.prev!.next = x.next;
    if (x.next) x.next.prev = x.prev;
  };
  const relink = (x: Node): void => {
    x.prev!.next = x;
    if (x.next) x.next.prev = x;
  };
  const lift = (call: Node): void => {
    unlink(call);
    unlink(call.match!);
  };
  const unlift = (call: Node): void => {
    relink(call.match!);
    relink(call);
  };

  const linearized = new Uint32Array((ops.length + 31) >>> 5);
  const seen = new Set<string>();
  const stack: { call: Node; state: S }[] = [];
  let state = model.init();
  let node = head.next;
  let steps = 0;
  while (head.next) {
    if (++steps > budget) return { outcome: 'unknown', steps };
    if (!node) return { outcome: 'illegal', steps }; // defensive: cannot happen with a well-formed list
    if (node.isCall) {
      const op = ops[node.id]!;
      const [ok, next] = model.step(state, op.input, op.output);
      if (ok) {
        linearized[node.id >>> 5]! |= 1 << (node.id & 31);
        const memo = linearized.join(',') + '|' + model.key(next);
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ call: node, state });
          state = next;
          lift(node);
          node = head.next;
          continue;
        }
        linearized[node.id >>> 5]! &= ~(1 << (node.id & 31));
      }
      node = node.next;
    } else {
      // An operation returned before it could be linearized: undo the last choice.
      const top = stack.pop();
      if (!top) return { outcome: 'illegal', steps };
      state = top.state;
      linearized[top.call.id >>> 5]! &= ~(1 << (top.call.id & 31));
      unlift(top.call);
      node = top.call.next;
    }
  }
  return { outcome: 'ok', steps };
}

/** Checks a whole history, partitioned by `partitionKey`; 'illegal' wins over 'unknown'. */
export function checkHistory<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
  partitionKey: (op: Operation<I, O>) => string,
  budgetPerPartition = 200_000,
): CheckResult {
  const partitions = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const key = partitionKey(op);
    let list = partitions.get(key);
    if (!list) partitions.set(key, (list = []));
    list.push(op);
  }
  let steps = 0;
  let unknown: string | undefined;
  for (const [key, list] of partitions) {
    const result = checkPartition(model, list, budgetPerPartition);
    steps += result.steps;
    if (result.outcome === 'illegal') return { outcome: 'illegal', partition: key, steps };
    if (result.outcome === 'unknown') unknown ??= key;
  }
  return unknown === undefined ? { outcome: 'ok', steps } : { outcome: 'unknown', partition: unknown, steps };
}

// --- The key-value model used by the simulator's workload --------------------------------------

export type KvInput =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'append'; readonly key: string; readonly value: string }
  | { readonly op: 'cas'; readonly key: string; readonly expect: string | null; readonly value: string };

/** put -> 'OK'; get -> value or null; append -> new length; cas -> whether it swapped. */
export type KvOutput = string | number | boolean | null;

/** One key's register: the value, or null when absent. */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'put':
        return [output === undefined || output === 'OK', input.value];
      case 'get':
        return [output === undefined || output === state, state];
      case 'append': {
        const next = (state ?? '') + input.value;
        return [output === undefined || output === next.length, next];
      }
      case 'cas': {
        const swaps = state === input.expect;
        return [output === undefined || output === swaps, swaps ? input.value : state];
      }
    }
  },
  key: (state) => (state === null ? '\u0000nil' : 'v' + state),
};

export function checkKvHistory(
  ops: readonly Operation<KvInput, KvOutput>[],
  budgetPerKey?: number,
): CheckResult {
  return checkHistory(kvModel, ops, (op) => op.input.key, budgetPerKey);
}
