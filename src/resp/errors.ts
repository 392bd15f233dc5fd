// Every error text slotraft puts on the wire, byte for byte as Redis 7.0.15 sends it (without the
// leading `-` and the trailing CRLF, which the encoder adds). One place, so a text is never retyped.
// Constants are plain strings; texts with a variable part are functions.

// --- Request framing (networking.c processMultibulkBuffer / processInlineBuffer). The connection is
// closed after these are written.
export const PROTO_INVALID_MULTIBULK_LENGTH = 'ERR Protocol error: invalid multibulk length';
export const PROTO_INVALID_BULK_LENGTH = 'ERR Protocol error: invalid bulk length';
export const PROTO_UNAUTH_MULTIBULK_LENGTH = 'ERR Protocol error: unauthenticated multibulk length';
export const PROTO_UNAUTH_BULK_LENGTH = 'ERR Protocol error: unauthenticated bulk length';
export const PROTO_TOO_BIG_INLINE = 'ERR Protocol error: too big inline request';
export const PROTO_TOO_BIG_MBULK_COUNT = 'ERR Protocol error: too big mbulk count string';
export const PROTO_TOO_BIG_BULK_COUNT = 'ERR Protocol error: too big bulk count string';
export const PROTO_UNBALANCED_QUOTES = 'ERR Protocol error: unbalanced quotes in request';
/** `got` is the offending byte as a one-char latin1 string. */
export function protoExpectedDollar(got: string): string {
  return `ERR Protocol error: expected '$', got '${got}'`;
}

// --- Dispatch (server.c processCommand).
/**
 * `args` are the arguments after the name. Redis quotes each and ends with a space; it stops adding
 * arguments once 128 bytes of them are shown, and cuts the last one to fit.
 */
export function unknownCommand(name: string, args: readonly string[]): string {
  let shown = '';
  for (let i = 0; i < args.length && shown.length < 128; i++) {
    shown += `'${args[i]!.slice(0, 128 - shown.length)}' `;
  }
  return sanitize(`ERR unknown command '${truncateArg(name)}', with args beginning with: ${shown}`);
}
/** `name` is `get` or `config|get` for a subcommand. */
export function wrongArity(name: string): string {
  return `ERR wrong number of arguments for '${name}' command`;
}
export function unknownSubcommand(subcommand: string, command: string): string {
  return sanitize(`ERR unknown subcommand '${truncateArg(subcommand)}'. Try ${command.toUpperCase()} HELP.`);
}
export const NOAUTH = 'NOAUTH Authentication required.';
export const NOAUTH_HELLO =
  'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH ' +
  '<user> <pass> option can be used to authenticate the client and select the RESP protocol version ' +
  'at the same time';
export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';
export const AUTH_NO_PASSWORD =
  'ERR AUTH <password> called without any password configured for the default user. ' +
  'Are you sure your configuration is correct?';
export const MAX_CLIENTS = 'ERR max number of clients reached';
export const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
export const LOADING = 'LOADING Redis is loading the dataset in memory';
export const NOPROTO = 'NOPROTO unsupported protocol version';
export const SYNTAX = 'ERR syntax error';
export const NOT_INTEGER = 'ERR value is not an integer or out of range';
export const NOT_FLOAT = 'ERR value is not a valid float';
export const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';
export const BUSYKEY = 'BUSYKEY Target key name already exists.';
export const SELECT_CLUSTER = 'ERR SELECT is not allowed in cluster mode';
export const INTERNAL = 'ERR internal error';
/** RESP2 subscribed context (Redis 7.0 wording). */
export function subscribedContext(name: string): string {
  return (
    `ERR Can't execute '${name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET ` +
    'are allowed in this context'
  );
}

// --- Transactions.
export const EXECABORT = 'EXECABORT Transaction discarded because of previous errors.';
export const MULTI_NESTED = 'ERR MULTI calls can not be nested';
export const EXEC_WITHOUT_MULTI = 'ERR EXEC without MULTI';
export const DISCARD_WITHOUT_MULTI = 'ERR DISCARD without MULTI';
export const WATCH_IN_MULTI = 'ERR WATCH inside MULTI is not allowed';

// --- Cluster redirections and refusals (cluster.c clusterRedirectClient).
export const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";
export const TRYAGAIN = 'TRYAGAIN Multiple keys request during rehashing of slot';
export const CLUSTERDOWN_UNBOUND = 'CLUSTERDOWN Hash slot not served';
export const CLUSTERDOWN_DOWN = 'CLUSTERDOWN The cluster is down';
export const CLUSTERDOWN_READONLY = 'CLUSTERDOWN The cluster is down and only accepts read commands';
/** `address` is `ip:port`. */
export function moved(slot: number, address: string): string {
  return `MOVED ${slot} ${address}`;
}
export function ask(slot: number, address: string): string {
  return `ASK ${slot} ${address}`;
}

// --- CONFIG (config.c).
export function configSetUnknown(name: string): string {
  return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
}
export function configSetFailed(name: string, reason: string): string {
  return `ERR CONFIG SET failed (possibly related to argument '${name}') - ${reason}`;
}

/** Redis shows at most 128 bytes of a user argument in an error (sdscatlen with a cap). */
function truncateArg(arg: string): string {
  return arg.length > 128 ? arg.slice(0, 128) : arg;
}

/** Redis replaces CR and LF in error texts by spaces so a reply can never break the protocol. */
export function sanitize(text: string): string {
  return /[\r\n]/.test(text) ? text.replace(/[\r\n]/g, ' ') : text;
}
