// node-redis 5 (RESP2 by default) and 6 (RESP3 by default: HELLO 3 must succeed or nothing connects)
// against a started node, as a client and as a cluster client: strings, expiry, pipelines, binary
// Buffers and Redis's error texts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as redis5 from 'redis';
import * as redis6 from 'redis6';
import { startTarget, type Target } from './harness.js';

type Args = Array<string | Buffer>;

/** The part of the node-redis API these tests use, the same in both versions and both modes. */
interface NrClient {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  set(key: string | Buffer, value: string | Buffer, options?: object): Promise<string | null>;
  get(key: string | Buffer): Promise<string | null>;
  incr(key: string): Promise<number>;
  mSet(pairs: Array<[string, string]>): Promise<string>;
  mGet(keys: string[]): Promise<Array<string | null>>;
  ttl(key: string): Promise<number>;
  pTTL(key: string): Promise<number>;
  multi(): NrMulti;
  withTypeMapping(mapping: object): NrClient;
}
interface NrMulti {
  set(key: string, value: string): NrMulti;
  incr(key: string): NrMulti;
  get(key: string): NrMulti;
  execAsPipeline(): Promise<unknown[]>;
}

type Send = (args: Args, firstKey?: string) => Promise<unknown>;

interface Version {
  name: string;
  resp: 2 | 3;
  /** A client and its raw-command function; the cluster client needs the key that picks the node. */
  connect(mode: 'standalone' | 'cluster', url: string): { client: NrClient; send: Send };
  ErrorReply: Function;
  blobString: number;
  /** node-redis 6's cluster client splits multi-key commands such as MGET per slot. */
  clusterSplitsMultiKey: boolean;
}

const VERSIONS: Version[] = [
  {
    name: 'node-redis 5',
    resp: 2,
    connect(mode, url) {
      if (mode === 'standalone') {
        const client = redis5.createClient({ url });
        return { client: client as unknown as NrClient, send: (args) => client.sendCommand(args) };
      }
      const cluster = redis5.createCluster({ rootNodes: [{ url }] });
      return { client: cluster as unknown as NrClient, send: (args, key) => cluster.sendCommand(key, false, args) };
    },
    ErrorReply: redis5.ErrorReply,
    blobString: redis5.RESP_TYPES.BLOB_STRING,
    clusterSplitsMultiKey: false,
  },
  {
    name: 'node-redis 6',
    resp: 3,
    connect(mode, url) {
      if (mode === 'standalone') {
        const client = redis6.createClient({ url });
        return { client: client as unknown as NrClient, send: (args) => client.sendCommand(args) };
      }
      const cluster = redis6.createCluster({ rootNodes: [{ url }] });
      return { client: cluster as unknown as NrClient, send: (args, key) => cluster.sendCommand(key, false, args) };
    },
    ErrorReply: redis6.ErrorReply,
    blobString: redis6.RESP_TYPES.BLOB_STRING,
    clusterSplitsMultiKey: true,
  },
];

let target: Target;

before(async () => {
  target = await startTarget();
});

after(async () => {
  await target?.stop();
});

for (const version of VERSIONS) {
  for (const mode of ['standalone', 'cluster'] as const) {
    describe(`${version.name} ${mode} (RESP${version.resp})`, () => {
      let client: NrClient;
      let send: Send;
      const tag = `{${version.name.replace(' ', '')}-${mode}}`;
      const key = (name: string) => `${tag}${name}`;

      before(async () => {
        ({ client, send } = version.connect(mode, `redis://${target.host}:${target.port}`));
        await client.connect();
      });

      after(async () => {
        await client?.close();
      });

      test('strings', async () => {
        assert.equal(await client.set(key('s'), 'hello'), 'OK');
        assert.equal(await client.get(key('s')), 'hello');
        assert.equal(await client.get(key('missing')), null);
        assert.equal(await client.incr(key('n')), 1);
        assert.equal(await client.incr(key('n')), 2);
        assert.equal(await send(['INCRBY', key('n'), '40'], key('n')), 42);
        assert.equal(await client.mSet([[key('a'), '1'], [key('b'), '2']]), 'OK');
        assert.deepEqual(await client.mGet([key('a'), key('b'), key('missing')]), ['1', '2', null]);
        assert.equal(await send(['DEL', key('a'), key('b'), key('missing')], key('a')), 2);
      });

      test('expiry', async () => {
        assert.equal(await client.set(key('ex'), 'v', { expiration: { type: 'EX', value: 100 } }), 'OK');
        const ttl = await client.ttl(key('ex'));
        assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`);
        assert.equal(await client.ttl(key('missing')), -2);
        assert.equal(await client.set(key('px'), 'v', { expiration: { type: 'PX', value: 40 } }), 'OK');
        const pttl = await client.pTTL(key('px'));
        assert.ok(pttl > 0 && pttl <= 40, `pttl ${pttl}`);
        await sleep(80);
        assert.equal(await client.get(key('px')), null);
      });

      test('pipelines: explicit and automatic', async () => {
        const replies = await client.multi().set(key('p'), '1').incr(key('p')).get(key('p')).execAsPipeline();
        assert.deepEqual(replies, ['OK', 2, '2']);
        // Commands issued in the same tick are written together; a failure stays in its place.
        const settled = await Promise.allSettled([
          client.set(key('q'), 'x'),
          client.incr(key('q')),
          client.get(key('q')),
        ]);
        assert.deepEqual(settled[0], { status: 'fulfilled', value: 'OK' });
        assert.equal(settled[1].status, 'rejected');
        assert.equal((settled[1] as PromiseRejectedResult).reason.message, 'ERR value is not an integer or out of range');
        assert.deepEqual(settled[2], { status: 'fulfilled', value: 'x' });
      });

      test('binary Buffers round trip', async () => {
        const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const binaryKey = Buffer.concat([Buffer.from(tag), Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80])]);
        assert.equal(await client.set(binaryKey, value), 'OK');
        const buffers = client.withTypeMapping({ [version.blobString]: Buffer });
        assert.deepEqual(await buffers.get(binaryKey), value);
        assert.equal(await buffers.get(key('missing')), null);
      });

      test('server errors surface as ErrorReply with Redis text', async () => {
        const reply = (message: string) => (err: Error) => {
          assert.ok(err instanceof version.ErrorReply, `${err.constructor.name}: ${err.message}`);
          assert.equal(err.message, message);
          return true;
        };
        await assert.rejects(send(['SET', key('s')], key('s')), reply("ERR wrong number of arguments for 'set' command"));
        await assert.rejects(send(['NOSUCHCMD', 'a', 'b'], 'a'),
          reply("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "));
        assert.equal(await send(['RPUSH', key('list'), 'x'], key('list')), 1);
        await assert.rejects(client.get(key('list')),
          reply('WRONGTYPE Operation against a key holding the wrong kind of value'));
        // 'a' and 'b' hash to different slots.
        if (version.clusterSplitsMultiKey && mode === 'cluster') assert.deepEqual(await send(['MGET', 'a', 'b'], 'a'), [null, null]);
        else await assert.rejects(send(['MGET', 'a', 'b'], 'a'), reply("CROSSSLOT Keys in request don't hash to the same slot"));
      });

      test(`map replies follow RESP${version.resp}`, async () => {
        const config = await send(['CONFIG', 'GET', 'appendonly'], 'appendonly');
        assert.deepEqual(config, version.resp === 3 ? { appendonly: 'no' } : ['appendonly', 'no']);
      });
    });
  }
}
