/**
 * The servers the signalling benchmark loads, each a child process with the preloaded hook
 * (server-hook.mjs) that lets the benchmark collect garbage in it and measure it over the load
 * window: our service as it ships (`node dist/server.js`), the `peer` server, and (cluster.ts)
 * two of ours sharing one redis-server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SERVER_BUNDLE, SERVER_FLAGS } from '../lib/service-command.js';
import type { TargetKind } from './protocol.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVER_HOOK = fileURLToPath(new URL('./server-hook.mjs', import.meta.url));

/** What the server hook measured over the load window. */
export interface ServerStats {
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

export interface Target {
  /** The server processes: RSS and CPU figures are their sums. */
  pids: number[];
  /**
   * `http://127.0.0.1:<port>` of each server process; the load spreads every room's sockets
   * over them in turn.
   */
  bases: string[];
  /** The redis-server the processes share, measured beside them (not in their figures). */
  redisPid: number | null;
  stop(): Promise<void>;
  /** A full GC in every server process, so RSS is read at a settled heap. */
  collectGarbage(): Promise<void>;
  /**
   * Opens and closes the load window the servers measure themselves over (and profile, when
   * started with a profile path).
   */
  openWindow(): void;
  closeWindow(): Promise<ServerStats | null>;
}

function fdLimit(field: 3 | 4): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const value = line?.trim().split(/\s+/)[field];
    return value === 'unlimited' ? 1_048_576 : Number(value) || 1024;
  } catch {
    return 1024;
  }
}

/** The hard limit on open files, which a child may raise its soft limit to. */
export const hardFdLimit = () => fdLimit(4);
export const softFdLimit = () => fdLimit(3);

/**
 * Our service's environment for the load: its defaults, except the budgets one client address
 * has, since one load generator stands for thousands of clients behind one address.
 */
export function serviceEnv(sockets: number, roomSize: number): Record<string, string> {
  return {
    // The per-address room limit must let it create a room for every ten of them. Every other
    // limit (per-socket message rate, room size, sizes) stays at its default.
    ROOMS_PER_ADDRESS: String(Math.max(1000, sockets)),
    // For the same reason the budgets of one client address (sockets, connections, live
    // rooms, messages over all its sockets) are lifted out of the way.
    LIVE_ROOMS_PER_ADDRESS: String(Math.max(1000, sockets)),
    SOCKETS_PER_ADDRESS: String(Math.max(1000, sockets)),
    MAX_SOCKETS_PER_ADDRESS_PER_ROOM: String(roomSize),
    CONNECTIONS_PER_ADDRESS: String(Math.max(1000, sockets)),
    ADDRESS_MESSAGES_PER_SECOND: '1000000',
    ADDRESS_MESSAGE_BURST: '10000000',
    // The sharer serves every recipient of its room at once, so each recipient's `sources`
    // names it and the load is relaying, as with the peer server (which has no queue).
    // With the default capacity (4) recipients 5-9 of a room would be queued behind seeds
    // that this load generator never becomes.
    SWARM_CAPACITY: String(roomSize),
  };
}

export const OURS_COMMAND = [
  process.execPath,
  ...SERVER_FLAGS,
  '--import',
  SERVER_HOOK,
  SERVER_BUNDLE,
];

/** Where each server process of `kind` writes its CPU profile, given the benchmark's path. */
export function profileFiles(kind: TargetKind, file: string): string[] {
  return kind === 'ours-redis'
    ? [0, 1].map((i) => file.replace(/(\.cpuprofile)?$/, `-${i}$1`))
    : [file];
}

/** One server process: `command` run with its soft file limit raised, on a free port. */
export async function startServer(
  label: string,
  command: string[],
  env: Record<string, string>,
  profilePath: string | null,
): Promise<Target> {
  // `exec` keeps the pid, so /proc/<pid> is the server itself, not the shell.
  const child: ChildProcess = spawn(
    'sh',
    ['-c', `ulimit -n ${hardFdLimit()} 2>/dev/null; exec "$@"`, 'sh', ...command],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
        ...(profilePath ? { BENCH_CPU_PROFILE: profilePath } : {}),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  process.once('exit', () => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${label} server did not start in 30 s`)),
      30_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /(?:listening |on http:\/\/127\.0\.0\.1:)(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${label} server exited (${code}): ${out}`)));
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  // The hook answers on stdout, a line per answer; each waiter takes the next line it matches.
  const waiting: Array<{ prefix: string; resolve: (line: string | null) => void }> = [];
  let pending = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      const i = waiting.findIndex((w) => line.startsWith(w.prefix));
      if (i >= 0) waiting.splice(i, 1)[0]!.resolve(line);
    }
  });
  const answer = (prefix: string, timeoutMs: number) =>
    new Promise<string | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      waiting.push({
        prefix,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  return {
    pids: [child.pid!],
    bases: [`http://127.0.0.1:${port}`],
    redisPid: null,
    stop,
    async collectGarbage() {
      const done = answer('gc done', 30_000);
      child.kill('SIGWINCH');
      await done;
    },
    openWindow: () => void child.kill('SIGUSR2'),
    async closeWindow() {
      const stats = answer('stats ', 30_000);
      const profile = profilePath ? answer('profile written', 60_000) : null;
      child.kill('SIGUSR2');
      const line = await stats;
      await profile;
      return line ? (JSON.parse(line.slice('stats '.length)) as ServerStats) : null;
    },
  };
}

/** The one-process targets: our service as it ships, or the `peer` server. */
export function startTarget(
  kind: 'ours' | 'peer',
  { sockets, roomSize }: { sockets: number; roomSize: number },
  profilePath: string | null,
): Promise<Target> {
  return kind === 'ours'
    ? startServer(kind, OURS_COMMAND, serviceEnv(sockets, roomSize), profilePath)
    : startServer(
        kind,
        [
          process.execPath,
          '--import',
          SERVER_HOOK,
          '--import',
          'tsx',
          'bench/signalling/peer-target.ts',
          String(sockets),
        ],
        {},
        profilePath,
      );
}
