/**
 * The built service (dist/server.js) as its own process, run the way `npm run serve` runs it,
 * for tests that restart, kill or drain a process or run several behind a balancer. Needs
 * `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { forgetProcess, killProcessGroup, trackProcess } from './cleanup.js';
import { freePort, waitForPort } from './ports.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUNDLE = `${ROOT}dist/server.js`;

/** The Node flags `npm run serve` gives before dist/server.js. */
function serveFlags(): string[] {
  const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    scripts: Record<string, string>;
  };
  const m = /^node((?:\s+--\S+)*)\s+dist\/server\.js$/.exec(pkg.scripts.serve ?? '');
  if (!m) throw new Error(`package.json's serve script is not "node [flags] dist/server.js"`);
  return m[1]!.split(/\s+/).filter(Boolean);
}

export interface ServiceProcess {
  port: number;
  url: string;
  proc: ChildProcess;
  /** What the process printed on stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** Sends a signal (SIGTERM by default) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** How the service is started, when not as `npm run serve` starts dist/server.js. */
export interface ServiceCommand {
  /** The program and its arguments (e.g. an installed package's bin through `npx`). */
  command: [string, ...string[]];
  cwd: string;
}

/**
 * Starts dist/server.js (or `how`) on `port` (a free one by default) with `env` added to the
 * service's.
 */
export async function startServiceProcess(
  env: Record<string, string> = {},
  port?: number,
  how?: ServiceCommand,
): Promise<ServiceProcess> {
  if (!how && !existsSync(BUNDLE)) {
    throw new Error(`${BUNDLE} is missing: run \`npm run build\` first`);
  }
  const listen = port ?? (await freePort());
  const [program, ...args] = how?.command ?? [process.execPath, ...serveFlags(), BUNDLE];
  const proc = spawn(program, args, {
    cwd: how?.cwd ?? ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(listen), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  trackProcess(proc);
  let text = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (text += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (text += s));
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      forgetProcess(proc);
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  try {
    await waitForPort(listen, proc, 20_000);
  } catch (err) {
    killProcessGroup(proc);
    throw new Error(`${String(err)}\n${text}`);
  }
  return {
    port: listen,
    url: `http://127.0.0.1:${listen}`,
    proc,
    output: () => text,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) {
        if (signal === 'SIGKILL') killProcessGroup(proc);
        else proc.kill(signal);
      }
      return exited;
    },
  };
}
