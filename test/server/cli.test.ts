// The `slotraft server` command in a child process: start-up errors exit 1 with clear texts (port
// taken, bad config line, unusable dir); a normal start logs JSON lines with the chosen port, keeps a
// stable node id in dir/node-id, serves clients, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RawClient } from './helpers.js';

const BIN = fileURLToPath(new URL('../../../bin/slotraft.js', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs = 10_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${stdout} ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'slotraft-cli-'));
}

test('port taken: Redis message, exit 1', async () => {
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as { port: number }).port;
  const dir = tempDir();
  try {
    const result = await run(['server', '--port', String(port), '--dir', dir, '--admin-port', '0']);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`Could not create server TCP listening socket 127\\.0\\.0\\.1:${port}: bind: Address already in use`),
    );
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad configuration: the FATAL CONFIG FILE ERROR text, exit 1', async () => {
  const dir = tempDir();
  const file = join(dir, 'bad.conf');
  writeFileSync(file, 'port 0\nmaxmemory lots\n');
  try {
    const flag = await run(['server', '--port', 'abc']);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /\*\*\* FATAL CONFIG FILE ERROR \(Redis 7\.0\.15\) \*\*\*\nReading the configuration file, at line 2\n>>> 'port "abc"'\nargument couldn't be parsed into an integer/);
    const fromFile = await run(['server', file]);
    assert.equal(fromFile.code, 1);
    assert.match(fromFile.stderr, /at line 2\n>>> 'maxmemory lots'\nargument must be a memory value/);
    const missing = await run(['server', join(dir, 'nope.conf')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /can't open config file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unusable dir: exit 1', async () => {
  const dir = tempDir();
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  try {
    const result = await run(['server', '--port', '0', '--dir', join(file, 'sub')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Can't use dir/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Starts the server, returns its port and node id from the JSON log, and a way to stop it. */
async function startChild(dir: string): Promise<{ port: number; nodeId: string; stop: () => Promise<Run> }> {
  const child = spawn(process.execPath, [BIN, 'server', '--port', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  const ready = await new Promise<{ port: number; nodeId: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line: ${stdout} ${stderr}`)), 10_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      for (const line of stdout.split('\n')) {
        if (!line.includes('ready to accept connections')) continue;
        const entry = JSON.parse(line) as { level: string; port: number; nodeId: string; ts: string };
        clearTimeout(timer);
        resolve(entry);
      }
    });
  });
  return {
    ...ready,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

test('starts on an ephemeral port, keeps its node id, exits 0 on SIGTERM', async () => {
  const dir = tempDir();
  try {
    const first = await startChild(dir);
    assert.ok(first.port > 0);
    assert.match(first.nodeId, /^[0-9a-f]{40}$/);
    assert.equal(readFileSync(join(dir, 'node-id'), 'latin1').trim(), first.nodeId);
    const client = await RawClient.connect(first.port);
    client.write('*1\r\n$4\r\nPING\r\n');
    assert.equal(await client.expect('+PONG\r\n'), '+PONG\r\n');
    const stopped = await first.stop();
    assert.equal(stopped.code, 0);
    for (const line of stopped.stdout.trim().split('\n')) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      assert.equal(typeof entry.msg, 'string');
      assert.equal(typeof entry.level, 'string');
    }
    assert.match(stopped.stdout, /"msg":"shutting down","reason":"SIGTERM"/);
    client.close();

    const second = await startChild(dir);
    assert.equal(second.nodeId, first.nodeId);
    assert.equal((await second.stop()).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
