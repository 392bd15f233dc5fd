import type { CommandSpec } from './types.js';

export const stringCommands: CommandSpec[] = [];
