// redis-cli (plain and -3) against a started node: replies, formatting, errors and --cluster tools
// must look exactly as they do against Redis 7.0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOST, runTool, startTarget, stripAnsi, type Target, type ToolResult } from './harness.js';

let target: Target;

before(async () => {
  target = await startTarget();
});

after(async () => {
  await target?.stop();
});

function cli(args: string[], input?: Buffer | string): Promise<ToolResult> {
  return runTool('redis-cli', ['-h', HOST, '-p', String(target.port), ...args], { input });
}

/** stdout of a redis-cli run that must succeed (redis-cli exits 0 even for error replies). */
async function out(args: string[], input?: Buffer | string): Promise<string> {
  const result = await cli(args, input);
  assert.equal(result.code, 0, `redis-cli ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  assert.equal(result.stderr, '');
  return result.stdout;
}

for (const proto of [2, 3] as const) {
  const flags = proto === 3 ? ['-3'] : [];
  const key = (name: string) => `cli${proto}:${name}`;

  describe(`redis-cli RESP${proto}`, () => {
    test('SET, GET, INCR in raw and formatted output', async () => {
      assert.equal(await out([...flags, 'SET', key('s'), 'hello world']), 'OK\n');
      assert.equal(await out([...flags, 'GET', key('s')]), 'hello world\n');
      assert.equal(await out([...flags, '--no-raw', 'GET', key('s')]), '"hello world"\n');
      assert.equal(await out([...flags, 'INCR', key('n')]), '1\n');
      assert.equal(await out([...flags, '--no-raw', 'INCR', key('n')]), '(integer) 2\n');
      assert.equal(await out([...flags, '--no-raw', 'GET', key('missing')]), '(nil)\n');
      assert.equal(await out([...flags, 'GET', key('missing')]), '\n');
    });

    test('MSET and MGET with a hash tag', async () => {
      const [a, b, c] = ['a', 'b', 'c'].map((n) => `{cli${proto}}${n}`);
      assert.equal(await out([...flags, 'MSET', a, '1', b, 'two']), 'OK\n');
      assert.equal(await out([...flags, '--no-raw', 'MGET', a, b, c]), '1) "1"\n2) "two"\n3) (nil)\n');
      assert.equal(await out([...flags, 'MGET', a, b, c]), '1\ntwo\n\n');
    });

    test('binary values round trip through -x, --raw and --no-raw', async () => {
      const value = Buffer.from([0x61, 0x00, 0x62, 0xff, 0x0d, 0x0a, 0x80, 0x7f]);
      assert.equal(await out([...flags, '-x', 'SET', key('bin')], value), 'OK\n');
      const raw = await out([...flags, '--raw', 'GET', key('bin')]);
      assert.deepEqual(Buffer.from(raw, 'latin1'), Buffer.concat([value, Buffer.from('\n')]));
      assert.equal(await out([...flags, '--no-raw', 'GET', key('bin')]), '"a\\x00b\\xff\\r\\n\\x80\\x7f"\n');
      assert.equal(await out([...flags, 'STRLEN', key('bin')]), `${value.length}\n`);
    });

    test('map replies are maps only in RESP3', async () => {
      const config = await out([...flags, '--no-raw', 'CONFIG', 'GET', 'appendonly']);
      assert.equal(config, proto === 3 ? '1# "appendonly" => "no"\n' : '1) "appendonly"\n2) "no"\n');
      const hello = await out([...flags, '--no-raw', 'HELLO']);
      if (proto === 3) assert.match(hello, /^3# "proto" => \(integer\) 3$/m);
      else assert.match(hello, /^ 5\) "proto"\n 6\) \(integer\) 2$/m);
    });

    test('INFO has the sections and fields tools read', async () => {
      const info = await out([...flags, 'INFO']);
      assert.match(info, /^# Server\r$/m);
      assert.match(info, /^redis_version:7\.\d+\.\d+\r$/m);
      assert.match(info, /^redis_mode:cluster\r$/m);
      assert.match(info, /^loading:0\r$/m);
      assert.match(info, /^cluster_enabled:1\r$/m);
      assert.match(info, new RegExp(`^tcp_port:${target.port}\r$`, 'm'));
      assert.match(await out([...flags, 'INFO', 'cluster']), /^# Cluster\r\ncluster_enabled:1\r\n/);
    });

    test('CLUSTER INFO, SLOTS and NODES describe one node owning every slot', async () => {
      const info = await out([...flags, 'CLUSTER', 'INFO']);
      for (const line of ['cluster_state:ok', 'cluster_slots_assigned:16384', 'cluster_slots_ok:16384',
        'cluster_known_nodes:1', 'cluster_size:1']) {
        assert.match(info, new RegExp(`^${line}\r$`, 'm'));
      }
      const id = (await out([...flags, 'CLUSTER', 'MYID'])).trim();
      assert.match(id, /^[0-9a-f]{40}$/);

      const slots = await out([...flags, '--no-raw', 'CLUSTER', 'SLOTS']);
      const metadata = proto === 3 ? '(empty hash)' : '(empty array)';
      assert.equal(
        slots,
        `1) 1) (integer) 0\n   2) (integer) 16383\n   3) 1) "${HOST}"\n      2) (integer) ${target.port}\n` +
          `      3) "${id}"\n      4) ${metadata}\n`,
      );

      // One line ending in \n; 8 space-separated fields then the slot range (redis-cli's C parser).
      const line = new RegExp(
        `^${id} ${HOST.replace(/\./g, '\\.')}:${target.port}@\\d+\\S* myself,master - 0 \\d+ \\d+ connected 0-16383\\n$`,
      );
      assert.match(await out([...flags, 'CLUSTER', 'NODES']), line);
      assert.match((await target.command('CLUSTER', 'NODES')) as string, line);
    });

    test('errors have Redis text and leave redis-cli exiting 0', async () => {
      assert.equal(await out([...flags, 'RPUSH', key('list'), 'x']), '1\n');
      assert.equal(await out([...flags, 'GET', key('list')]),
        'WRONGTYPE Operation against a key holding the wrong kind of value\n\n');
      assert.equal(await out([...flags, '--no-raw', 'GET', key('list')]),
        '(error) WRONGTYPE Operation against a key holding the wrong kind of value\n');
      assert.equal(await out([...flags, 'NOSUCHCMD', 'a', 'b']),
        "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \n\n");
      assert.equal(await out([...flags, '--no-raw', 'GET']),
        "(error) ERR wrong number of arguments for 'get' command\n");
      assert.equal(await out([...flags, '--no-raw', 'SET', key('s2'), 'abc']), 'OK\n');
      assert.equal(await out([...flags, '--no-raw', 'INCR', key('s2')]),
        '(error) ERR value is not an integer or out of range\n');
      assert.equal(await out([...flags, '--no-raw', 'MGET', 'a', 'b']),
        "(error) CROSSSLOT Keys in request don't hash to the same slot\n");
    });

    test('redis-cli -c works without redirections on keys of many slots', async () => {
      const keys = Array.from({ length: 20 }, (_, i) => key(`c${i}`));
      const script = keys.map((k, i) => `SET ${k} v${i}\nGET ${k}\n`).join('');
      const output = await out([...flags, '-c'], script);
      assert.equal(output, keys.map((_, i) => `OK\nv${i}\n`).join(''));
      assert.doesNotMatch(output, /Redirected|MOVED|ASK/);
    });
  });
}

describe('redis-cli --cluster', () => {
  test('check exits 0 and finds every slot covered', async () => {
    const id = (await target.command('CLUSTER', 'MYID')) as string;
    const result = await runTool('redis-cli', ['--cluster', 'check', `${HOST}:${target.port}`]);
    const text = stripAnsi(result.stdout);
    assert.equal(result.code, 0, text + result.stderr);
    assert.match(text, new RegExp(`^M: ${id} ${HOST}:${target.port}$`, 'm'));
    assert.match(text, /^ {3}slots:\[0-16383\] \(16384 slots\) master$/m);
    assert.match(text, /^\[OK\] All nodes agree about slots configuration\.$/m);
    assert.match(text, /^\[OK\] All 16384 slots covered\.$/m);
    assert.doesNotMatch(text, /\[ERR\]|\[WARNING\]/);
  });

  test('info reports the keys (DBSIZE), slots and replicas of the one master', async () => {
    const id = (await target.command('CLUSTER', 'MYID')) as string;
    const keys = (await target.command('DBSIZE')) as number;
    assert.ok(Number.isInteger(keys));
    const result = await runTool('redis-cli', ['--cluster', 'info', `${HOST}:${target.port}`]);
    const text = stripAnsi(result.stdout);
    assert.equal(result.code, 0, text + result.stderr);
    assert.match(text, new RegExp(`^${HOST}:${target.port} \\(${id.slice(0, 8)}\\.\\.\\.\\) -> ${keys} keys \\| 16384 slots \\| 0 slaves\\.$`, 'm'));
    assert.match(text, new RegExp(`^\\[OK\\] ${keys} keys in 1 masters\\.$`, 'm'));
  });
});
