// Shared pieces of the server command families: typed spec construction, subcommand dispatch with
// Redis's arity and unknown-subcommand errors, HELP replies, and argument parsing.

import type { ServerContext } from '../server-context.js';
import type { CommandBase, CommandSpec, ServerCommand } from '../types.js';
import { ErrorReply, SimpleString, type Reply } from '../../resp/reply.js';
import * as errors from '../../resp/errors.js';
import { parseInt64 } from '../../store/numbers.js';

export type ServerHandler = (ctx: ServerContext, argv: readonly string[]) => Reply | Promise<Reply>;

/** A server command whose handler sees a ServerContext (the table stores it with an opaque context). */
export function serverCommand(spec: Omit<ServerCommand<ServerContext>, 'kind'>): CommandSpec {
  return { kind: 'server', ...spec } as ServerCommand as CommandSpec;
}

/** A subcommand: its description (COMMAND INFO/DOCS) and its handler. `arity` counts the parent name. */
export interface Subcommand extends Omit<CommandBase, 'getKeys'> {
  readonly run: ServerHandler;
}

/** Description fields shared by most subcommands: keyless, in the parent's group. */
export function subcommand(
  name: string,
  arity: number,
  flags: CommandBase['flags'],
  categories: readonly string[],
  summary: string,
  since: string,
  group: string,
  run: ServerHandler,
): Subcommand {
  return { name, arity, flags, categories, keys: null, summary, since, group, run };
}

/** The same subcommand with COMMAND INFO tips. */
export function withTips(sub: Subcommand, ...tips: string[]): Subcommand {
  return { ...sub, tips };
}

/**
 * The handler of a container command (CLIENT, CONFIG, CLUSTER, COMMAND...): finds the subcommand in
 * argv[1] case-insensitively, checks its arity as Redis does (`'client|setname'`), and runs it.
 */
export function dispatchSubcommands(parent: string, subcommands: readonly Subcommand[]): ServerHandler {
  const byName = new Map(subcommands.map((s) => [s.name, s]));
  return (ctx, argv) => {
    const sub = byName.get(argv[1]!.toLowerCase());
    if (sub === undefined) return new ErrorReply(errors.unknownSubcommand(argv[1]!, parent));
    if ((sub.arity > 0 && argv.length !== sub.arity) || argv.length < -sub.arity) {
      return new ErrorReply(errors.wrongArity(`${parent}|${sub.name}`));
    }
    ctx.session.lastCommand = `${parent}|${sub.name}`; // as Redis records it (CLIENT LIST cmd=)
    return sub.run(ctx, argv);
  };
}

/**
 * A HELP reply as Redis's addReplyHelp: a header line, the given lines, then HELP's own entry; each
 * line a status string.
 */
export function helpReply(parent: string, lines: readonly string[]): Reply {
  const all = [
    `${parent.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`,
    ...lines,
    'HELP',
    '    Prints this help.',
  ];
  return all.map((line) => new SimpleString(line));
}

/** An integer argument as Redis's getLongLongFromObject, limited to safe JS integers; null if invalid. */
export function parseInteger(arg: string): number | null {
  const value = parseInt64(arg);
  return typeof value === 'number' ? value : null;
}

export const NOT_INTEGER_ERROR = new ErrorReply(errors.NOT_INTEGER);
export const SYNTAX_ERROR = new ErrorReply(errors.SYNTAX);

/** Redis client names and CLIENT SETINFO values: printable ASCII without spaces ('!'..'~'). */
export function isValidClientAttribute(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}
