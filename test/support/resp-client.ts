// Test helpers for every suite that talks RESP over a socket: a free port, request encoding, the
// redis-parser reply parser (an implementation independent of ours), and a raw byte-exact client.
import { createRequire } from 'node:module';
import net from 'node:net';

export const HOST = '127.0.0.1';

// redis-parser ships no types; this is the little of it the tests use.
export interface RespParser {
  execute(chunk: Buffer): void;
}
export type RespParserCtor = new (handlers: {
  returnReply(reply: unknown): void;
  returnError(error: Error): void;
  returnFatalError?(error: Error): void;
  returnBuffers?: boolean;
  stringNumbers?: boolean;
}) => RespParser;
export const RedisParser = createRequire(import.meta.url)('redis-parser') as RespParserCtor;

/** A TCP port that was free a moment ago on 127.0.0.1 (bind port 0, read it back, release it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Encodes argv as a RESP multibulk request, as latin1 text (one char = one byte). */
export function encodeCommand(argv: readonly string[]): string {
  let out = `*${argv.length}\r\n`;
  for (const arg of argv) out += `$${arg.length}\r\n${arg}\r\n`;
  return out;
}

/** Encodes argv as a RESP multibulk request, as bytes. */
export function encodeRequest(argv: readonly string[]): Buffer {
  return Buffer.from(encodeCommand(argv), 'latin1');
}

/** Opens a TCP connection to 127.0.0.1:port; rejects if it is refused. */
export function connectSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, HOST);
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * A raw client: `send(argv)` resolves with the exact bytes of one reply. RESP2 replies are delimited
 * with redis-parser; after `HELLO 3` (RESP3) replies are delimited by a short quiet period instead.
 */
export class ReplyBytesClient {
  private pending: { resolve: (b: Buffer) => void; chunks: Buffer[] } | null = null;
  private parser: RespParser;
  private resp3 = false;
  private quietTimer: NodeJS.Timeout | null = null;

  private constructor(private readonly socket: net.Socket) {
    this.parser = new RedisParser({
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

  static async connect(port: number): Promise<ReplyBytesClient> {
    return new ReplyBytesClient(await connectSocket(port));
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
