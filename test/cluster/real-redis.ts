// Test helper: a real redis-server (7.0.x) on a free port, and a raw RESP client that returns each
// reply's exact bytes. Used to check slotraft's replies against the real thing side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface RespParser {
  execute(chunk: Buffer): void;
}
type ParserCtor = new (options: {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnBuffers?: boolean;
}) => RespParser;
const Parser = createRequire(import.meta.url)('redis-parser') as ParserCtor;

/** A free TCP port on 127.0.0.1 (bind port 0, read it back, release it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Encodes argv as a RESP multibulk request (latin1 strings). */
export function encodeRequest(argv: readonly string[]): Buffer {
  const parts = [`*${argv.length}\r\n`];
  for (const arg of argv) parts.push(`$${Buffer.byteLength(arg, 'latin1')}\r\n${arg}\r\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

/**
 * A raw client: `send(argv)` resolves with the exact bytes of one reply. RESP2 replies are delimited
 * with redis-parser; after `HELLO 3` (RESP3) replies are delimited by a short quiet period instead.
 */
export class RawClient {
  private pending: { resolve: (b: Buffer) => void; chunks: Buffer[] } | null = null;
  private parser: RespParser;
  private resp3 = false;
  private quietTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly socket: net.Socket) {
    this.parser = new Parser({
      returnReply: () => this.finish(),
      returnError: () => this.finish(),
      returnBuffers: true,
    });
    socket.on('data', (chunk) => {
      if (!this.pending) return;
      this.pending.chunks.push(chunk);
      if (this.resp3) {
        if (this.quietTimer) clearTimeout(this.quietTimer);
        this.quietTimer = setTimeout(() => this.finish(), 60);
      } else {
        this.parser.execute(chunk);
      }
    });
  }

  static async connect(port: number): Promise<RawClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  async send(argv: readonly string[]): Promise<Buffer> {
    const reply = await new Promise<Buffer>((resolve) => {
      this.pending = { resolve, chunks: [] };
      this.socket.write(encodeRequest(argv));
    });
    if (argv[0]!.toLowerCase() === 'hello' && argv[1] === '3') this.resp3 = true;
    return reply;
  }

  private finish(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    pending.resolve(Buffer.concat(pending.chunks));
  }

  close(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.socket.destroy();
  }
}

export interface RealRedis {
  readonly port: number;
  readonly busPort: number;
  client(): Promise<RawClient>;
  stop(): Promise<void>;
}

/** Starts a cluster-enabled redis-server owning all slots; with waitForOk, once cluster_state is ok (~1 s). */
export async function startRealClusterRedis(options: { waitForOk?: boolean } = {}): Promise<RealRedis> {
  const port = await freePort();
  const busPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'slotraft-real-redis-'));
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
      '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--dir', dir,
      '--cluster-port', String(busPort), '--cluster-announce-ip', '127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const stop = async (): Promise<void> => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    let admin: RawClient | undefined;
    for (let attempt = 0; attempt < 100 && !admin; attempt++) {
      admin = await RawClient.connect(port).catch(async () => {
        await new Promise((r) => setTimeout(r, 50));
        return undefined;
      });
    }
    if (!admin) throw new Error('redis-server did not start');
    await admin.send(['CLUSTER', 'ADDSLOTSRANGE', '0', '16383']);
    for (let attempt = 0; options.waitForOk && attempt < 100; attempt++) {
      const info = (await admin.send(['CLUSTER', 'INFO'])).toString('latin1');
      if (info.includes('cluster_state:ok')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    admin.close();
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, busPort, client: () => RawClient.connect(port), stop };
}
