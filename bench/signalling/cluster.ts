/**
 * The signalling benchmark's two-process target ('ours-redis'): one throwaway redis-server and
 * two `dist/server.js` processes, run as the one-process target runs, plus REDIS_URL and a
 * shared TOKEN_SECRET, so rooms, swarm, limits and Socket.IO's relays between the processes go
 * through Redis. The load puts each room's sockets on the two processes in turn, so about half
 * of all relays (5 of a room's 9 recipients, and the first it picks) cross between processes. Also the rows that compare it with
 * the one-process run.
 */
import { randomBytes } from 'node:crypto';
import { KiB, MiB } from '../../testing/files.js';
import { startRedis } from '../../testing/redis.js';
import type { Row } from '../lib/report.js';
import { fmt, medianRatio } from '../lib/stats.js';
import type { PhaseResult } from './phase-result.js';
import {
  OURS_COMMAND,
  profileFiles,
  serviceEnv,
  startServer,
  type ServerStats,
  type Target,
} from './target.js';

export const PROCESSES = 2;

/** Combines what each process's hook measured: worst delays, summed GC time. */
function mergeStats(all: Array<ServerStats | null>): ServerStats | null {
  const stats = all.filter((s): s is ServerStats => s !== null);
  if (stats.length === 0) return null;
  const max = (f: (s: ServerStats) => number) => Math.max(...stats.map(f));
  const sum = (f: (s: ServerStats) => number) => stats.reduce((t, s) => t + f(s), 0);
  return {
    lagP50Ms: max((s) => s.lagP50Ms),
    lagP99Ms: max((s) => s.lagP99Ms),
    lagMaxMs: max((s) => s.lagMaxMs),
    gcCount: sum((s) => s.gcCount),
    gcTotalMs: sum((s) => s.gcTotalMs),
    gcMaxMs: max((s) => s.gcMaxMs),
  };
}

export async function startCluster(
  { sockets, roomSize }: { sockets: number; roomSize: number },
  profilePath: string | null,
): Promise<Target> {
  // Redis serves only a few connections per process, so its default maxclients is plenty.
  const redis = await startRedis();
  const env = {
    ...serviceEnv(sockets, roomSize),
    REDIS_URL: redis.url,
    TOKEN_SECRET: randomBytes(32).toString('base64url'),
  };
  const files = profilePath ? profileFiles('ours-redis', profilePath) : [];
  const started = await Promise.allSettled(
    Array.from({ length: PROCESSES }, (_, i) =>
      startServer(`ours-redis #${i + 1}`, OURS_COMMAND, env, files[i] ?? null),
    ),
  );
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return {
    pids: servers.flatMap((s) => s.pids),
    bases: servers.flatMap((s) => s.bases),
    redisPid: redis.pid,
    stop,
    async collectGarbage() {
      await Promise.all(servers.map((s) => s.collectGarbage()));
    },
    openWindow() {
      for (const s of servers) s.openWindow();
    },
    async closeWindow() {
      return mergeStats(await Promise.all(servers.map((s) => s.closeWindow())));
    },
  };
}

type Of = (kind: 'ours' | 'ours-redis', f: (r: PhaseResult) => number) => number[];
type Med = (kind: 'ours' | 'ours-redis', f: (r: PhaseResult) => number) => number;

/** The two-process rows, and its ratios to the one-process run of the same runs. */
export function clusterRows(
  of: Of,
  med: Med,
  { sockets, rate }: { sockets: number; rate: number },
): Row[] {
  const held = Math.min(...of('ours-redis', (r) => Math.min(r.connected, r.stillOpen)));
  const p99 = med('ours-redis', (r) => r.p99);
  const relayRate = med('ours-redis', (r) => r.ratePerSecond);
  const name = 'two processes';
  return [
    {
      metric: `${name}: sockets held (fewest over runs)`,
      value: held,
      target: `≥ ${sockets}`,
      met: held >= sockets,
    },
    { metric: `${name}: relayed messages`, value: relayRate, unit: 'msg/s' },
    {
      metric: `${name}: relays between the processes`,
      value: `${fmt(
        med('ours-redis', (r) => r.crossed),
        0,
      )} (${fmt(
        med('ours-redis', (r) => (r.crossed / r.delivered) * 100),
        0,
      )} %)`,
    },
    { metric: `${name}: relay latency p50`, value: med('ours-redis', (r) => r.p50), unit: 'ms' },
    {
      metric: `${name}: relay latency p99`,
      value: p99,
      unit: 'ms',
      target: `< 100 at ${rate} msg/s`,
      met: p99 < 100 && relayRate >= 0.95 * rate,
    },
    {
      metric: `${name}: relay latency p99 between the processes`,
      value: med('ours-redis', (r) => r.crossP99),
      unit: 'ms',
    },
    { metric: `${name}: messages lost`, value: med('ours-redis', (r) => r.sent - r.delivered) },
    {
      metric: `${name}: RSS per socket (both processes)`,
      value: med('ours-redis', (r) => r.rssPerSocket) / KiB,
      unit: 'KiB',
    },
    {
      metric: `${name}: CPU while relaying (both processes)`,
      value: med('ours-redis', (r) => r.cpuLoadPct),
      unit: '% of a core',
    },
    {
      metric: `${name}: redis-server RSS with the sockets held`,
      value: med('ours-redis', (r) => r.redisRss ?? Number.NaN) / MiB,
      unit: 'MiB',
    },
    {
      metric: `${name}: redis-server CPU while relaying`,
      value: med('ours-redis', (r) => r.redisCpuPct ?? Number.NaN),
      unit: '% of a core',
    },
    {
      metric: `${name}: load generator CPU (its processes)`,
      value: med('ours-redis', (r) => r.loadgenCpuPct),
      unit: '% of a core',
    },
    {
      metric: `${name}: server event-loop delay p99 / max (worse process)`,
      value: `${fmt(
        med('ours-redis', (r) => r.server?.lagP99Ms ?? Number.NaN),
        0,
      )} / ${fmt(
        med('ours-redis', (r) => r.server?.lagMaxMs ?? Number.NaN),
        0,
      )}`,
      unit: 'ms',
    },
    {
      metric: `${name}: load generator event-loop lag p99`,
      value: med('ours-redis', (r) => r.loadgenLagP99),
      unit: 'ms',
    },
    {
      metric: `${name}: time to open all sockets`,
      value: med('ours-redis', (r) => r.connectSeconds),
      unit: 's',
    },
    {
      metric: 'relay latency p99, two processes / one',
      value: medianRatio(
        of('ours-redis', (r) => r.p99),
        of('ours', (r) => r.p99),
      ),
      unit: '×',
    },
    {
      metric: 'RSS per socket, two processes / one',
      value: medianRatio(
        of('ours-redis', (r) => r.rssPerSocket),
        of('ours', (r) => r.rssPerSocket),
      ),
      unit: '×',
    },
  ];
}

export function clusterNotes(sockets: number, roomSize: number): string[] {
  const across = Math.ceil((roomSize - 1) / 2);
  return [
    `Two processes: one redis-server (--save '' --appendonly no) and two of our processes started as the one-process target is, plus REDIS_URL and a shared TOKEN_SECRET; ${sockets} sockets in all, each room's sockets on the two processes in turn (its sharer on one, its recipients alternating from the other), so ${across} of a room's ${roomSize - 1} recipients exchange with their sharer across the processes, through Redis.`,
    'Two processes: RSS per socket and CPU are the sums over both service processes; redis-server is reported beside them, not in them; event-loop delays are the worse process, GC time the sum. Ratios are per run, two-process figure over the one-process figure of the same run.',
  ];
}
