// Configuration: defaults, file syntax, precedence (file < env < flags), Redis's fatal error texts
// with line numbers, CONFIG GET globbing and CONFIG SET errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, parseMemory } from '../../src/server/config.js';

function fatal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.fatalText();
  }
  assert.fail('expected a ConfigError');
}

test('defaults are Redis-like', () => {
  const config = loadConfig({});
  assert.equal(config.value('port'), '6379');
  assert.equal(config.value('bind'), '127.0.0.1');
  assert.equal(config.value('maxmemory'), '0');
  assert.equal(config.value('maxmemory-policy'), 'noeviction');
  assert.equal(config.value('appendfsync'), 'everysec');
  assert.equal(config.value('maxclients'), '10000');
  assert.equal(config.value('proto-max-bulk-len'), '536870912');
  assert.equal(config.value('client-query-buffer-limit'), '1073741824');
  assert.equal(config.value('hz'), '10');
  assert.equal(config.value('cluster-enabled'), 'yes');
  assert.equal(config.value('admin-port'), '7379');
  assert.deepEqual(config.normalOutputLimit(), { hardBytes: 0, softBytes: 0, softSeconds: 0 });
});

test('file, env and flags, in increasing precedence', () => {
  const file = {
    path: '/x/slotraft.conf',
    text: '# comment\n\nport 7000\nmaxmemory 100mb\nsave ""\nbind 127.0.0.1 ::1\nclient-output-buffer-limit normal 1mb 512kb 10\n',
  };
  const config = loadConfig({
    file,
    env: { SLOTRAFT_MAXMEMORY: '1gb', SLOTRAFT_MAXMEMORY_POLICY: 'allkeys-lru', HOME: '/root' },
    flags: ['--maxmemory-policy', 'volatile-ttl', '--save', '900', '1'],
  });
  assert.equal(config.value('port'), '7000');
  assert.equal(config.value('admin-port'), '8000');
  assert.equal(config.value('maxmemory'), String(1024 ** 3));
  assert.equal(config.value('maxmemory-policy'), 'volatile-ttl');
  assert.equal(config.value('save'), '900 1');
  assert.equal(config.value('bind'), '127.0.0.1 ::1');
  assert.deepEqual(config.normalOutputLimit(), { hardBytes: 1048576, softBytes: 512 * 1024, softSeconds: 10 });
  assert.equal(config.configFile, '/x/slotraft.conf');
});

test('bad lines give Redis fatal texts with line numbers', () => {
  assert.equal(
    fatal(() => loadConfig({ flags: ['--port', 'abc'] })),
    "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 2\n>>> 'port \"abc\"'\nargument couldn't be parsed into an integer\n",
  );
  const file = { path: 'a.conf', text: 'port 1234\n  \n# c\nmaxmemory 1gb\nmaxclients abc\n' };
  assert.match(fatal(() => loadConfig({ file })), /at line 5\n>>> 'maxclients abc'\nargument couldn't be parsed into an integer\n$/);
  const cases: [string, string][] = [
    ['maxmemory 10zz', 'argument must be a memory value'],
    ['port 70000', 'argument must be between 0 and 65535 inclusive'],
    ['timeout -1', 'argument must be between 0 and 2147483647 inclusive'],
    ['appendonly maybe', "argument must be 'yes' or 'no'"],
    [
      'maxmemory-policy foo',
      'argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction',
    ],
    ['foo bar', 'Bad directive or wrong number of arguments'],
    ['port 1 2', 'Bad directive or wrong number of arguments'],
    ['requirepass "open', 'Unbalanced quotes in configuration line'],
  ];
  for (const [line, reason] of cases) {
    const text = fatal(() => loadConfig({ file: { path: 'a.conf', text: `\n${line}\n` } }));
    assert.ok(text.endsWith(`at line 2\n>>> '${line}'\n${reason}\n`), text);
  }
  assert.match(fatal(() => loadConfig({ env: { SLOTRAFT_PORT: 'x' } })), /couldn't be parsed into an integer/);
});

test('memory units as Redis memtoull', () => {
  assert.equal(parseMemory('100'), 100);
  assert.equal(parseMemory('1k'), 1000);
  assert.equal(parseMemory('1kb'), 1024);
  assert.equal(parseMemory('2MB'), 2 * 1024 * 1024);
  assert.equal(parseMemory('1g'), 1e9);
  assert.ok(Number.isNaN(parseMemory('1.5gb')));
  assert.ok(Number.isNaN(parseMemory('-1')));
});

test('CONFIG GET globs and CONFIG SET errors, atomic over pairs', () => {
  const config = loadConfig({});
  assert.deepEqual(config.get(['maxmemory']), [['maxmemory', '0']]);
  const names = config.get(['maxmemory*']).map(([name]) => name);
  assert.deepEqual(names.sort(), ['maxmemory', 'maxmemory-eviction-tenacity', 'maxmemory-policy', 'maxmemory-samples']);
  assert.deepEqual(config.get(['MAXCLIENTS']), [['maxclients', '10000']]);

  assert.equal(config.set([['foo', 'bar']]), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'");
  assert.equal(
    config.set([['maxmemory', '10zz']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value",
  );
  assert.equal(
    config.set([['daemonize', 'yes']]),
    "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config",
  );
  assert.equal(
    config.set([['maxmemory', '1'], ['maxmemory', '2']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - duplicate parameter",
  );
  assert.equal(
    config.set([['maxclients', '0']]),
    "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive",
  );
  // Atomic: a bad pair leaves the good one unapplied.
  assert.notEqual(config.set([['timeout', '5'], ['hz', 'x']]), null);
  assert.equal(config.value('timeout'), '0');

  const changed: string[] = [];
  config.onChange((name, value) => changed.push(`${name}=${value}`));
  assert.equal(config.set([['hz', '0'], ['maxmemory', '2mb'], ['client-output-buffer-limit', 'normal 1mb 2mb 3']]), null);
  assert.equal(config.value('hz'), '1'); // clamped, as Redis
  assert.deepEqual(changed, ['hz=1', 'maxmemory=2097152', 'client-output-buffer-limit=normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 33554432 8388608 60']);
  assert.equal(config.set([['hz', '1000']]), null);
  assert.equal(config.value('hz'), '500');
  assert.equal(
    config.set([['hz', '-1']]),
    "ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 0 and 2147483647 inclusive",
  );
});
