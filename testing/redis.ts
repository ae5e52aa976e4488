/**
 * A throwaway `redis-server` for tests and benchmarks: started on a free port on 127.0.0.1 with
 * nothing persisted, stopped by the caller (and at exit, through testing/cleanup.ts, if the run
 * ends early). `stop()` and `start()` again on the same port let a test take Redis away and bring
 * it back, as an outage would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { forgetProcess, killProcessGroup, trackProcess } from './cleanup.js';
import { freePort, waitForPort } from './ports.js';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? '/usr/bin/redis-server';

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Whether the server is running. */
  readonly running: boolean;
  /** Its process id while it runs (for /proc readings), else null. */
  readonly pid: number | null;
  /** Starts it again on the same port, with no data (after `stop`). */
  start(): Promise<void>;
  /** Kills it at once, as a crash or a network cut would. */
  stop(): Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_SERVER)) {
    throw new Error(
      `${REDIS_SERVER} is missing; install it with: apt-get update && apt-get install -y redis-server`,
    );
  }
  const port = await freePort();
  let proc: ChildProcess | null = null;

  const start = async () => {
    if (proc) return;
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'], detached: true },
    );
    trackProcess(child);
    proc = child;
    await waitForPort(port, child);
  };

  const stop = async () => {
    const child = proc;
    if (!child) return;
    proc = null;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killProcessGroup(child);
    forgetProcess(child);
    if (child.exitCode === null && child.signalCode === null) await exited;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get running() {
      return proc !== null;
    },
    get pid() {
      return proc?.pid ?? null;
    },
    start,
    stop,
  };
}
