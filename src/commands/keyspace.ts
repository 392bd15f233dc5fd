import type { CommandSpec } from './types.js';

export const keyspaceCommands: CommandSpec[] = [];
