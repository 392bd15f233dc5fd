import type { CommandSpec } from '../types.js';

export const clusterCommands: CommandSpec[] = [];
