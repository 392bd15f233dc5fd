// The replicated state machine of the simulation: a tiny key-value store with per-client sessions, so
// a retried proposal (same client and sequence number) takes effect at most once.

import type { KvInput, KvOutput } from './checkers/linearizability.js';

/** A proposal's payload: who asks, their sequence number, and the operation. */
export interface KvCommand {
  readonly client: number;
  readonly seq: number;
  readonly input: KvInput;
}

export function encodeCommand(cmd: KvCommand): Uint8Array {
  return Buffer.from(JSON.stringify(cmd), 'latin1');
}

export function decodeCommand(data: Uint8Array): KvCommand {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')) as KvCommand;
}

interface Session {
  seq: number;
  result: KvOutput;
}

export class KvStateMachine {
  private readonly values = new Map<string, string>();
  private readonly sessions = new Map<number, Session>();

  /** Applies a command once per (client, seq); a duplicate returns the first result without effect. */
  apply(cmd: KvCommand): KvOutput {
    const session = this.sessions.get(cmd.client);
    if (session && cmd.seq <= session.seq) return session.seq === cmd.seq ? session.result : null;
    const result = this.execute(cmd.input);
    this.sessions.set(cmd.client, { seq: cmd.seq, result });
    return result;
  }

  read(key: string): string | null {
    return this.values.get(key) ?? null;
  }

  private execute(input: KvInput): KvOutput {
    const current = this.values.get(input.key) ?? null;
    switch (input.op) {
      case 'put':
        this.values.set(input.key, input.value);
        return 'OK';
      case 'get':
        return current;
      case 'append': {
        const next = (current ?? '') + input.value;
        this.values.set(input.key, next);
        return next.length;
      }
      case 'cas':
        if (current !== input.expect) return false;
        this.values.set(input.key, input.value);
        return true;
    }
  }

  /** A canonical serialization of the whole state (sorted), used for snapshots and state comparison. */
  fingerprint(): string {
    const values = [...this.values].sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const sessions = [...this.sessions].sort((x, y) => x[0] - y[0]);
    return JSON.stringify({ values, sessions });
  }

  snapshot(): Uint8Array {
    return Buffer.from(this.fingerprint(), 'latin1');
  }

  static restore(data: Uint8Array): KvStateMachine {
    const sm = new KvStateMachine();
    if (data.length === 0) return sm;
    const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1')) as {
      values: [string, string][];
      sessions: [number, Session][];
    };
    for (const [k, v] of parsed.values) sm.values.set(k, v);
    for (const [c, s] of parsed.sessions) sm.sessions.set(c, s);
    return sm;
  }
}
