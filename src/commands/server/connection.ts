import type { CommandSpec } from '../types.js';

export const connectionCommands: CommandSpec[] = [];
