// Configuration: Redis's directive names, defaults, value syntax and error texts (config.c), plus
// slotraft's own directives. Sources, lowest precedence first: defaults, the config file (redis.conf
// syntax), the environment (SLOTRAFT_<DIRECTIVE>, `-` as `_`), command-line flags (`--port 7000`).
// CONFIG GET / CONFIG SET go through the same table (ConfigStore of server-context.ts).

import type { ConfigStore } from '../commands/server-context.js';
import * as errors from '../resp/errors.js';
import { splitArgs } from '../resp/decoder.js';
import { globMatch } from '../store/glob.js';
import { EVICTION_POLICIES } from '../store/keyspace.js';

export const REDIS_VERSION = '7.0.15';

type Kind =
  /** `clamp`: a valid value outside [clamp[0], clamp[1]] is stored clamped (Redis's hz). */
  | { readonly type: 'int'; readonly min: number; readonly max: number; readonly clamp?: readonly [number, number] }
  | { readonly type: 'memory'; readonly min: number }
  | { readonly type: 'bool' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'string' }
  | { readonly type: 'output-buffer-limit' };

interface Directive {
  readonly name: string;
  readonly kind: Kind;
  readonly defaultValue: string;
  /** CONFIG SET may change it while running. */
  readonly mutable: boolean;
  /** Takes several arguments on a config line or flag (joined by spaces). */
  readonly multiArg?: boolean;
}

const POLICY_ERROR_ORDER: readonly string[] = [
  'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl',
  'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'noeviction',
];
const INT_MAX = 2147483647;
const UINT_MAX = 4294967295;
const LLONG_MAX = 9223372036854775807;
const MB = 1024 * 1024;

const int = (min: number, max: number, clamp?: readonly [number, number]): Kind => ({ type: 'int', min, max, clamp });
const memory = (min = 0): Kind => ({ type: 'memory', min });
const bool: Kind = { type: 'bool' };
const oneOf = (...values: string[]): Kind => ({ type: 'enum', values });
const text: Kind = { type: 'string' };

function directive(name: string, kind: Kind, defaultValue: string, mutable = true, multiArg = false): Directive {
  return { name, kind, defaultValue, mutable, multiArg };
}

/** The eight policies in the order Redis's error text lists them. */
const POLICY_NAMES = [...EVICTION_POLICIES].sort(
  (a, b) => POLICY_ERROR_ORDER.indexOf(a) - POLICY_ERROR_ORDER.indexOf(b),
);
const OUTPUT_LIMIT_DEFAULT = 'normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60';

/** Every directive slotraft knows. The ones marked harmless are accepted and shown but change nothing. */
const DIRECTIVES: readonly Directive[] = [
  directive('port', int(0, 65535), '6379', false),
  directive('bind', text, '127.0.0.1', false, true),
  directive('dir', text, './data', false),
  directive('requirepass', text, ''),
  directive('maxmemory', memory(), '0'),
  directive('maxmemory-policy', oneOf(...POLICY_NAMES), 'noeviction'),
  directive('maxmemory-samples', int(1, INT_MAX), '5'),
  directive('appendfsync', oneOf('everysec', 'always', 'no'), 'everysec'),
  directive('timeout', int(0, INT_MAX), '0'),
  directive('maxclients', int(1, UINT_MAX), '10000'),
  directive('proto-max-bulk-len', memory(MB), String(512 * MB)),
  directive('client-query-buffer-limit', memory(MB), String(1024 * MB)),
  directive('client-output-buffer-limit', { type: 'output-buffer-limit' }, OUTPUT_LIMIT_DEFAULT, true, true),
  directive('hz', int(0, INT_MAX, [1, 500]), '10'),
  directive('loglevel', oneOf('debug', 'verbose', 'notice', 'warning'), 'notice'),
  directive('logfile', text, '', false),
  directive('databases', int(1, 1), '1', false),
  directive('cluster-enabled', oneOf('yes'), 'yes', false),
  // slotraft's own.
  directive('admin-port', int(0, 65535), '', false),
  directive('cluster-announce-ip', text, ''),
  directive('cluster-announce-port', int(0, 65535), '0'),
  directive('read-consistency', oneOf('linearizable', 'lease'), 'linearizable'),
  directive('shards', int(1, 16384), '16', false),
  directive('replicas', int(1, 7), '3', false),
  directive('cluster-secret', text, '', false),
  directive('cluster-init', text, '', false),
  directive('join', text, '', false),
  directive('raft-tick-ms', int(10, 1000), '50', false),
  directive('replica-port', int(0, 65535), '0', false),
  directive('raft-snapshot-entries', int(1, INT_MAX), '50000', false),
  directive('raft-log-tail', int(0, INT_MAX), '5000', false),
  // Harmless: accepted for redis.conf compatibility and for clients that CONFIG GET them.
  directive('save', text, '', true, true),
  directive('appendonly', bool, 'no'),
  directive('appendfilename', text, 'appendonly.aof', false),
  directive('dbfilename', text, 'dump.rdb'),
  directive('daemonize', bool, 'no', false),
  directive('protected-mode', bool, 'yes'),
  directive('tcp-backlog', int(0, INT_MAX), '511', false),
  directive('tcp-keepalive', int(0, INT_MAX), '300'),
  directive('supervised', oneOf('upstart', 'systemd', 'auto', 'no'), 'no', false),
  directive('pidfile', text, '', false),
  directive('io-threads', int(1, 128), '1', false),
  directive('cluster-config-file', text, 'nodes.conf', false),
  directive('cluster-node-timeout', int(0, LLONG_MAX), '15000'),
  directive('cluster-port', int(0, 65535), '0', false),
  directive('cluster-require-full-coverage', bool, 'yes'),
  directive('cluster-allow-reads-when-down', bool, 'no'),
  directive('cluster-preferred-endpoint-type', oneOf('ip', 'hostname', 'unknown-endpoint'), 'ip'),
  directive('cluster-announce-hostname', text, ''),
  directive('lazyfree-lazy-eviction', bool, 'no'),
  directive('lazyfree-lazy-expire', bool, 'no'),
  directive('lazyfree-lazy-user-del', bool, 'no'),
  directive('lazyfree-lazy-user-flush', bool, 'no'),
  directive('maxmemory-eviction-tenacity', int(0, 100), '10'),
  directive('lfu-log-factor', int(0, INT_MAX), '10'),
  directive('lfu-decay-time', int(0, INT_MAX), '1'),
  directive('active-expire-effort', int(1, 10), '1'),
  directive('slowlog-log-slower-than', int(-1, LLONG_MAX), '10000'),
  directive('slowlog-max-len', int(0, LLONG_MAX), '128'),
  directive('latency-monitor-threshold', int(0, LLONG_MAX), '0'),
  directive('notify-keyspace-events', text, ''),
  directive('stop-writes-on-bgsave-error', bool, 'yes'),
  directive('rdbcompression', bool, 'yes'),
  directive('activerehashing', bool, 'yes'),
  directive('replica-read-only', bool, 'yes'),
  directive('busy-reply-threshold', int(0, LLONG_MAX), '5000'),
  directive('lua-time-limit', int(0, LLONG_MAX), '5000'),
  directive('hash-max-listpack-entries', int(0, LLONG_MAX), '128'),
  directive('hash-max-listpack-value', int(0, LLONG_MAX), '64'),
  directive('list-max-listpack-size', int(-5, INT_MAX), '-2'),
  directive('list-compress-depth', int(0, INT_MAX), '0'),
  directive('set-max-intset-entries', int(0, LLONG_MAX), '512'),
  directive('zset-max-listpack-entries', int(0, LLONG_MAX), '128'),
  directive('zset-max-listpack-value', int(0, LLONG_MAX), '64'),
];

const BY_NAME = new Map(DIRECTIVES.map((d) => [d.name, d]));

/** Limits of one client class of client-output-buffer-limit, in bytes and seconds (0: none). */
export interface OutputBufferLimit {
  readonly hardBytes: number;
  readonly softBytes: number;
  readonly softSeconds: number;
}

/** Redis memtoull: digits then an optional unit (b, k, kb, m, mb, g, gb; any case). NaN if invalid. */
export function parseMemory(value: string): number {
  const match = /^(\d+)([a-z]*)$/i.exec(value);
  if (match === null) return NaN;
  const units: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: MB, g: 1e9, gb: 1024 * MB };
  const unit = units[match[2]!.toLowerCase()];
  return unit === undefined ? NaN : Number(match[1]) * unit;
}

/** Redis's string2ll for config integers: NaN when not a plain decimal integer. */
function parseConfigInteger(value: string): number {
  if (!/^-?(0|[1-9]\d{0,18})$/.test(value) || value === '-0') return NaN;
  return Number(value);
}

/** Normalizes a value for a directive: the stored (CONFIG GET) form, or the reason it is invalid. */
function normalize(d: Directive, value: string, current: string): { value: string } | { error: string } {
  const kind = d.kind;
  switch (kind.type) {
    case 'int': {
      const n = parseConfigInteger(value);
      if (Number.isNaN(n)) return { error: "argument couldn't be parsed into an integer" };
      if (n < kind.min || n > kind.max) {
        return { error: `argument must be between ${kind.min} and ${kind.max} inclusive` };
      }
      if (kind.clamp !== undefined) return { value: String(Math.min(Math.max(n, kind.clamp[0]), kind.clamp[1])) };
      return { value: String(n) };
    }
    case 'memory': {
      const n = parseMemory(value);
      if (Number.isNaN(n)) return { error: 'argument must be a memory value' };
      if (n < kind.min) return { error: `argument must be between ${kind.min} and ${LLONG_MAX} inclusive` };
      return { value: String(n) };
    }
    case 'bool': {
      const lower = value.toLowerCase();
      if (lower !== 'yes' && lower !== 'no') return { error: "argument must be 'yes' or 'no'" };
      return { value: lower };
    }
    case 'enum': {
      const lower = value.toLowerCase();
      if (!kind.values.includes(lower)) {
        return { error: `argument(s) must be one of the following: ${kind.values.join(', ')}` };
      }
      return { value: lower };
    }
    case 'string':
      return { value };
    case 'output-buffer-limit':
      return normalizeOutputLimit(value, current);
  }
}

/** `<class> <hard> <soft> <seconds>` groups, merged into the current value (config.c). */
function normalizeOutputLimit(value: string, current: string): { value: string } | { error: string } {
  const words = value.split(' ').filter((w) => w !== '');
  if (words.length === 0 || words.length % 4 !== 0) {
    return { error: 'Wrong number of arguments in buffer limit configuration.' };
  }
  const classes = new Map<string, string[]>();
  const existing = current.split(' ');
  for (let i = 0; i + 3 < existing.length; i += 4) classes.set(existing[i]!, existing.slice(i + 1, i + 4));
  for (let i = 0; i < words.length; i += 4) {
    let name = words[i]!.toLowerCase();
    if (name === 'replica') name = 'slave';
    if (!classes.has(name)) return { error: 'Invalid client class specified in buffer limit configuration.' };
    const hard = parseMemory(words[i + 1]!);
    const soft = parseMemory(words[i + 2]!);
    const seconds = parseConfigInteger(words[i + 3]!);
    if (Number.isNaN(hard) || Number.isNaN(soft) || Number.isNaN(seconds) || seconds < 0) {
      return { error: 'Error in hard, soft or soft_seconds setting in buffer limit configuration.' };
    }
    classes.set(name, [String(hard), String(soft), String(seconds)]);
  }
  return { value: [...classes].map(([name, limits]) => `${name} ${limits.join(' ')}`).join(' ') };
}

/** A bad configuration line, rendered as redis-server does on start-up. */
export class ConfigError extends Error {
  constructor(
    readonly line: number,
    readonly source: string,
    readonly reason: string,
  ) {
    super(reason);
  }

  /** The text redis-server prints before exiting with status 1. */
  fatalText(): string {
    return (
      `\n*** FATAL CONFIG FILE ERROR (Redis ${REDIS_VERSION}) ***\n` +
      `Reading the configuration file, at line ${this.line}\n` +
      `>>> '${this.source}'\n${this.reason}\n`
    );
  }
}

export type ConfigListener = (name: string, value: string) => void;

/** The live configuration. Implements CONFIG GET/SET; other modules read typed values from it. */
export class Config implements ConfigStore {
  private readonly values = new Map<string, string>();
  private readonly listeners: ConfigListener[] = [];
  /** Path of the config file, '' when none (INFO config_file). */
  configFile = '';

  constructor() {
    for (const d of DIRECTIVES) this.values.set(d.name, d.defaultValue);
  }

  get(patterns: readonly string[]): [string, string][] {
    const pairs: [string, string][] = [];
    for (const d of DIRECTIVES) {
      if (patterns.some((p) => globMatch(p, d.name, true))) pairs.push([d.name, this.value(d.name)!]);
    }
    return pairs;
  }

  set(pairs: readonly [string, string][]): string | null {
    const seen = new Set<string>();
    const updates: [string, string][] = [];
    for (const [rawName, value] of pairs) {
      const name = rawName.toLowerCase();
      const d = BY_NAME.get(name);
      if (d === undefined) return errors.configSetUnknown(rawName);
      if (seen.has(name)) return errors.configSetFailed(rawName, 'duplicate parameter');
      seen.add(name);
      if (!d.mutable) return errors.configSetFailed(rawName, "can't set immutable config");
      const result = normalize(d, value, this.values.get(name)!);
      if ('error' in result) return errors.configSetFailed(rawName, result.error);
      updates.push([name, result.value]);
    }
    for (const [name, value] of updates) this.values.set(name, value);
    for (const [name, value] of updates) for (const listener of this.listeners) listener(name, value);
    return null;
  }

  value(name: string): string | undefined {
    if (name === 'admin-port') return String(this.adminPort());
    return this.values.get(name);
  }

  /** A numeric directive (int or memory). */
  number(name: string): number {
    return Number(this.values.get(name));
  }

  string(name: string): string {
    return this.values.get(name) ?? '';
  }

  /** The admin HTTP port: explicit, or port + 1000 (disabled when port is 0 or that is out of range). */
  adminPort(): number {
    const explicit = this.values.get('admin-port')!;
    if (explicit !== '') return Number(explicit);
    const port = this.number('port');
    return port === 0 || port + 1000 > 65535 ? 0 : port + 1000;
  }

  /** client-output-buffer-limit for normal clients. */
  normalOutputLimit(): OutputBufferLimit {
    const words = this.string('client-output-buffer-limit').split(' ');
    const at = words.indexOf('normal');
    return {
      hardBytes: Number(words[at + 1]),
      softBytes: Number(words[at + 2]),
      softSeconds: Number(words[at + 3]),
    };
  }

  /** Called after each successful CONFIG SET of a directive, with its stored value. */
  onChange(listener: ConfigListener): void {
    this.listeners.push(listener);
  }

  /** Applies one directive at load time; throws the reason text when invalid. */
  applyAtLoad(name: string, args: readonly string[]): void {
    const d = BY_NAME.get(name.toLowerCase());
    if (d === undefined || args.length === 0 || (args.length > 1 && !d.multiArg)) {
      throw new Error('Bad directive or wrong number of arguments');
    }
    const result = normalize(d, args.join(' '), this.values.get(d.name)!);
    if ('error' in result) throw new Error(result.error);
    this.values.set(d.name, result.value);
  }
}

export interface ConfigSources {
  /** Contents and path of the config file, if any. */
  readonly file?: { readonly path: string; readonly text: string };
  /** Environment variables (only SLOTRAFT_* are read). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Command-line arguments after the config file: `--name value...`. */
  readonly flags?: readonly string[];
}

/** Builds the configuration from its sources; throws ConfigError for the first bad line. */
export function loadConfig(sources: ConfigSources): Config {
  const config = new Config();
  let line = 0;
  const apply = (args: string[], source: string): void => {
    try {
      config.applyAtLoad(args[0]!, args.slice(1));
    } catch (error) {
      throw new ConfigError(line, source, (error as Error).message);
    }
  };
  if (sources.file !== undefined) {
    config.configFile = sources.file.path;
    for (const raw of sources.file.text.split('\n')) {
      line++;
      const trimmed = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const args = splitArgs(trimmed);
      if (args === null) throw new ConfigError(line, trimmed, 'Unbalanced quotes in configuration line');
      if (args.length === 0) continue;
      apply(args, trimmed);
    }
  }
  // Like redis-server, later sources continue the line count after an empty separator line.
  line++;
  for (const d of DIRECTIVES) {
    const value = sources.env?.[`SLOTRAFT_${d.name.toUpperCase().replace(/-/g, '_')}`];
    if (value === undefined) continue;
    line++;
    const args = d.multiArg ? (splitArgs(value) ?? [value]) : [value];
    apply([d.name, ...args], `${d.name} ${args.map(quote).join(' ')}`);
  }
  for (const group of groupFlags(sources.flags ?? [])) {
    line++;
    apply(group, `${group[0]} ${group.slice(1).map(quote).join(' ')}`);
  }
  return config;
}

/** `--port 7000 --save '' --appendonly no` -> [['port', '7000'], ['save', ''], ['appendonly', 'no']]. */
function groupFlags(flags: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const flag of flags) {
    if (flag.startsWith('--') && flag.length > 2) groups.push([flag.slice(2)]);
    else if (groups.length > 0) groups[groups.length - 1]!.push(flag);
    else throw new ConfigError(1, flag, 'Bad directive or wrong number of arguments');
  }
  return groups;
}

/** As Redis's sdscatrepr shows a command-line argument. */
function quote(value: string): string {
  return JSON.stringify(value);
}
