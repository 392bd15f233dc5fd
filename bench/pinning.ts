// CPU pinning shared by the benchmarks: servers on one CPU, the load generator on the other, so that
// they do not steal each other's time (on machines with fewer than 2 CPUs nothing is pinned).

import { cpus } from 'node:os';

export const SERVER_CPU = '0';
export const CLIENT_CPU = '1';
export const CAN_PIN = cpus().length >= 2;

/** `command args` run on `cpu` through taskset when `enabled`. */
export function pinned(enabled: boolean, cpu: string, command: string, args: string[]): [string, string[]] {
  return enabled ? ['taskset', ['-c', cpu, command, ...args]] : [command, args];
}
