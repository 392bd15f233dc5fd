// A compact way to write a data command's spec, for the families that list many of them.
import type { DataCommand, DataHandler, KeyRange } from './types.js';

/** The key range of commands whose only key is the first argument. */
export const ONE_KEY: KeyRange = { first: 1, last: 1, step: 1 };

/** Returns a spec builder for the commands of one COMMAND DOCS group (string, generic...). */
export function dataSpecsOf(group: string) {
  return (
    name: string,
    arity: number,
    flags: DataCommand['flags'],
    categories: string[],
    keys: DataCommand['keys'],
    summary: string,
    since: string,
    run: DataHandler,
    extra: Partial<DataCommand> = {},
  ): DataCommand => ({ kind: 'data', name, arity, flags, categories, keys, summary, since, group, run, ...extra });
}
