// One client connection: its Session state, its request decoder and its replies.
//
// Requests of a chunk run one after the other; their replies collect in one ReplyWriter and leave
// in one socket write at the end of the chunk. A command may answer with a Promise: its reply keeps
// its place and later replies wait behind it (a FIFO of pending replies, bounded). Backpressure:
// when the socket holds more than OUTPUT_PAUSE_BYTES unsent, the connection stops reading and
// running requests until the socket drains, so a client that never reads cannot grow the server.

import type { Socket } from 'node:net';
import type { ServerApi, ServerContext, Session } from '../commands/server-context.js';
import { ProtocolError, RequestDecoder } from '../resp/decoder.js';
import { ReplyWriter, type Protocol } from '../resp/encoder.js';
import { ErrorReply, type RawReply, type Reply } from '../resp/reply.js';
import type { OutputBufferLimit } from './config.js';
import type { Dispatcher, DispatchClient } from './dispatch.js';
import type { Logger } from './logger.js';
import { ClientPubSub, pubsubOutputLimit, type Subscriber } from './pubsub.js';
import { ClientTransaction } from './transactions.js';
import type { Stats } from './stats.js';

/** Unsent bytes in the socket above which the connection stops reading. */
export const OUTPUT_PAUSE_BYTES = 256 * 1024;
/** Replies waiting behind an asynchronous one; past this, requests wait in the input buffer. */
const PENDING_REPLIES_MAX = 1024;

/** What a connection needs from the server. */
export interface ConnectionHost {
  readonly api: ServerApi;
  readonly dispatcher: Dispatcher;
  readonly stats: Stats;
  readonly logger: Logger;
  passwordRequired(): boolean;
  bulkBytesMax(): number;
  queryBufferBytesMax(): number;
  outputLimit(): OutputBufferLimit;
  nowMs(): number;
  /** Called once when the connection is closed. */
  connectionClosed(connection: Connection): void;
}

interface PendingReply {
  done: boolean;
  reply: Reply;
  readonly resp: Protocol;
}

export class Connection implements Session, DispatchClient, Subscriber {
  resp: Protocol = 2;
  name = '';
  libName = '';
  libVer = '';
  authenticated: boolean;
  readonlyMode = false;
  asking = false;
  readonly remoteAddress: string;
  readonly localAddress: string;
  readonly createdAtMs: number;
  lastInteractionMs: number;
  lastCommand = 'NULL';
  readonly context: ServerContext;
  readonly session: Session = this;
  readonly transaction: ClientTransaction;
  readonly pubsub: ClientPubSub;
  /** Parked by a blocking command: no other request runs until it is answered. */
  blocked = false;

  private readonly decoder: RequestDecoder;
  private readonly writer = new ReplyWriter();
  /** Replies in request order, from the first one still awaited; empty when nothing is awaited. */
  private pending: PendingReply[] = [];
  /** Stop running requests: QUIT, a protocol error, or a kill. */
  private closing = false;
  private closed = false;
  private outputPaused = false;
  /** Since when the output has been above the soft limit (0: it is not). */
  private softLimitSinceMs = 0;
  /** A flush is queued for Pub/Sub messages delivered from other connections' commands. */
  private flushQueued = false;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.authenticated = !host.passwordRequired();
    this.remoteAddress = `${socket.remoteAddress}:${socket.remotePort}`;
    this.localAddress = `${socket.localAddress}:${socket.localPort}`;
    this.createdAtMs = host.nowMs();
    this.lastInteractionMs = this.createdAtMs;
    const dispatcher = host.dispatcher;
    this.transaction = new ClientTransaction(this, dispatcher.transactionHost(this));
    this.pubsub = new ClientPubSub(dispatcher.pubsub, this);
    this.context = {
      session: this,
      server: host.api,
      transactions: this.transaction,
      pubsub: this.pubsub,
      blocking: dispatcher.blocking,
    };
    // A live view of the limit: CONFIG SET proto-max-bulk-len applies to open connections too.
    this.decoder = new RequestDecoder({
      get bulkBytesMax() {
        return host.bulkBytesMax();
      },
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error) => host.logger.debug('client socket error', { id, error: error.message }));
    socket.on('close', () => this.onClose());
  }

  // ---------------------------------------------------------------- Session

  queryBufferBytes(): number {
    return this.decoder.bufferedBytes();
  }
  outputBufferBytes(): number {
    return this.socket.writableLength + this.writer.size();
  }
  subscriptionCount(): number {
    return this.pubsub.channelCount();
  }
  patternCount(): number {
    return this.pubsub.patternSubscriptions();
  }
  inMulti(): boolean {
    return this.transaction.active();
  }
  closeAfterReply(): void {
    this.closing = true;
  }
  kill(): void {
    if (this.closed) return;
    this.closing = true;
    this.closed = true;
    this.socket.destroy();
  }
  reset(): void {
    this.resp = 2;
    this.name = '';
    this.authenticated = !this.host.passwordRequired();
    this.readonlyMode = false;
    this.asking = false;
    this.transaction.discardAll();
    this.pubsub.clear();
  }

  /**
   * A Pub/Sub message, written at the end of the current event-loop job. RESP2 queues it behind the
   * replies; a RESP3 push frame needs no place among them, so a blocked client still gets it at once.
   */
  deliver(message: RawReply): void {
    if (this.closed) return;
    if (this.resp === 3) this.writer.reply(message, 3);
    else this.addReply(message);
    this.flushSoon();
  }

  // ---------------------------------------------------------------- server side

  /** Idle time for `timeout`, and the output soft limit, checked by the server's cron. */
  checkTimers(nowMs: number, idleTimeoutMs: number): void {
    const idle = idleTimeoutMs > 0 && nowMs - this.lastInteractionMs > idleTimeoutMs;
    // As Redis, neither blocked clients (their reply is pending) nor subscribers time out.
    if (idle && this.pending.length === 0 && !this.pubsub.subscribed()) {
      this.host.logger.verbose('closing idle client', { id: this.id, addr: this.remoteAddress });
      this.kill();
      return;
    }
    this.checkOutputLimits(nowMs);
  }

  /** Flushes what is written and closes (server shutdown). */
  shutdown(): void {
    if (this.closed) return;
    this.flush();
    this.closing = true;
    this.closed = true;
    this.socket.end();
  }

  // ---------------------------------------------------------------- input

  private onData(chunk: Buffer): void {
    this.host.stats.totalNetInputBytes += chunk.length;
    if (this.closing) return;
    this.lastInteractionMs = this.host.nowMs();
    this.decoder.feed(chunk);
    this.runRequests();
    this.flush();
  }

  private onDrain(): void {
    if (!this.outputPaused || this.closed) return;
    this.outputPaused = false;
    this.socket.resume();
    this.runRequests();
    this.flush();
  }

  /** Runs the buffered requests until input runs out or the connection must wait. */
  private runRequests(): void {
    const dispatcher = this.host.dispatcher;
    const started = performance.now();
    while (!this.closing && !this.outputPaused && !this.blocked && this.pending.length < PENDING_REPLIES_MAX) {
      const argv = this.decoder.next(!this.authenticated && this.host.passwordRequired());
      if (argv === null) break;
      if (argv instanceof ProtocolError) {
        this.host.stats.countError(argv.message);
        this.addReply(new ErrorReply(argv.message));
        this.host.logger.verbose('protocol error', { id: this.id, addr: this.remoteAddress, error: argv.message });
        this.closing = true;
        break;
      }
      const reply = dispatcher.execute(this, argv);
      if (reply instanceof Promise) {
        this.awaitReply(reply);
      } else {
        this.addReply(reply);
      }
      if (this.writer.size() >= OUTPUT_PAUSE_BYTES) this.flush();
    }
    dispatcher.finishBatch(performance.now() - started);
    if (this.decoder.bufferedBytes() > this.host.queryBufferBytesMax()) {
      this.host.logger.warning('closing client that reached max query buffer length', {
        id: this.id,
        addr: this.remoteAddress,
        qbuf: this.decoder.bufferedBytes(),
      });
      this.kill();
    }
  }

  private addReply(reply: Reply): void {
    if (this.pending.length === 0) this.writer.reply(reply, this.resp);
    else this.pending.push({ done: true, reply, resp: this.resp });
  }

  private awaitReply(promise: Promise<Reply>): void {
    const slot: PendingReply = { done: false, reply: null, resp: this.resp };
    this.pending.push(slot);
    void promise.then((reply) => {
      slot.reply = reply;
      slot.done = true;
      if (this.closed) return;
      this.writeDoneReplies();
      this.runRequests();
      this.flushSoon();
    });
  }

  /**
   * Flushes once the promises settled in this job have all run: a Raft apply completes many replies of
   * a connection at once, and they should leave in one socket write, not one each.
   */
  private flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      this.flush();
    });
  }

  /** Moves the leading completed replies to the writer, in order. */
  private writeDoneReplies(): void {
    let count = 0;
    while (count < this.pending.length && this.pending[count]!.done) {
      const slot = this.pending[count]!;
      this.writer.reply(slot.reply, slot.resp);
      count++;
    }
    if (count > 0) this.pending = this.pending.slice(count);
  }

  // ---------------------------------------------------------------- output

  private flush(): void {
    if (this.closed) return;
    const socket = this.socket;
    // Behind unsent output, these parts will be queued: copied to their size (see take()).
    const parts = this.writer.take(socket.writableLength > 0);
    if (parts !== null) {
      let bytes = 0;
      if (parts.length === 1) {
        socket.write(parts[0]!);
        bytes = parts[0]!.length;
      } else {
        socket.cork();
        for (const part of parts) {
          socket.write(part);
          bytes += part.length;
        }
        socket.uncork();
      }
      this.host.stats.totalNetOutputBytes += bytes;
      // Usually the socket took everything at once: then its buffer may be written again, no limit
      // is exceeded and none is being timed.
      const queued = socket.writableLength;
      if (queued === 0) this.writer.recycle();
      const checked = queued > 0 || this.softLimitSinceMs !== 0;
      if (checked && this.checkOutputLimits(this.host.nowMs()) && queued > OUTPUT_PAUSE_BYTES) {
        this.outputPaused = true;
        socket.pause();
      }
    }
    if (this.closing && this.pending.length === 0 && !this.closed) {
      this.closed = true;
      this.socket.end();
    }
  }

  /** client-output-buffer-limit for normal clients: false if the client was closed. */
  private checkOutputLimits(nowMs: number): boolean {
    if (this.closed) return false;
    const limit = this.pubsub.subscribed()
      ? pubsubOutputLimit(this.host.api.config.value('client-output-buffer-limit'))
      : this.host.outputLimit();
    const queued = this.socket.writableLength;
    let reason = '';
    if (limit.hardBytes > 0 && queued > limit.hardBytes) reason = 'hard';
    if (limit.softBytes > 0 && queued > limit.softBytes) {
      if (this.softLimitSinceMs === 0) this.softLimitSinceMs = nowMs;
      else if (nowMs - this.softLimitSinceMs > limit.softSeconds * 1000) reason = 'soft';
    } else {
      this.softLimitSinceMs = 0;
    }
    if (reason === '') return true;
    this.host.logger.warning('client scheduled to be closed for overcoming of output buffer limits', {
      id: this.id,
      addr: this.remoteAddress,
      limit: reason,
      omem: queued,
    });
    this.kill();
    return false;
  }

  private onClose(): void {
    this.closed = true;
    this.closing = true;
    this.pending = [];
    this.host.dispatcher.forget(this);
    this.host.connectionClosed(this);
  }
}
