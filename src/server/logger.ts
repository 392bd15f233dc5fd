// Structured logs: one JSON object per line ({ts, level, msg, ...fields}) to stdout or to `logfile`.
// Levels are Redis's loglevel values; CONFIG SET loglevel changes the threshold at run time.

import { createWriteStream, type WriteStream } from 'node:fs';

export type LogLevel = 'debug' | 'verbose' | 'notice' | 'warning';
const RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };

export type LogFields = Record<string, unknown>;

export class Logger {
  private threshold: number;
  private readonly out: { write(line: string): unknown };
  private readonly file: WriteStream | null;

  /** `logfile`: '' for stdout. `sink`: replaces both (tests). */
  constructor(level: LogLevel, logfile = '', sink?: (line: string) => void) {
    this.threshold = RANK[level];
    this.file = sink === undefined && logfile !== '' ? createWriteStream(logfile, { flags: 'a' }) : null;
    this.out = sink !== undefined ? { write: sink } : (this.file ?? process.stdout);
  }

  setLevel(level: LogLevel): void {
    this.threshold = RANK[level];
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= this.threshold;
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  verbose(msg: string, fields?: LogFields): void {
    this.log('verbose', msg, fields);
  }
  notice(msg: string, fields?: LogFields): void {
    this.log('notice', msg, fields);
  }
  warning(msg: string, fields?: LogFields): void {
    this.log('warning', msg, fields);
  }

  log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (RANK[level] < this.threshold) return;
    this.out.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...fields }) + '\n');
  }

  /** Flushes and closes a log file (at exit). */
  close(): Promise<void> {
    const file = this.file;
    if (file === null) return Promise.resolve();
    return new Promise((resolve) => file.end(resolve));
  }
}
