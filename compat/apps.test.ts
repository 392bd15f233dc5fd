// "Drop-in for real apps": ioredis 5/6 and node-redis 5/6 against a started node, through each
// library's own API: MULTI/EXEC (`multi().set().get().exec()`), a WATCH conflict, pipelines,
// Pub/Sub (subscribe, psubscribe, delivery, unsubscribe), and a BullMQ-style reliable queue where
// two workers hand jobs off with BLMOVE and acknowledge them with LREM. COMPAT_TARGET=redis runs
// the same file against a real redis-server, which checks the tests themselves.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis as Redis5, Cluster as Cluster5 } from 'ioredis';
import { Redis as Redis6, Cluster as Cluster6 } from 'ioredis6';
import * as redis5 from 'redis';
import * as redis6 from 'redis6';
import { startTarget, type Target } from './harness.js';

/** What every test needs of a library, behind one small adapter per library family. */
interface AppClient {
  send(args: string[]): Promise<unknown>;
  /** The library's fluent transaction: multi().set(k, v).get(k).exec(); replies in order. */
  setGetTransaction(key: string, value: string): Promise<unknown[]>;
  /** WATCH key, run `between`, then MULTI SET EXEC: true if EXEC ran, false if WATCH aborted it. */
  watchedSet(key: string, value: string, between: () => Promise<void>): Promise<boolean>;
  /** The library's pipeline of SET, INCR, GET; replies in order. */
  pipeline(key: string): Promise<unknown[]>;
  subscribe(channel: string, onMessage: (channel: string, message: string) => void): Promise<void>;
  psubscribe(pattern: string, onMessage: (channel: string, message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- ioredis

interface IoRedis {
  call(...args: string[]): Promise<unknown>;
  multi(): IoChain;
  pipeline(): IoChain;
  watch(key: string): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  psubscribe(pattern: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: string[]) => void): unknown;
  quit(): Promise<unknown>;
}
interface IoChain {
  set(key: string, value: string): IoChain;
  get(key: string): IoChain;
  incr(key: string): IoChain;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

function ioAdapter(client: IoRedis): AppClient {
  const unwrap = (results: Array<[Error | null, unknown]> | null): unknown[] => {
    assert.ok(results !== null);
    return results.map(([error, value]) => error ?? value);
  };
  return {
    send: (args) => client.call(...args),
    setGetTransaction: async (key, value) => unwrap(await client.multi().set(key, value).get(key).exec()),
    watchedSet: async (key, value, between) => {
      await client.watch(key);
      await between();
      return (await client.multi().set(key, value).exec()) !== null;
    },
    pipeline: async (key) => unwrap(await client.pipeline().set(key, '10').incr(key).get(key).exec()),
    subscribe: async (channel, onMessage) => {
      client.on('message', (ch, message) => onMessage(ch!, message!));
      await client.subscribe(channel);
    },
    psubscribe: async (pattern, onMessage) => {
      client.on('pmessage', (_pattern, ch, message) => onMessage(ch!, message!));
      await client.psubscribe(pattern);
    },
    unsubscribe: async (channel) => {
      await client.unsubscribe(channel);
    },
    close: async () => {
      await client.quit();
    },
  };
}

// ---------------------------------------------------------------- node-redis

interface NodeRedis {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  sendCommand(args: string[]): Promise<unknown>;
  multi(): NrChain;
  watch(key: string): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
  pSubscribe(pattern: string, listener: (message: string, channel: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}
interface NrChain {
  set(key: string, value: string): NrChain;
  get(key: string): NrChain;
  incr(key: string): NrChain;
  exec(): Promise<unknown[]>;
  execAsPipeline(): Promise<unknown[]>;
}

function nodeRedisAdapter(client: NodeRedis, WatchError: Function): AppClient {
  return {
    send: (args) => client.sendCommand(args),
    setGetTransaction: (key, value) => client.multi().set(key, value).get(key).exec(),
    watchedSet: async (key, value, between) => {
      await client.watch(key);
      await between();
      try {
        await client.multi().set(key, value).exec();
        return true;
      } catch (error) {
        if (error instanceof WatchError) return false;
        throw error;
      }
    },
    pipeline: (key) => client.multi().set(key, '10').incr(key).get(key).execAsPipeline(),
    subscribe: (channel, onMessage) => client.subscribe(channel, (message, ch) => onMessage(ch, message)),
    psubscribe: (pattern, onMessage) => client.pSubscribe(pattern, (message, ch) => onMessage(ch, message)),
    unsubscribe: (channel) => client.unsubscribe(channel),
    close: () => client.close(),
  };
}

// ---------------------------------------------------------------- the libraries

let target: Target;

before(async () => {
  target = await startTarget();
});

after(async () => {
  await target?.stop();
});

const LIBRARIES: Array<{ name: string; open(): Promise<AppClient> }> = [
  {
    name: 'ioredis 5 (RESP2)',
    open: async () => ioAdapter(new Redis5({ host: target.host, port: target.port, maxRetriesPerRequest: 1 }) as unknown as IoRedis),
  },
  {
    name: 'ioredis 6 (RESP3)',
    open: async () => ioAdapter(new Redis6({ host: target.host, port: target.port, maxRetriesPerRequest: 1 }) as unknown as IoRedis),
  },
  {
    name: 'ioredis 5 Cluster (RESP2)',
    open: async () => ioAdapter(new Cluster5([{ host: target.host, port: target.port }]) as unknown as IoRedis),
  },
  {
    name: 'ioredis 6 Cluster (RESP3)',
    open: async () => ioAdapter(new Cluster6([{ host: target.host, port: target.port }]) as unknown as IoRedis),
  },
  {
    name: 'node-redis 5 (RESP2)',
    open: async () => {
      const client = redis5.createClient({ url: `redis://${target.host}:${target.port}` }) as unknown as NodeRedis;
      await client.connect();
      return nodeRedisAdapter(client, redis5.WatchError);
    },
  },
  {
    name: 'node-redis 6 (RESP3)',
    open: async () => {
      const client = redis6.createClient({ url: `redis://${target.host}:${target.port}` }) as unknown as NodeRedis;
      await client.connect();
      return nodeRedisAdapter(client, redis6.WatchError);
    },
  },
];

/** Polls `done` every few ms, up to `timeoutMs`. */
async function until(done: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

for (const library of LIBRARIES) {
  describe(library.name, () => {
    const opened: AppClient[] = [];
    const open = async (): Promise<AppClient> => {
      const client = await library.open();
      opened.push(client);
      return client;
    };
    const tag = `{${library.name.replace(/\W+/g, '')}}`;
    const key = (name: string) => `${tag}${name}`;

    after(async () => {
      await Promise.all(opened.map((client) => client.close().catch(() => {})));
    });

    test('transaction: multi().set().get().exec()', async () => {
      const client = await open();
      assert.deepEqual(await client.setGetTransaction(key('tx'), 'v1'), ['OK', 'v1']);
    });

    test('WATCH: a write by another client aborts the transaction; without one it commits', async () => {
      const client = await open();
      const other = await open();
      const conflicted = await client.watchedSet(key('w'), 'mine', async () => {
        await other.send(['SET', key('w'), 'theirs']);
      });
      assert.equal(conflicted, false);
      assert.equal(await other.send(['GET', key('w')]), 'theirs');
      assert.equal(await client.watchedSet(key('w'), 'mine', async () => {}), true);
      assert.equal(await other.send(['GET', key('w')]), 'mine');
    });

    test('pipeline', async () => {
      const client = await open();
      assert.deepEqual(await client.pipeline(key('p')), ['OK', 11, '11']);
    });

    test('Pub/Sub: subscribe, psubscribe, delivery, unsubscribe', async () => {
      const subscriber = await open();
      const publisher = await open();
      const channel = `${tag}news`;
      const got: string[] = [];
      await subscriber.subscribe(channel, (ch, message) => got.push(`message ${ch} ${message}`));
      await subscriber.psubscribe(`${tag}n*`, (ch, message) => got.push(`pmessage ${ch} ${message}`));
      assert.equal(await publisher.send(['PUBLISH', channel, 'hello']), 2);
      await until(() => got.length >= 2);
      assert.deepEqual(got.sort(), [`message ${channel} hello`, `pmessage ${channel} hello`]);
      await subscriber.unsubscribe(channel);
      assert.equal(await publisher.send(['PUBLISH', channel, 'again']), 1);
      await until(() => got.length >= 3);
      assert.equal(got[2], `pmessage ${channel} again`);
    });

    test('reliable queue: LPUSH producer, two BLMOVE workers, LREM acknowledgements', async () => {
      const producer = await open();
      const workers = [await open(), await open()];
      const source = key('jobs');
      const processing = key('processing');
      const JOBS = 40;
      const done: string[][] = [[], []];
      let stop = false;
      const work = async (index: number): Promise<void> => {
        const worker = workers[index]!;
        // Bounded: at most one wait per job plus the final timeouts.
        for (let round = 0; round < JOBS * 4 && !stop; round++) {
          const job = (await worker.send(['BLMOVE', source, processing, 'RIGHT', 'LEFT', '0.2'])) as string | null;
          if (job === null) continue;
          done[index]!.push(job);
          assert.equal(await worker.send(['LREM', processing, '1', job]), 1);
        }
      };
      const running = [work(0), work(1)];
      for (let i = 0; i < JOBS; i++) {
        await producer.send(['LPUSH', source, `job-${String(i).padStart(3, '0')}`]);
        if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await until(() => done[0]!.length + done[1]!.length >= JOBS, 5000);
      stop = true;
      await Promise.all(running);
      const all = [...done[0]!, ...done[1]!].sort();
      assert.equal(all.length, JOBS, 'every job processed');
      assert.equal(new Set(all).size, JOBS, 'no job processed twice');
      for (const jobs of done) assert.deepEqual(jobs, [...jobs].sort(), 'in order per worker');
      assert.ok(done[0]!.length > 0 && done[1]!.length > 0, 'both workers took jobs');
      assert.equal(await producer.send(['LLEN', processing]), 0);
      assert.equal(await producer.send(['LLEN', source]), 0);
    });
  });
}
