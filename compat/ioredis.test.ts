// ioredis 5 and 6 against a started node, standalone and as a Cluster client: strings, expiry,
// pipelines, binary Buffers and Redis's error texts. ioredis 6 speaks RESP3 by default.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis as Redis5, Cluster as Cluster5 } from 'ioredis';
import { Redis as Redis6, Cluster as Cluster6 } from 'ioredis6';
import { startTarget, type Target } from './harness.js';

/** The part of the ioredis API these tests use; both versions, standalone and cluster, have it. */
interface IoClient {
  set(key: string | Buffer, value: string | Buffer): Promise<unknown>;
  get(key: string): Promise<string | null>;
  getBuffer(key: string | Buffer): Promise<Buffer | null>;
  incr(key: string): Promise<number>;
  mset(...args: string[]): Promise<unknown>;
  mget(...keys: string[]): Promise<Array<string | null>>;
  ttl(key: string): Promise<number>;
  pttl(key: string): Promise<number>;
  call(command: string, ...args: Array<string | number>): Promise<unknown>;
  pipeline(): IoPipeline;
  quit(): Promise<unknown>;
}
interface IoPipeline {
  set(key: string, value: string): IoPipeline;
  incr(key: string): IoPipeline;
  get(key: string): IoPipeline;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

let target: Target;

before(async () => {
  target = await startTarget();
});

after(async () => {
  await target?.stop();
});

type Connect = (mode: 'standalone' | 'cluster') => IoClient;

const VERSIONS: Array<{ name: string; connect: Connect; resp3: boolean }> = [
  {
    name: 'ioredis 5',
    connect: (mode) =>
      (mode === 'standalone'
        ? new Redis5({ host: target.host, port: target.port, maxRetriesPerRequest: 1 })
        : new Cluster5([{ host: target.host, port: target.port }], { redisOptions: { maxRetriesPerRequest: 1 } })
      ) as unknown as IoClient,
    resp3: false,
  },
  {
    name: 'ioredis 6',
    connect: (mode) =>
      (mode === 'standalone'
        ? new Redis6({ host: target.host, port: target.port, maxRetriesPerRequest: 1 })
        : new Cluster6([{ host: target.host, port: target.port }], { redisOptions: { maxRetriesPerRequest: 1 } })
      ) as unknown as IoClient,
    resp3: true,
  },
];

for (const version of VERSIONS) {
  for (const mode of ['standalone', 'cluster'] as const) {
    describe(`${version.name} ${mode}`, () => {
      let client: IoClient;
      // One hash tag per suite keeps multi-key commands and pipelines in one slot.
      const tag = `{${version.name.replace(' ', '')}-${mode}}`;
      const key = (name: string) => `${tag}${name}`;

      before(() => {
        client = version.connect(mode);
      });

      after(async () => {
        await client?.quit();
      });

      test('strings', async () => {
        assert.equal(await client.set(key('s'), 'hello'), 'OK');
        assert.equal(await client.get(key('s')), 'hello');
        assert.equal(await client.get(key('missing')), null);
        assert.equal(await client.incr(key('n')), 1);
        assert.equal(await client.incr(key('n')), 2);
        assert.equal(await client.call('INCRBY', key('n'), 40), 42);
        assert.equal(await client.call('APPEND', key('s'), ' world'), 11);
        assert.equal(await client.call('STRLEN', key('s')), 11);
        assert.equal(await client.mset(key('a'), '1', key('b'), '2'), 'OK');
        assert.deepEqual(await client.mget(key('a'), key('b'), key('missing')), ['1', '2', null]);
        assert.equal(await client.call('DEL', key('a'), key('b'), key('missing')), 2);
        assert.equal(await client.call('EXISTS', key('a')), 0);
      });

      test('expiry', async () => {
        assert.equal(await client.call('SET', key('ex'), 'v', 'EX', 100), 'OK');
        const ttl = await client.ttl(key('ex'));
        assert.ok(ttl > 0 && ttl <= 100, `ttl ${ttl}`);
        assert.equal(await client.call('PERSIST', key('ex')), 1);
        assert.equal(await client.ttl(key('ex')), -1);
        assert.equal(await client.ttl(key('missing')), -2);
        assert.equal(await client.call('SET', key('px'), 'v', 'PX', 40), 'OK');
        const pttl = await client.pttl(key('px'));
        assert.ok(pttl > 0 && pttl <= 40, `pttl ${pttl}`);
        await sleep(80);
        assert.equal(await client.get(key('px')), null);
        assert.equal(await client.call('EXISTS', key('px')), 0);
      });

      test('pipeline keeps order and reports a failed command in place', async () => {
        const results = await client.pipeline().set(key('p'), '1').incr(key('p')).get(key('p')).exec();
        assert.deepEqual(results, [[null, 'OK'], [null, 2], [null, '2']]);
        const mixed = await client.pipeline().set(key('p'), 'x').incr(key('p')).get(key('p')).exec();
        assert.ok(mixed);
        assert.deepEqual(mixed[0], [null, 'OK']);
        assert.equal(mixed[1]?.[0]?.message, 'ERR value is not an integer or out of range');
        assert.deepEqual(mixed[2], [null, 'x']);
      });

      test('binary Buffers round trip', async () => {
        const value = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
        const binaryKey = Buffer.concat([Buffer.from(tag), Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0x80])]);
        assert.equal(await client.set(binaryKey, value), 'OK');
        assert.deepEqual(await client.getBuffer(binaryKey), value);
        assert.equal(await client.getBuffer(key('missing')), null);
      });

      test('server errors surface as ReplyError with Redis text', async () => {
        const reply = (message: string) => ({ name: 'ReplyError', message });
        // A key is given: ioredis Cluster needs one to pick a node.
        await assert.rejects(client.call('SET', key('s')), reply("ERR wrong number of arguments for 'set' command"));
        await assert.rejects(client.call('NOSUCHCMD', 'a', 'b'),
          reply("ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "));
        assert.equal(await client.call('RPUSH', key('list'), 'x'), 1);
        await assert.rejects(client.get(key('list')),
          reply('WRONGTYPE Operation against a key holding the wrong kind of value'));
        // 'a' and 'b' hash to different slots.
        await assert.rejects(client.mget('a', 'b'), reply("CROSSSLOT Keys in request don't hash to the same slot"));
      });
    });
  }

  test(`${version.name} negotiates RESP${version.resp3 ? 3 : 2} (map replies)`, async () => {
    // With replyMapping 'resp3', ioredis 6 turns a RESP3 map into an object; RESP2 has only arrays.
    const options = { host: target.host, port: target.port, replyMapping: 'resp3' as const };
    const client = version.resp3 ? new Redis6(options) : new Redis5({ host: target.host, port: target.port });
    try {
      const config = await client.call('CONFIG', 'GET', 'appendonly');
      assert.deepEqual(config, version.resp3 ? { appendonly: 'no' } : ['appendonly', 'no']);
    } finally {
      await client.quit();
    }
  });
}
