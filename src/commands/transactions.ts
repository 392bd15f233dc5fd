// MULTI, EXEC, DISCARD, WATCH, UNWATCH: the connection's transaction state lives in the server layer
// (src/server/transactions.ts); these specs describe the commands as Redis 7.0's COMMAND does.

import type { ServerContext, TransactionApi } from './server-context.js';
import type { CommandSpec } from './types.js';
import { ErrorReply, type Reply } from '../resp/reply.js';
import * as errors from '../resp/errors.js';
import { serverCommand } from './server/util.js';

const categories = ['fast', 'transaction'];

function withTransactions(run: (tx: TransactionApi, argv: readonly string[]) => Reply | Promise<Reply>) {
  return (ctx: ServerContext, argv: readonly string[]): Reply | Promise<Reply> =>
    ctx.transactions === undefined ? new ErrorReply(errors.INTERNAL) : run(ctx.transactions, argv);
}

const describe = { keys: null, since: '1.2.0', group: 'transactions' } as const;

export const transactionCommands: CommandSpec[] = [
  serverCommand({
    ...describe,
    name: 'multi', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], categories,
    summary: 'Mark the start of a transaction block',
    run: withTransactions((tx) => tx.multi()),
  }),
  serverCommand({
    ...describe,
    name: 'exec', arity: 1, flags: ['noscript', 'loading', 'stale', 'skip_slowlog'], categories: ['slow', 'transaction'],
    summary: 'Execute all commands issued after MULTI',
    run: withTransactions((tx) => tx.exec()),
  }),
  serverCommand({
    ...describe,
    name: 'discard', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], categories,
    summary: 'Discard all commands issued after MULTI', since: '2.0.0',
    run: withTransactions((tx) => tx.discard()),
  }),
  serverCommand({
    ...describe,
    name: 'watch', arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], categories,
    keys: { first: 1, last: -1, step: 1 },
    summary: 'Watch the given keys to determine execution of the MULTI/EXEC block', since: '2.2.0',
    run: withTransactions((tx, argv) => tx.watch(argv.slice(1))),
  }),
  serverCommand({
    ...describe,
    name: 'unwatch', arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], categories,
    summary: 'Forget about all watched keys', since: '2.2.0',
    run: withTransactions((tx) => tx.unwatch()),
  }),
];
