// The `slotraft` command line: `slotraft server [config-file] [--<directive> <value>...]`, in the style
// of redis-server. Reads the configuration, prepares `dir` and the node id, starts the node and its
// admin endpoint, and shuts down gracefully on SIGTERM/SIGINT. Start-up errors are printed plainly
// to stderr and exit with status 1.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { ConfigError, REDIS_VERSION, loadConfig, type Config } from './server/config.js';
import { Logger, type LogLevel } from './server/logger.js';
import { SlotraftServer } from './server/server.js';
import { AdminServer } from './server/admin.js';
import { runCluster } from './launcher.js';
import { fileURLToPath } from 'node:url';

const USAGE = `Usage: slotraft server [/path/to/slotraft.conf] [--<directive> <value>...]
       slotraft cluster [--nodes N] [--base-port P] [--dir D] [--<directive> <value>...]
       slotraft --version

Examples:
       slotraft server                      (port 6379, data in ./data)
       slotraft server --port 7000 --dir /var/lib/slotraft
       slotraft server /etc/slotraft.conf --loglevel verbose
       slotraft cluster --nodes 3 --base-port 7000 --dir ./cluster   (3 local nodes, one cluster)
`;

function fail(message: string): never {
  process.stderr.write(message.endsWith('\n') ? message : message + '\n');
  process.exit(1);
}

function readConfig(args: readonly string[]): Config {
  let file: { path: string; text: string } | undefined;
  let flags = args;
  if (args.length > 0 && !args[0]!.startsWith('--')) {
    const path = resolve(args[0]!);
    try {
      file = { path, text: readFileSync(path, 'latin1') };
    } catch (error) {
      fail(`Fatal error, can't open config file '${path}': ${(error as Error).message}`);
    }
    flags = args.slice(1);
  }
  try {
    return loadConfig({ file, env: process.env, flags });
  } catch (error) {
    if (error instanceof ConfigError) fail(error.fatalText());
    throw error;
  }
}

/** Creates `dir` and returns the node id kept in dir/node-id (made once, at random). */
function prepareDir(dir: string): string {
  const path = join(dir, 'node-id');
  try {
    mkdirSync(dir, { recursive: true });
    let id = '';
    try {
      id = readFileSync(path, 'latin1').trim();
    } catch {
      // no id yet
    }
    if (!/^[0-9a-f]{40}$/.test(id)) {
      id = randomBytes(20).toString('hex');
      writeFileSync(path, id + '\n');
    }
    return id;
  } catch (error) {
    fail(`Can't use dir '${resolve(dir)}': ${(error as Error).message}`);
  }
}

/** The text redis-server prints when it cannot listen. */
function listenError(kind: string, host: string, port: number, error: NodeJS.ErrnoException): string {
  const reasons: Record<string, string> = {
    EADDRINUSE: 'Address already in use',
    EACCES: 'Permission denied',
    EADDRNOTAVAIL: 'Cannot assign requested address',
  };
  const reason = reasons[error.code ?? ''] ?? error.message;
  return `Could not create ${kind} listening socket ${host}:${port}: bind: ${reason}`;
}

async function runServer(args: readonly string[]): Promise<void> {
  const config = readConfig(args);
  const nodeId = prepareDir(config.string('dir'));
  const logger = new Logger(config.string('loglevel') as LogLevel, config.string('logfile'));
  let server: SlotraftServer;
  try {
    server = new SlotraftServer({ config, logger, nodeId });
  } catch (error) {
    fail(`Fatal config error: ${(error as Error).message}`);
  }
  const host = config.string('bind').split(' ')[0] || '127.0.0.1';
  const admin = new AdminServer(server);

  let stopping = false;
  const shutdown = (reason: string): void => {
    if (stopping) return;
    stopping = true;
    logger.notice('shutting down', { reason });
    void Promise.all([server.close(), admin.close()]).then(async () => {
      logger.notice('bye');
      await logger.close();
      process.exit(0);
    });
  };
  server.onShutdown(() => shutdown('SHUTDOWN'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  logger.notice('slotraft is starting', { version: REDIS_VERSION, pid: process.pid, configFile: config.configFile });
  try {
    await server.start();
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { busPort?: number; replicaPort?: number };
    if (e.busPort !== undefined) fail(listenError('cluster bus', host, e.busPort, e));
    if (e.replicaPort !== undefined) fail(listenError('replica (READONLY)', host, e.replicaPort, e));
    if (e.code === undefined) fail(`Fatal error: ${e.message}`);
    fail(listenError('server TCP', host, config.number('port'), e));
  }
  const adminPort = config.adminPort();
  if (adminPort > 0) {
    try {
      await admin.start(host, adminPort);
      logger.notice('admin endpoint listening', { host, port: adminPort });
    } catch (error) {
      fail(listenError('admin HTTP', host, adminPort, error as NodeJS.ErrnoException));
    }
  }
}

const [command, ...rest] = process.argv.slice(2);
if (command === '--version' || command === '-v') {
  process.stdout.write(`slotraft (Redis ${REDIS_VERSION} compatible)\n`);
} else if (command === 'server') {
  await runServer(rest);
} else if (command === 'cluster') {
  try {
    await runCluster(rest, fileURLToPath(new URL('../../bin/slotraft.js', import.meta.url)));
  } catch (error) {
    fail((error as Error).message);
  }
} else {
  fail(USAGE);
}
