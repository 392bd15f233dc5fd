// redis-benchmark against a started node: every test of the usual set completes without an error,
// in RESP2 and RESP3, so does its full default test set, and --cluster reads the topology as it does
// from a one-node Redis Cluster.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST, runTool, startTarget, type Target } from './harness.js';

const TESTS = ['PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'MSET (10 keys)'];

let target: Target;

before(async () => {
  target = await startTarget();
});

after(async () => {
  await target?.stop();
});

/** Parses redis-benchmark --csv output into rows keyed by column name. */
function parseCsv(text: string): Array<Record<string, string>> {
  const lines = text.trim().split('\n').map((line) => line.split(',').map((cell) => cell.replace(/^"|"$/g, '')));
  const [header, ...rows] = lines;
  assert.ok(header, 'no CSV header');
  return rows.map((cells) => Object.fromEntries(header.map((name, i) => [name, cells[i] ?? ''])));
}

let benchmarkRuns = 0;

for (const flags of [[], ['-3']]) {
  test(`redis-benchmark ${flags.join(' ') || 'RESP2'}: ${TESTS.join(', ')}`, async () => {
    const result = await runTool(
      'redis-benchmark',
      ['-h', HOST, '-p', String(target.port), ...flags, '-t', 'ping_inline,ping_mbulk,set,get,incr,mset',
        '-n', '2000', '-c', '10', '--csv'],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    benchmarkRuns += 1;
    // Warnings (e.g. CONFIG GET failing) and error replies are printed on stderr or stdout.
    assert.doesNotMatch(result.stdout + result.stderr, /error|warn/i);
    const rows = parseCsv(result.stdout);
    assert.deepEqual(rows.map((row) => row.test), TESTS);
    for (const row of rows) {
      assert.ok(Number(row.rps) > 0, `rps of ${row.test}: ${row.rps}`);
      assert.ok(Number(row.p99_latency_ms) >= 0, `p99 of ${row.test}: ${row.p99_latency_ms}`);
    }
    // The benchmark really wrote: INCR ran 2000 times per run on its one key, SET/MSET left their value.
    assert.equal(await target.command('GET', 'counter:__rand_int__'), String(2000 * benchmarkRuns));
    assert.equal(((await target.command('GET', 'key:__rand_int__')) as string).length, 3); // default -d 3
  });
}

/** redis-benchmark 7.0's default test set (no `-t`), in the order it runs them. */
const DEFAULT_TESTS = [
  'PING_INLINE', 'PING_MBULK', 'SET', 'GET', 'INCR', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'SADD', 'HSET', 'SPOP',
  'ZADD', 'ZPOPMIN', 'LPUSH (needed to benchmark LRANGE)', 'LRANGE_100 (first 100 elements)',
  'LRANGE_300 (first 300 elements)', 'LRANGE_500 (first 500 elements)', 'LRANGE_600 (first 600 elements)',
  'MSET (10 keys)',
];

test('redis-benchmark default test set: a row for every test, no error', async () => {
  const args = ['-h', HOST, '-p', String(target.port), '-n', '1000', '-c', '5', '--csv'];
  const result = await runTool('redis-benchmark', args, { timeoutMs: 60_000 });
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.doesNotMatch(result.stdout + result.stderr, /error|warn/i);
  const rows = parseCsv(result.stdout);
  assert.deepEqual(rows.map((row) => row.test), DEFAULT_TESTS);
  for (const row of rows) assert.ok(Number(row.rps) > 0, `rps of ${row.test}: ${row.rps}`);
  // The data-type tests really ran (as against Redis): LPUSH and RPUSH added 1000 each, LPOP and RPOP
  // took 1000 each, the LRANGE fill added 1000 more; SPOP and ZPOPMIN emptied what SADD and ZADD made.
  assert.equal(await target.command('LLEN', 'mylist'), 1000);
  assert.equal(((await target.command('HGET', 'myhash', 'element:__rand_int__')) as string).length, 3);
  assert.equal(await target.command('EXISTS', 'myset'), 0);
  assert.equal(await target.command('EXISTS', 'myzset'), 0);
});

test('redis-benchmark --cluster finds the one master with all slots', async () => {
  // Real redis-benchmark needs at least two masters; with one it must say so after parsing
  // CLUSTER NODES (a node it failed to parse, or one without slots, would not be counted).
  const result = await runTool(
    'redis-benchmark',
    ['-h', HOST, '-p', String(target.port), '--cluster', '-t', 'set,get', '-n', '1000', '-c', '10', '--csv'],
    { timeoutMs: 30_000 },
  );
  assert.equal(result.code, 1);
  assert.equal(result.stdout + result.stderr, 'Invalid cluster: 1 node(s).\n');
});
