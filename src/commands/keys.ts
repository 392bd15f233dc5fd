import type { CommandSpec } from './types.js';

export const keyCommands: CommandSpec[] = [];
