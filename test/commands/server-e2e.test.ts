// End to end: redis-cli against a real slotraft server (in process, port 0), for the server,
// connection and cluster commands and the tools' cluster checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startServer, type TestServer } from '../server/helpers.js';

const run = promisify(execFile);
let node: TestServer;

async function cli(...args: string[]): Promise<{ stdout: string; code: number }> {
  try {
    const { stdout } = await run('redis-cli', ['-p', String(node.port), ...args], { timeout: 10_000 });
    return { stdout, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; code?: number };
    return { stdout: e.stdout ?? '', code: e.code ?? -1 };
  }
}

before(async () => {
  node = await startServer(['--requirepass', 'pw']);
});
after(async () => {
  await node.close();
});

test('redis-cli --cluster check and info accept the one-node cluster', async () => {
  const check = await cli('-a', 'pw', '--no-auth-warning', '--cluster', 'check', `127.0.0.1:${node.port}`);
  assert.equal(check.code, 0, check.stdout);
  assert.match(check.stdout, /\[OK\] All nodes agree about slots configuration\./);
  assert.match(check.stdout, /\[OK\] All 16384 slots covered\./);
  const info = await cli('-a', 'pw', '--no-auth-warning', '--cluster', 'info', `127.0.0.1:${node.port}`);
  assert.match(info.stdout, new RegExp(`127\\.0\\.0\\.1:${node.port} \\(aaaaaaaa\\.\\.\\.\\) -> 0 keys \\| 16384 slots \\| 0 slaves\\.`));
});

test('AUTH, HELLO 3, CLUSTER and CLIENT commands through redis-cli', async () => {
  assert.match((await cli('PING')).stdout, /NOAUTH Authentication required\./);
  assert.equal((await cli('-a', 'pw', '--no-auth-warning', 'PING')).stdout, 'PONG\n');
  assert.match((await cli('AUTH', 'nope')).stdout, /WRONGPASS invalid username-password pair or user is disabled\./);
  const hello = (await cli('-a', 'pw', '--no-auth-warning', '-3', 'HELLO', '3')).stdout;
  assert.match(hello, /^server redis\nversion 7\.0\.15\nproto 3\nid \d+\nmode cluster\nrole master\nmodules \n$/);
  const nodes = (await cli('-a', 'pw', '--no-auth-warning', 'CLUSTER', 'NODES')).stdout;
  assert.match(nodes, new RegExp(`^${'a'.repeat(40)} 127\\.0\\.0\\.1:${node.port}@\\d+ myself,master - 0 0 0 connected 0-16383\n$`));
  const info = (await cli('-a', 'pw', '--no-auth-warning', 'INFO')).stdout;
  assert.match(info, /\r\ncluster_enabled:1\r\n/);
  assert.match(info, /\r\nloading:0\r\n/);
  assert.match(info, /\r\nredis_mode:cluster\r\n/);
  assert.match(info, new RegExp(`\\r\\ntcp_port:${node.port}\\r\\n`));
  const list = (await cli('-a', 'pw', '--no-auth-warning', 'CLIENT', 'LIST')).stdout;
  assert.match(list, /^id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=-1 name= .* cmd=client\|list user=default redir=-1 resp=2 lib-name= lib-ver=\n$/);
  assert.equal((await cli('-a', 'pw', '--no-auth-warning', 'CLUSTER', 'KEYSLOT', 'foo')).stdout, '12182\n');
  assert.equal((await cli('-a', 'pw', '--no-auth-warning', 'CONFIG', 'GET', 'appendonly')).stdout, 'appendonly\nno\n');
  assert.equal((await cli('-a', 'pw', '--no-auth-warning', 'COMMAND', 'GETKEYS', 'memory', 'usage', 'k')).stdout, 'k\n');
});
