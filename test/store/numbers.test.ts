// int64 and long double parsing/formatting, fuzzed against a real Redis's INCRBY / INCRBYFLOAT.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addInt64, addLongDouble, formatLongDouble, longDoubleFromNumber, parseInt64, parseLongDouble } from '../../src/store/numbers.js';
import { RealRedis, Runner, plain } from './harness.js';

test('parseInt64 follows string2ll', () => {
  assert.equal(parseInt64('0'), 0);
  assert.equal(parseInt64('-12'), -12);
  assert.equal(parseInt64('9223372036854775807'), 9223372036854775807n);
  assert.equal(parseInt64('-9223372036854775808'), -9223372036854775808n);
  for (const bad of ['', '-', '-0', '01', '+1', ' 1', '1 ', '1.0', '9223372036854775808', '1e3', 'abc']) {
    assert.equal(parseInt64(bad), null, JSON.stringify(bad));
  }
  assert.equal(addInt64(9223372036854775806n, 1), 9223372036854775807n);
  assert.equal(addInt64(9223372036854775807n, 1), null);
  assert.equal(addInt64(-9007199254740991, -2), -9007199254740993n);
});

test('long doubles: exact round trips of doubles and the formatting of %.17Lf', () => {
  for (const n of [0.5, -3.25, 1e20, 1234.5, 2 ** -30]) {
    assert.equal(formatLongDouble(longDoubleFromNumber(n)), formatLongDouble(parseLongDouble(String(n)) as never));
  }
  assert.equal(parseLongDouble(' 1'), null);
  assert.equal(parseLongDouble('1x'), null);
  assert.equal(parseLongDouble('nan'), null);
  assert.equal(parseLongDouble('-inf'), -Infinity);
  assert.equal(addLongDouble(parseLongDouble('1e4932') as never, parseLongDouble('1e4932') as never), null, 'overflow');
});

test('INCRBY and INCRBYFLOAT fuzzed against Redis', async () => {
  const redis = await RealRedis.start();
  try {
    let seed = 12345;
    const random = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 0x100000000;
    };
    const runner = new Runner();
    const decimals = () => {
      const whole = String(Math.floor(random() * 1000) - 500);
      const frac = String(Math.floor(random() * 1e6)).padStart(6, '0').slice(0, 1 + Math.floor(random() * 6));
      const exp = random() < 0.2 ? `e${Math.floor(random() * 10) - 5}` : '';
      return `${whole}.${frac}${exp}`;
    };
    for (let i = 0; i < 300; i++) {
      const key = `f${i % 7}`;
      const argv = random() < 0.7 ? ['INCRBYFLOAT', key, decimals()] : ['INCRBY', `i${i % 5}`, String(Math.floor((random() - 0.5) * 2 ** 62))];
      const theirs = await redis.call(...argv);
      assert.deepEqual(plain(runner.run(...argv)), theirs, argv.join(' '));
    }
  } finally {
    await redis.stop();
  }
});
