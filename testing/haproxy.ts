/**
 * HAProxy from Debian in front of service processes, run with the repository's own
 * deploy/haproxy.cfg (the configuration docs/deploy.md recommends), so the tests exercise what
 * site owners deploy. Backends it is not given point at a closed port and stay down.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forgetProcess, killProcessGroup, trackProcess } from './cleanup.js';
import { freePort, waitForPort } from './ports.js';

export const HAPROXY = process.env.HAPROXY_PATH ?? '/usr/sbin/haproxy';
const CONFIG = fileURLToPath(new URL('../deploy/haproxy.cfg', import.meta.url));
/** Backend lines in deploy/haproxy.cfg. */
const BACKENDS = 3;

export interface Balancer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Starts HAProxy on a free port in front of `backends` (each `host:port`). */
export async function startHaproxy(backends: string[]): Promise<Balancer> {
  if (!existsSync(HAPROXY)) {
    throw new Error(
      `${HAPROXY} is missing; install it with: apt-get update && apt-get install -y haproxy`,
    );
  }
  if (backends.length > BACKENDS) throw new Error(`deploy/haproxy.cfg has ${BACKENDS} backends`);
  const port = await freePort();
  const closed = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, P2P_LISTEN: `127.0.0.1:${port}` };
  for (let i = 0; i < BACKENDS; i++) env[`P2P_APP${i + 1}`] = backends[i] ?? `127.0.0.1:${closed}`;
  const proc: ChildProcess = spawn(HAPROXY, ['-db', '-f', CONFIG], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  trackProcess(proc);
  await waitForPort(port, proc);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      killProcessGroup(proc);
      forgetProcess(proc);
      if (proc.exitCode === null && proc.signalCode === null) await exited;
    },
  };
}
