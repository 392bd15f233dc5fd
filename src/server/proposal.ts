// The data of a shard group's Raft entry: what the leader proposes and every replica applies.
//
//   entry    := version (1 byte = 1) | kind (1 byte) | proposer node id (u32 LE) | sequence (f64 LE)
//               | nowMs (f64 LE, whole ms) | seed (i32 LE) | resp (1 byte: 2 or 3) | count (u32 LE) | item{count}
//   item     := for kind Commands: argc (u32 LE) | (length (u32 LE) | bytes){argc}   (one argv array)
//               for Expire / Evict: length (u32 LE) | bytes                         (one key)
//               for Flush: none (count = 0)
//
// `kind` says what applying means (see EntryKind). The proposal id (proposer, sequence) lets the state
// machine skip a re-proposal that was already applied (dedup). nowMs and seed are fixed by the leader so
// every replica computes the same thing. `resp` only shapes the proposer's reply (never the state).
// Strings are latin1 (one char per byte): keys and values are binary safe.

export const PROPOSAL_VERSION = 1;

export const enum EntryKind {
  /** One write command (count = 1) or a MULTI/EXEC transaction (count >= 1), run back to back. */
  Commands = 1,
  /** Active expiry decided by the leader: delete each key whose time has passed at nowMs. */
  Expire = 2,
  /** Eviction decided by the leader: delete each key (unless already expired). */
  Evict = 3,
  /** FLUSHALL of this shard. */
  Flush = 4,
}

export interface ProposalId {
  readonly node: number;
  readonly seq: number;
}

export interface Proposal {
  readonly kind: EntryKind;
  readonly id: ProposalId;
  readonly nowMs: number;
  readonly seed: number;
  readonly resp: 2 | 3;
  /** Commands: the argv arrays. Expire/Evict: one array holding the keys. Flush: empty. */
  readonly argvs: readonly (readonly string[])[];
}

/** Thrown by decodeProposal for data that is not a well-formed entry. */
export class ProposalFormatError extends Error {
  override name = 'ProposalFormatError';
}

const HEADER_BYTES = 1 + 1 + 4 + 8 + 8 + 4 + 1 + 4;
/** Upper bound on argv arrays and on arguments per array, so garbage cannot make us allocate wildly. */
const MAX_COUNT = 1 << 24;

export function encodeProposal(p: Proposal): Buffer {
  assertValid(p);
  const keyList = p.kind === EntryKind.Expire || p.kind === EntryKind.Evict;
  const items = keyList ? (p.argvs[0] ?? []) : p.kind === EntryKind.Flush ? [] : p.argvs;
  let size = HEADER_BYTES;
  if (keyList) {
    for (const key of items as readonly string[]) size += 4 + key.length;
  } else {
    for (const argv of items as readonly (readonly string[])[]) {
      size += 4;
      for (const arg of argv) size += 4 + arg.length;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  let at = 0;
  buf[at++] = PROPOSAL_VERSION;
  buf[at++] = p.kind;
  at = buf.writeUInt32LE(p.id.node, at);
  at = buf.writeDoubleLE(p.id.seq, at);
  at = buf.writeDoubleLE(p.nowMs, at);
  at = buf.writeInt32LE(p.seed | 0, at);
  buf[at++] = p.resp;
  at = buf.writeUInt32LE(items.length, at);
  const writeString = (s: string) => {
    at = buf.writeUInt32LE(s.length, at);
    at += buf.latin1Write(s, at);
  };
  if (keyList) {
    for (const key of items as readonly string[]) writeString(key);
  } else {
    for (const argv of items as readonly (readonly string[])[]) {
      at = buf.writeUInt32LE(argv.length, at);
      for (const arg of argv) writeString(arg);
    }
  }
  return buf;
}

function assertValid(p: Proposal): void {
  if (!Number.isInteger(p.id.node) || p.id.node < 0 || p.id.node > 0xffffffff) throw new RangeError('bad node id');
  if (!Number.isSafeInteger(p.id.seq) || p.id.seq < 0) throw new RangeError('bad proposal sequence');
  if (!Number.isSafeInteger(p.nowMs)) throw new RangeError('nowMs must be whole milliseconds');
  if (p.kind === EntryKind.Commands && p.argvs.length === 0) throw new RangeError('no command to propose');
}

/** Decodes an entry's data. Throws ProposalFormatError on anything malformed (never reads out of bounds). */
export function decodeProposal(data: Uint8Array): Proposal {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length < HEADER_BYTES) throw new ProposalFormatError('entry too short');
  if (buf[0] !== PROPOSAL_VERSION) throw new ProposalFormatError(`unknown entry version ${buf[0]}`);
  const kind = buf[1]!;
  if (kind < EntryKind.Commands || kind > EntryKind.Flush) throw new ProposalFormatError(`unknown entry kind ${kind}`);
  const node = buf.readUInt32LE(2);
  const seq = buf.readDoubleLE(6);
  const nowMs = buf.readDoubleLE(14);
  const seed = buf.readInt32LE(22);
  const resp = buf[26]!;
  if (resp !== 2 && resp !== 3) throw new ProposalFormatError(`bad resp ${resp}`);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new ProposalFormatError('bad proposal sequence');
  if (!Number.isSafeInteger(nowMs)) throw new ProposalFormatError('bad timestamp');
  const count = buf.readUInt32LE(27);
  let at = HEADER_BYTES;
  const need = (n: number) => {
    if (at + n > buf.length) throw new ProposalFormatError('entry truncated');
  };
  const readU32 = () => {
    need(4);
    const v = buf.readUInt32LE(at);
    at += 4;
    return v;
  };
  const readString = () => {
    const len = readU32();
    need(len);
    const s = buf.latin1Slice(at, at + len);
    at += len;
    return s;
  };
  if (count > MAX_COUNT) throw new ProposalFormatError('too many items');
  const argvs: string[][] = [];
  if (kind === EntryKind.Commands) {
    if (count === 0) throw new ProposalFormatError('no command in entry');
    for (let i = 0; i < count; i++) {
      const argc = readU32();
      // Each argument takes at least 4 bytes: a count the rest of the data cannot hold is garbage.
      if (argc === 0 || argc > MAX_COUNT || argc * 4 > buf.length - at) throw new ProposalFormatError('bad argc');
      const argv: string[] = new Array(argc);
      for (let j = 0; j < argc; j++) argv[j] = readString();
      argvs.push(argv);
    }
  } else if (kind === EntryKind.Flush) {
    if (count !== 0) throw new ProposalFormatError('flush takes no items');
  } else {
    if (count * 4 > buf.length - at) throw new ProposalFormatError('bad key count');
    const keys: string[] = new Array(count);
    for (let i = 0; i < count; i++) keys[i] = readString();
    argvs.push(keys);
  }
  if (at !== buf.length) throw new ProposalFormatError('trailing bytes after entry');
  return { kind, id: { node, seq }, nowMs, seed, resp, argvs };
}
