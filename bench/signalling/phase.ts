/**
 * One load phase of the signalling benchmark against one target: start its servers, open every
 * socket from the load processes, read the servers' RSS at a settled heap, run the exchanges
 * (a warm-up, then the measured window) and collect the figures. Also the benchmark's scales
 * and the shape of an exchange.
 */
import { KiB } from '../../testing/files.js';
import { delay } from '../../testing/wait.js';
import type { BenchContext } from '../lib/bench.js';
import { cpuSeconds, rssBytes } from '../lib/proc.js';
import { fmt, percentile } from '../lib/stats.js';
import { startCluster } from './cluster.js';
import { LoadProcess } from './load-process.js';
import type { PhaseResult } from './phase-result.js';
import {
  messagesPerExchange,
  type ConnectReport,
  type FromWorker,
  type LoadReport,
  type TargetKind,
  type WorkerJob,
} from './protocol.js';
import { startTarget, type Target } from './target.js';

export interface Scale {
  sockets: number;
  /** Sockets held by the two-process target, over both processes. */
  clusterSockets: number;
  rate: number;
  /**
   * Load before the measured part: the relay path runs hot (compiled, its allocation settled)
   * and the heap has regrown its young generation after the full collections that let RSS be
   * read at a settled heap. Without it the first second measured the benchmark's own
   * collections and cold code, not a service relaying at the rate.
   */
  warmupMs: number;
  durationMs: number;
  workers: number;
  roomSize: number;
  concurrency: number;
}

export const FULL: Scale = {
  sockets: 10_000,
  clusterSockets: 20_000,
  rate: 2_000,
  warmupMs: 3_000,
  durationMs: 20_000,
  workers: 2,
  roomSize: 10,
  concurrency: 64,
};
export const SMOKE: Scale = {
  sockets: 200,
  clusterSockets: 200,
  rate: 200,
  warmupMs: 500,
  durationMs: 3_000,
  workers: 2,
  roomSize: 10,
  concurrency: 16,
};

export const SHAPE = { sdpChars: 1000, candidateChars: 200, candidates: 2, heartbeatMs: 5000 };

/**
 * P2P_BENCH_SIGNALLING=sockets=4000,rate=2000,durationMs=10000 overrides the scale, for tuning
 * on a shared machine; results written that way say so in their parameters.
 */
export function scaleOverride(base: Scale): Scale {
  const text = process.env.P2P_BENCH_SIGNALLING;
  if (!text) return base;
  const out = { ...base };
  for (const pair of text.split(',')) {
    const [key = '', value = ''] = pair.split('=');
    if (!(key in out) || !/^\d+$/.test(value)) {
      throw new Error(`P2P_BENCH_SIGNALLING: "${pair}" is not <${Object.keys(out).join('|')}>=<n>`);
    }
    out[key as keyof Scale] = Number(value);
  }
  return out;
}

function waitAll<T extends FromWorker['type']>(
  workers: LoadProcess[],
  type: T,
  timeoutMs: number,
): Promise<Array<Extract<FromWorker, { type: T }>>> {
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<Extract<FromWorker, { type: T }>>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`a load worker sent no "${type}" in ${timeoutMs / 1000} s`)),
            timeoutMs,
          );
          const onMessage = (msg: FromWorker) => {
            if (msg.type !== type) return;
            clearTimeout(timer);
            w.off('message', onMessage);
            resolve(msg as Extract<FromWorker, { type: T }>);
          };
          w.on('message', onMessage);
          w.onExit((err) => {
            clearTimeout(timer);
            reject(err);
          });
        }),
    ),
  );
}

export async function phase(
  kind: TargetKind,
  run: number,
  scale: Scale,
  log: BenchContext['log'],
  profilePath: string | null = null,
): Promise<PhaseResult> {
  const sockets = kind === 'ours-redis' ? scale.clusterSockets : scale.sockets;
  const target: Target =
    kind === 'ours-redis'
      ? await startCluster({ sockets, roomSize: scale.roomSize }, profilePath)
      : await startTarget(kind, { sockets, roomSize: scale.roomSize }, profilePath);
  // Every figure of the service is the sum over its processes; redis-server's stands beside.
  const rss = () => target.pids.reduce((sum, pid) => sum + rssBytes(pid), 0);
  const cpu = () => target.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const redisCpu = () => (target.redisPid === null ? Number.NaN : cpuSeconds(target.redisPid));
  const workers: LoadProcess[] = [];
  try {
    await delay(500);
    await target.collectGarbage();
    const rssIdle = rss();
    const cpu0 = cpu();
    for (let i = 0; i < scale.workers; i++) {
      const job: WorkerJob = {
        target: kind,
        workerId: i,
        bases: target.bases,
        sockets: Math.floor(sockets / scale.workers) + (i < sockets % scale.workers ? 1 : 0),
        roomSize: scale.roomSize,
        rate: scale.rate / scale.workers,
        durationMs: scale.durationMs,
        concurrency: scale.concurrency,
        ...SHAPE,
      };
      workers.push(new LoadProcess(job));
    }
    const connected: ConnectReport[] = await waitAll(workers, 'connected', 300_000);
    const connectSeconds = Math.max(...connected.map((c) => c.ms)) / 1000;
    const held = connected.reduce((s, c) => s + c.connected, 0);
    log(`${kind}: ${held} of ${sockets} sockets open in ${connectSeconds.toFixed(1)} s`);
    await delay(1000);
    await target.collectGarbage();
    const rssHeld = rss();
    const cpuHeld = cpu();
    const redisRss = target.redisPid === null ? null : rssBytes(target.redisPid);
    for (const w of workers) w.postMessage({ type: 'go' });
    await delay(scale.warmupMs);
    const cpu1 = cpu();
    const redis1 = redisCpu();
    const loadCpu = () => workers.reduce((sum, w) => sum + cpuSeconds(w.child.pid!), 0);
    const gen0 = loadCpu();
    const t1 = performance.now();
    target.openWindow();
    for (const w of workers) w.postMessage({ type: 'measure' });
    const done: LoadReport[] = await waitAll(workers, 'done', scale.durationMs + 60_000);
    const wall = (performance.now() - t1) / 1000;
    const cpu2 = cpu();
    const redis2 = redisCpu();
    const gen = loadCpu() - gen0;
    const server = await target.closeWindow();
    const joined = (pick: (d: LoadReport) => Float64Array) => {
      const out = new Float64Array(done.reduce((s, d) => s + pick(d).length, 0));
      let at = 0;
      for (const d of done) {
        out.set(pick(d), at);
        at += pick(d).length;
      }
      return Array.from(out);
    };
    const lat = joined((d) => d.latencies);
    const crossLat = joined((d) => d.crossLatencies);
    const sent = done.reduce((s, d) => s + d.sent, 0);
    const sendSeconds = Math.max(...done.map((d) => d.sendSeconds));
    const result: PhaseResult = {
      target: kind,
      run,
      processes: target.pids.length,
      sockets,
      connected: held,
      connectFailed: connected.reduce((s, c) => s + c.failed, 0),
      firstError: connected.find((c) => c.firstError)?.firstError ?? null,
      connectSeconds,
      stillOpen: done.reduce((s, d) => s + d.stillOpen, 0),
      sent,
      delivered: done.reduce((s, d) => s + d.delivered, 0),
      refused: done.reduce((s, d) => s + d.refused, 0),
      ratePerSecond:
        (done.reduce((s, d) => s + d.exchanges, 0) * messagesPerExchange(SHAPE.candidates)) /
        sendSeconds,
      p50: percentile(lat, 50),
      p99: percentile(lat, 99),
      max: percentile(lat, 100),
      crossed: crossLat.length,
      crossP99: percentile(crossLat, 99),
      rssIdle,
      rssHeld,
      rssPerSocket: held > 0 ? (rssHeld - rssIdle) / held : Number.NaN,
      cpuConnectSeconds: cpuHeld - cpu0,
      cpuLoadSeconds: cpu2 - cpu1,
      cpuLoadPct: ((cpu2 - cpu1) / wall) * 100,
      loadgenCpuPct: (gen / wall) * 100,
      loadgenLagP99: Math.max(...done.map((d) => d.loopDelayP99Ms)),
      server,
      redisRss,
      redisCpuPct: target.redisPid === null ? null : ((redis2 - redis1) / wall) * 100,
      disconnects: done.reduce<Record<string, number>>((acc, d) => {
        for (const [k, n] of Object.entries(d.disconnects)) acc[k] = (acc[k] ?? 0) + n;
        return acc;
      }, {}),
    };
    log(
      `${kind} ${run < 0 ? 'profiled run' : `run ${run + 1}`}: ${result.ratePerSecond.toFixed(0)} msg/s, p50 ${result.p50.toFixed(1)} ms, ` +
        `p99 ${result.p99.toFixed(1)} ms, ${(result.rssPerSocket / KiB).toFixed(1)} KiB/socket, ` +
        (result.processes > 1
          ? `${result.crossed} relays across processes (p99 ${fmt(result.crossP99, 1)} ms), ` +
            `redis-server CPU ${fmt(result.redisCpuPct ?? Number.NaN, 0)}%, `
          : '') +
        `CPU ${result.cpuLoadPct.toFixed(0)}%, lost ${result.sent - result.delivered}, ` +
        `load generator lag p99 ${result.loadgenLagP99.toFixed(0)} ms, ` +
        `server lag p99/max ${fmt(server?.lagP99Ms ?? Number.NaN, 0)}/${fmt(server?.lagMaxMs ?? Number.NaN, 0)} ms, ` +
        `GC max ${fmt(server?.gcMaxMs ?? Number.NaN, 0)} ms` +
        (Object.keys(result.disconnects).length
          ? `, dropped sockets ${JSON.stringify(result.disconnects)}`
          : ''),
    );
    for (const w of workers) w.postMessage({ type: 'close' });
    await waitAll(workers, 'closed', 30_000).catch(() => {});
    return result;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    await target.stop();
  }
}
