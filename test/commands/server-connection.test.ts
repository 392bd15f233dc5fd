import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeReply } from '../../src/resp/encoder.js';
import { ErrorReply, VerbatimReply, type Reply } from '../../src/resp/reply.js';
import { loadCapture } from '../cluster/captures.js';
import { fakeServer, FakeSession } from './server-fake.js';

const wire = async (reply: Reply | Promise<Reply>, resp: 2 | 3 = 2) => encodeReply(await reply, resp);
const errorText = async (reply: Reply | Promise<Reply>) => {
  const value = await reply;
  assert.ok(value instanceof ErrorReply, `expected an error, got ${JSON.stringify(value)}`);
  return value.message;
};

test('PING and ECHO', async () => {
  const f = fakeServer();
  assert.equal(await wire(f.run('PING')), '+PONG\r\n');
  assert.equal(await wire(f.run('ping', 'x')), '$1\r\nx\r\n');
  assert.equal(await errorText(f.run('PING', 'a', 'b')), "ERR wrong number of arguments for 'ping' command");
  f.session.subscriptions = 1;
  assert.equal(await wire(f.run('PING')), '*2\r\n$4\r\npong\r\n$0\r\n\r\n');
  assert.equal(await wire(f.run('PING', 'hi')), '*2\r\n$4\r\npong\r\n$2\r\nhi\r\n');
  f.session.resp = 3;
  assert.equal(await wire(f.run('PING'), 3), '+PONG\r\n');
  assert.equal(await wire(f.run('ECHO', 'a\r\nb\x00')), '$5\r\na\r\nb\x00\r\n');
});

test('HELLO replies byte for byte as captured (RESP2 array, RESP3 map) and switches protocol', async () => {
  const hello = loadCapture('hello.txt');
  const f = fakeServer();
  const withId = (text: string) => text.replace(':178\r\n', `:${f.session.id}\r\n`);
  assert.equal(await wire(f.run('HELLO'), f.session.resp), withId(hello.get('HELLO')!));
  assert.equal(f.session.resp, 2);
  assert.equal(await wire(f.run('HELLO', '3', 'SETNAME', 'app1'), f.session.resp), withId(hello.get('HELLO 3 SETNAME app1')!));
  assert.equal(f.session.resp, 3);
  assert.equal(f.session.name, 'app1');
  assert.equal(await wire(f.run('CLIENT', 'GETNAME'), 3), hello.get('CLIENT GETNAME'));
  assert.equal(
    await wire(f.run('hello', '2', 'auth', 'default', 'anything', 'setname', 'app2'), f.session.resp),
    withId(hello.get('HELLO 2 AUTH default anything SETNAME app2')!),
  );
  assert.equal(f.session.resp, 2);
  assert.equal(f.session.name, 'app2');
});

test('HELLO errors as captured', async () => {
  const captured = loadCapture('command.txt');
  const f = fakeServer();
  const cases: [string[], string][] = [
    [['HELLO', '3', 'AUTH'], 'HELLO 3 AUTH'],
    [['HELLO', '3', 'AUTH', 'default'], 'HELLO 3 AUTH default'],
    [['HELLO', 'foo'], 'HELLO foo'],
    [['HELLO', '1'], 'HELLO 1'],
    [['HELLO', '3', 'SETNAME', 'bad name'], 'HELLO 3 SETNAME bad name'],
  ];
  for (const [argv, key] of cases) assert.equal(await wire(f.run(...argv)), captured.get(key), key);
  assert.equal(f.session.resp, 2, 'a failed HELLO does not switch protocol');
  assert.equal(await errorText(f.run('HELLO', '4')), 'NOPROTO unsupported protocol version');
  assert.equal(await errorText(f.run('HELLO', '3.0')), 'ERR Protocol version is not an integer or out of range');
  assert.equal(await errorText(f.run('HELLO', '2', 'SETNAME')), "ERR Syntax error in HELLO option 'SETNAME'");
  assert.equal(await errorText(f.run('HELLO', '2', 'AUTH', 'bob', 'x')), 'WRONGPASS invalid username-password pair or user is disabled.');
});

test('AUTH and HELLO with and without requirepass', async () => {
  const f = fakeServer();
  assert.equal(
    await errorText(f.run('AUTH', 'x')),
    'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?',
  );
  assert.equal(await wire(f.run('AUTH', 'default', 'anything')), '+OK\r\n');
  assert.equal(await errorText(f.run('AUTH', 'bob', 'x')), 'WRONGPASS invalid username-password pair or user is disabled.');
  assert.equal(await errorText(f.run('AUTH', 'a', 'b', 'c')), 'ERR syntax error');

  f.config.values.set('requirepass', 's3cret');
  f.session.authenticated = false;
  assert.match(await errorText(f.run('HELLO', '3')), /^NOAUTH HELLO must be called with the client already authenticated/);
  assert.equal(f.session.resp, 2);
  assert.equal(await errorText(f.run('AUTH', 'wrong')), 'WRONGPASS invalid username-password pair or user is disabled.');
  assert.equal(f.session.authenticated, false);
  assert.equal(await wire(f.run('AUTH', 's3cret')), '+OK\r\n');
  assert.equal(f.session.authenticated, true);
  f.session.authenticated = false;
  assert.equal(await errorText(f.run('HELLO', '3', 'AUTH', 'default', 'nope')), 'WRONGPASS invalid username-password pair or user is disabled.');
  const reply = await wire(f.run('HELLO', '3', 'AUTH', 'default', 's3cret'), 3);
  assert.ok(reply.startsWith('%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n'));
  assert.equal(f.session.authenticated, true);
  assert.equal(f.session.resp, 3);
});

test('SELECT in cluster mode, QUIT, RESET, READONLY/READWRITE/ASKING', async () => {
  const f = fakeServer();
  assert.equal(await wire(f.run('SELECT', '0')), '+OK\r\n');
  assert.equal(await errorText(f.run('SELECT', '1')), 'ERR SELECT is not allowed in cluster mode');
  assert.equal(await errorText(f.run('SELECT', '-1')), 'ERR SELECT is not allowed in cluster mode');
  assert.equal(await errorText(f.run('SELECT', 'x')), 'ERR value is not an integer or out of range');
  assert.equal(await errorText(f.run('SELECT', '99999999999')), 'ERR value is not an integer or out of range');
  assert.equal(await wire(f.run('READONLY')), '+OK\r\n');
  assert.equal(f.session.readonlyMode, true);
  assert.equal(await wire(f.run('READWRITE')), '+OK\r\n');
  assert.equal(f.session.readonlyMode, false);
  assert.equal(await wire(f.run('ASKING')), '+OK\r\n');
  assert.equal(f.session.asking, true);
  assert.equal(await wire(f.run('RESET')), '+RESET\r\n');
  assert.equal(f.session.resets, 1);
  assert.equal(await wire(f.run('QUIT')), '+OK\r\n');
  assert.equal(f.session.closedAfterReply, true);
});

test('CLIENT ID, SETNAME/GETNAME, SETINFO', async () => {
  const f = fakeServer();
  assert.equal(await wire(f.run('CLIENT', 'ID')), `:${f.session.id}\r\n`);
  assert.equal(await wire(f.run('CLIENT', 'GETNAME')), '$-1\r\n');
  assert.equal(await wire(f.run('client', 'setname', 'ioredis-cluster(refresher)')), '+OK\r\n');
  assert.equal(await wire(f.run('CLIENT', 'GETNAME')), '$26\r\nioredis-cluster(refresher)\r\n');
  assert.equal(await errorText(f.run('CLIENT', 'SETNAME', 'a b')), 'ERR Client names cannot contain spaces, newlines or special characters.');
  assert.equal(await errorText(f.run('CLIENT', 'SETNAME', 'a\nb')), 'ERR Client names cannot contain spaces, newlines or special characters.');
  assert.equal(await errorText(f.run('CLIENT', 'SETNAME')), "ERR wrong number of arguments for 'client|setname' command");
  assert.equal(await wire(f.run('CLIENT', 'SETNAME', '')), '+OK\r\n');
  assert.equal(await wire(f.run('CLIENT', 'GETNAME')), '$-1\r\n');
  assert.equal(await wire(f.run('CLIENT', 'SETINFO', 'LIB-NAME', 'ioredis')), '+OK\r\n');
  assert.equal(await wire(f.run('CLIENT', 'SETINFO', 'lib-ver', '5.11.1')), '+OK\r\n');
  assert.equal(f.session.libName, 'ioredis');
  assert.equal(f.session.libVer, '5.11.1');
  assert.equal(await errorText(f.run('CLIENT', 'SETINFO', 'LIB-NAME', 'has space')), 'ERR LIB-NAME cannot contain spaces, newlines or special characters.');
  assert.equal(await errorText(f.run('CLIENT', 'SETINFO', 'foo', 'x')), "ERR Unrecognized option 'foo'");
  assert.equal(await errorText(f.run('CLIENT', 'MAINT_NOTIFICATIONS', 'ON')), "ERR unknown subcommand 'MAINT_NOTIFICATIONS'. Try CLIENT HELP.");
  assert.equal(await errorText(f.run('CLIENT', 'NO-EVICT', 'maybe')), 'ERR syntax error');
  assert.equal(await wire(f.run('CLIENT', 'NO-EVICT', 'on')), '+OK\r\n');
  assert.equal(await wire(f.run('CLIENT', 'NO-TOUCH', 'OFF')), '+OK\r\n');
  assert.ok((await errorText(f.run('CLIENT', 'TRACKING', 'on'))).startsWith('ERR '));
  const help = (await f.run('CLIENT', 'HELP')) as { value: string }[];
  assert.equal(help[0]!.value, 'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  assert.equal(help.at(-1)!.value, '    Prints this help.');
});

test('CLIENT LIST / INFO lines in Redis 7.0 field order, with TYPE and ID filters', async () => {
  const f = fakeServer();
  f.session.name = 'me';
  f.session.libName = 'node-redis';
  f.session.libVer = '5.12.1';
  f.sessions[1]!.patterns = 2;
  f.sessions[1]!.lastInteractionMs = f.nowMs - 3000;
  f.run('CLIENT', 'SETNAME', 'me'); // records cmd=client|setname
  const infoText = ((await f.run('CLIENT', 'INFO')) as VerbatimReply).text;
  assert.equal(
    infoText,
    `id=7 addr=127.0.0.1:50001 laddr=127.0.0.1:6379 fd=-1 name=me age=65 idle=65 flags=N db=0 sub=0 psub=0 ` +
      `ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 ` +
      `events=r cmd=client|info user=default redir=-1 resp=2 lib-name=node-redis lib-ver=5.12.1\n`,
  );
  const fields = infoText.trim().split(' ').map((kv) => kv.split('=')[0]);
  assert.deepEqual(fields, [
    'id', 'addr', 'laddr', 'fd', 'name', 'age', 'idle', 'flags', 'db', 'sub', 'psub', 'ssub', 'multi', 'qbuf',
    'qbuf-free', 'argv-mem', 'multi-mem', 'rbs', 'rbp', 'obl', 'oll', 'omem', 'tot-mem', 'events', 'cmd', 'user',
    'redir', 'resp', 'lib-name', 'lib-ver',
  ]);
  const list = async (...args: string[]) => ((await f.run('CLIENT', 'LIST', ...args)) as VerbatimReply).text;
  const all = await list();
  assert.equal(all.split('\n').length, 4);
  assert.ok(all.endsWith('\n'));
  assert.match(all, /^id=8 .* idle=3 flags=P .* psub=2 /m);
  assert.deepEqual((await list('TYPE', 'pubsub')).match(/^id=\d+/gm), ['id=8']);
  assert.deepEqual((await list('TYPE', 'normal')).match(/^id=\d+/gm), ['id=7', 'id=9']);
  assert.equal(await list('TYPE', 'replica'), '');
  assert.deepEqual((await list('ID', '9', '7', '12345')).match(/^id=\d+/gm), ['id=9', 'id=7']);
  assert.equal(await errorText(f.run('CLIENT', 'LIST', 'TYPE', 'foo')), "ERR Unknown client type 'foo'");
  assert.equal(await errorText(f.run('CLIENT', 'LIST', 'ID', 'abc')), 'ERR Invalid client ID');
  assert.equal(await errorText(f.run('CLIENT', 'LIST', 'foo')), 'ERR syntax error');
  // RESP3: a verbatim string.
  const verbatim = await wire(f.run('CLIENT', 'INFO'), 3);
  assert.ok(verbatim.startsWith(`=${4 + infoText.length}\r\ntxt:id=7 `), verbatim);
});

test('CLIENT KILL: old and new forms', async () => {
  const f = fakeServer();
  const [me, other, remote] = f.sessions as [FakeSession, FakeSession, FakeSession];
  assert.equal(await errorText(f.run('CLIENT', 'KILL', '1.2.3.4:5')), 'ERR No such client');
  assert.equal(await wire(f.run('CLIENT', 'KILL', '127.0.0.1:50002')), '+OK\r\n');
  assert.equal(other.killed, true);
  assert.equal(await wire(f.run('CLIENT', 'KILL', 'ID', '99999')), ':0\r\n');
  assert.equal(await errorText(f.run('CLIENT', 'KILL', 'ID', 'abc')), 'ERR client-id should be greater than 0');
  assert.equal(await errorText(f.run('CLIENT', 'KILL', 'foo', 'bar')), 'ERR syntax error');
  assert.equal(await errorText(f.run('CLIENT', 'KILL', 'SKIPME', 'maybe')), 'ERR syntax error');
  assert.equal(await errorText(f.run('CLIENT', 'KILL', 'ID', '9', 'TYPE')), 'ERR syntax error');
  assert.equal(await errorText(f.run('CLIENT', 'KILL', 'USER', 'bob')), "ERR No such user 'bob'");
  assert.equal(await wire(f.run('CLIENT', 'KILL', 'LADDR', '10.0.0.1:6379')), ':1\r\n');
  assert.equal(remote.killed, true);
  // New form skips the caller unless SKIPME no; the old form may kill the caller (after the reply).
  assert.equal(await wire(f.run('CLIENT', 'KILL', 'ADDR', '127.0.0.1:50001')), ':0\r\n');
  assert.equal(me.closedAfterReply, false);
  assert.equal(await wire(f.run('CLIENT', 'KILL', 'ADDR', '127.0.0.1:50001', 'SKIPME', 'no')), ':1\r\n');
  assert.equal(me.closedAfterReply, true);
  assert.equal(me.killed, false);
});
