// The glob matcher against real Redis's KEYS: same keys, same patterns, same matches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch, globMatcher } from '../../src/store/glob.js';
import { RealRedis } from './harness.js';

const KEYS = [
  'hello', 'hallo', 'hxllo', 'hllo', 'heeeello', 'h\\llo', 'h*llo', 'h?llo', 'h[llo', 'h]llo', 'h-llo',
  'a', 'b', 'c', 'z', 'A', 'Z', '^', '-', ']', '[', '\\', '', 'abc', 'abcabc', 'aXbXc', 'key:1', 'key:22',
  'user:{1}:name', '\xff', '\x80abc', '\x7f', 'x\x00y', 'aaaaaaaaaaaaaaaaaaaaaaaab',
];
const PATTERNS = [
  '*', 'h?llo', 'h*llo', 'h[ae]llo', 'h[^e]llo', 'h[a-b]llo', 'h[b-a]llo', 'h\\*llo', 'h\\?llo', 'h[\\]]llo',
  'h[]]llo', 'h[', 'h[abc', '[', '[]', '[^]', '\\', 'h\\', '*\\', '[a-]', '[-a]', '[\\-]', '[^a-z]', '[A-z]',
  '[z-A]', '?', '??', '*?', '?*', '**', '*a*b*c*', 'a*c', '*c', 'key:?', 'key:*', 'user:{*}:*', '[\x80-\xff]*',
  '[a-\xff]', '[\x00-a]', '*\x00*', '*a*a*a*a*a*a*a*a*a*a*b', 'abc*', '[abc', 'a[', 'hel[lx]o', 'h[!a]llo',
  '[[]', '[\\\\]', 'x?y', '*[', '[^\\]]',
];

test('globMatch agrees with Redis KEYS on tricky patterns', async () => {
  const redis = await RealRedis.start();
  try {
    for (const key of KEYS) await redis.call('SET', key, '1');
    for (const pattern of PATTERNS) {
      const theirs = ((await redis.call('KEYS', pattern)) as string[]).sort();
      const ours = KEYS.filter(globMatcher(pattern)).sort();
      assert.deepEqual(ours, theirs, `pattern ${JSON.stringify(pattern)}`);
    }
  } finally {
    await redis.stop();
  }
});

test('nocase matching and the nesting limit', () => {
  assert.equal(globMatch('HeLLo', 'hello', true), true);
  assert.equal(globMatch('h[A-Z]llo', 'hello', true), true);
  assert.equal(globMatch('HeLLo', 'hello'), false);
  // Many stars against a long non-matching subject terminates quickly (skipLongerMatches).
  const started = process.hrtime.bigint();
  assert.equal(globMatch('*a'.repeat(50) + 'b', 'a'.repeat(5000)), false);
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'bounded work');
});
