/**
 * A throwaway coturn (`turnserver`) for tests: TURN over UDP and TCP on a free port of 127.0.0.1,
 * relaying from a small port range there, with coturn's `use-auth-secret` and a test secret (the
 * TURN REST API scheme `GET /ice` mints for). No config file, TLS, CLI or database outside its
 * temp dir; its log is a file the test can read. Stopped by the caller, and at exit through
 * testing/cleanup.ts if the run ends early.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  forgetProcess,
  killProcessGroup,
  removeTempDir,
  tempDir,
  trackProcess,
} from './cleanup.js';
import { freePort, waitForPort } from './ports.js';

export const TURNSERVER = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

/** Relay ports per server: each allocation takes one (two peers, a few retries). */
const RELAY_PORTS = 40;

export interface Coturn {
  port: number;
  /** The static-auth-secret (`TURN_SECRET` for the service). */
  secret: string;
  /** `turn:` URLs over UDP and TCP (`TURN_URLS` for the service). */
  urls: string[];
  /** What coturn logged so far. */
  log(): string;
  stop(): Promise<void>;
}

export async function startCoturn(): Promise<Coturn> {
  if (!existsSync(TURNSERVER)) {
    throw new Error(
      `${TURNSERVER} is missing; install it with: apt-get update && apt-get install -y coturn`,
    );
  }
  const dir = tempDir('p2p-coturn-');
  const logFile = path.join(dir, 'turn.log');
  const port = await freePort();
  // A relay range of its own, away from the ephemeral ports the system hands out (32768+ on
  // Linux would do too, but browsers and Node take theirs from there).
  const minPort = 20_000 + randomInt(0, 500) * RELAY_PORTS;
  const secret = randomBytes(18).toString('base64url');
  const proc = spawn(
    TURNSERVER,
    [
      '-n', // no configuration file: only what is given here
      '--listening-ip=127.0.0.1',
      '--relay-ip=127.0.0.1',
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + RELAY_PORTS - 1}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      '--realm=p2p-share.test',
      '--no-tls',
      '--no-dtls',
      // coturn refuses loopback peers unless allowed, and allows them only without its CLI.
      '--no-cli',
      '--allow-loopback-peers',
      '--no-software-attribute',
      `--userdb=${path.join(dir, 'turndb')}`,
      `--pidfile=${path.join(dir, 'turnserver.pid')}`,
      `--log-file=${logFile}`,
      '--simple-log',
      '--no-stdout-log',
      '--verbose',
    ],
    { stdio: 'ignore', detached: true },
  );
  trackProcess(proc);
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const running = proc.exitCode === null && proc.signalCode === null;
    killProcessGroup(proc);
    forgetProcess(proc);
    if (running) await exited;
    removeTempDir(dir);
  };
  try {
    await waitForPort(port, proc);
  } catch (err) {
    await stop();
    throw new Error(`${String(err)}:\n${log().slice(-2000)}`);
  }
  return {
    port,
    secret,
    urls: [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`],
    log,
    stop,
  };
}
