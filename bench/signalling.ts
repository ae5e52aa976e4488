/**
 * Benchmark 4, signalling load: K sockets in rooms, held open, running complete offer/answer/ICE
 * exchanges at a fixed rate — against our service as it ships (`node dist/server.js`), in the
 * same run against two of its processes sharing one redis-server (rooms spread over both, so
 * relays cross between them), and against the `peer` server doing the equivalent exchange, each
 * in its own child processes. Load comes from child processes of this one (socket.io-client
 * and ws), each holding its share of the sockets. Reports sockets held, relay latency p50/p99, the servers' RSS per socket and CPU.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KiB } from '../testing/files.js';
import { delay } from '../testing/wait.js';
import type { Benchmark, BenchContext, BenchOutput } from './lib/bench.js';
import { SERVER_BUNDLE, SERVER_FLAGS } from './lib/service-command.js';
import { barChart, type Bar } from './lib/chart.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import { printProfiles, summarize, type CpuProfile, type ProfileSummary } from './lib/profile.js';
import type { Row } from './lib/report.js';
import { fmt, median, medianRatio, percentile } from './lib/stats.js';
import { clusterNotes, clusterRows, PROCESSES, startCluster } from './signalling/cluster.js';
import { LoadProcess } from './signalling/load-process.js';
import {
  messagesPerExchange,
  sealedChars,
  type ConnectReport,
  type FromWorker,
  type LoadReport,
  type TargetKind,
  type WorkerJob,
} from './signalling/protocol.js';
import {
  profileFiles,
  hardFdLimit,
  softFdLimit,
  startTarget,
  type ServerStats,
  type Target,
} from './signalling/target.js';

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
const SMOKE: Scale = {
  sockets: 200,
  clusterSockets: 200,
  rate: 200,
  warmupMs: 500,
  durationMs: 3_000,
  workers: 2,
  roomSize: 10,
  concurrency: 16,
};

const SHAPE = { sdpChars: 1000, candidateChars: 200, candidates: 2, heartbeatMs: 5000 };

export interface PhaseResult {
  target: TargetKind;
  run: number;
  /** Server processes; RSS and CPU figures are their sums. */
  processes: number;
  sockets: number;
  connected: number;
  connectFailed: number;
  firstError: string | null;
  connectSeconds: number;
  stillOpen: number;
  sent: number;
  delivered: number;
  refused: number;
  ratePerSecond: number;
  p50: number;
  p99: number;
  max: number;
  /** Delivered messages relayed from one server process to another, and their p99. */
  crossed: number;
  crossP99: number;
  rssIdle: number;
  rssHeld: number;
  rssPerSocket: number;
  cpuConnectSeconds: number;
  cpuLoadSeconds: number;
  cpuLoadPct: number;
  loadgenCpuPct: number;
  /** The worst worker's event-loop delay p99: latency the load generator itself adds. */
  loadgenLagP99: number;
  /** Sockets closed under the load generator, by reason (none is the healthy answer). */
  disconnects: Record<string, number>;
  /** The server's own event-loop delay and GC pauses over the load window. */
  server: ServerStats | null;
  /** redis-server's RSS with the sockets held and its CPU while relaying (null: no Redis). */
  redisRss: number | null;
  redisCpuPct: number | null;
}

/**
 * P2P_BENCH_SIGNALLING=sockets=4000,rate=2000,durationMs=10000 overrides the scale, for tuning
 * on a shared machine; results written that way say so in their parameters.
 */
function scaleOverride(base: Scale): Scale {
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

async function signallingRun(ctx: BenchContext): Promise<BenchOutput> {
  const scale = scaleOverride(ctx.smoke ? SMOKE : FULL);
  const notes: string[] = [];
  // Every socket is a file descriptor of one load process, which may open as many files as this
  // one, and of one server process, which raises its own limit to the hard limit.
  for (const key of ['sockets', 'clusterSockets'] as const) {
    const servers = key === 'clusterSockets' ? PROCESSES : 1;
    const most = Math.min((softFdLimit() - 1000) * scale.workers, (hardFdLimit() - 1000) * servers);
    if (scale[key] > most) {
      notes.push(
        `Processes may open only ${softFdLimit()} files (at most ${hardFdLimit()}); ${key} cut from ${scale[key]} to ${most}. Raise \`ulimit -n\` to hold them all.`,
      );
      scale[key] = most;
    }
  }
  const results: PhaseResult[] = [];
  const kinds: TargetKind[] = ['ours', 'ours-redis', 'peer'];
  for (let run = 0; run < ctx.runs; run++) {
    // Each run starts with another target, so none always runs on the coolest machine.
    for (let k = 0; k < kinds.length; k++) {
      results.push(await phase(kinds[(run + k) % kinds.length]!, run, scale, ctx.log));
    }
  }
  const of = (kind: TargetKind, f: (r: PhaseResult) => number) =>
    results
      .filter((r) => r.target === kind)
      .sort((a, b) => a.run - b.run)
      .map(f);
  const med = (kind: TargetKind, f: (r: PhaseResult) => number) => median(of(kind, f));
  const rssRatio = medianRatio(
    of('ours', (r) => r.rssPerSocket),
    of('peer', (r) => r.rssPerSocket),
  );
  const heldOk = Math.min(...of('ours', (r) => Math.min(r.connected, r.stillOpen)));
  const oursRate = med('ours', (r) => r.ratePerSecond);
  const oursP99 = med('ours', (r) => r.p99);
  const rows: Row[] = [];
  for (const kind of ['ours', 'peer'] as TargetKind[]) {
    const name = kind === 'ours' ? 'ours' : 'peer';
    rows.push(
      kind === 'ours'
        ? {
            metric: 'ours: sockets held (fewest over runs)',
            value: heldOk,
            target: '≥ 10000',
            met: heldOk >= 10_000,
          }
        : {
            metric: 'peer: sockets held (fewest over runs)',
            value: Math.min(...of('peer', (r) => Math.min(r.connected, r.stillOpen))),
          },
      {
        metric: `${name}: relayed messages`,
        value: med(kind, (r) => r.ratePerSecond),
        unit: 'msg/s',
      },
      { metric: `${name}: relay latency p50`, value: med(kind, (r) => r.p50), unit: 'ms' },
      kind === 'ours'
        ? {
            metric: 'ours: relay latency p99',
            value: oursP99,
            unit: 'ms',
            target: `< 50 at ${FULL.rate} msg/s`,
            met: oursP99 < 50 && oursRate >= 0.95 * FULL.rate,
          }
        : { metric: 'peer: relay latency p99', value: med(kind, (r) => r.p99), unit: 'ms' },
      { metric: `${name}: messages lost`, value: med(kind, (r) => r.sent - r.delivered) },
      {
        metric: `${name}: RSS per socket`,
        value: med(kind, (r) => r.rssPerSocket) / KiB,
        unit: 'KiB',
      },
      {
        metric: `${name}: CPU while relaying`,
        value: med(kind, (r) => r.cpuLoadPct),
        unit: '% of a core',
      },
      {
        metric: `${name}: load generator CPU (its processes)`,
        value: med(kind, (r) => r.loadgenCpuPct),
        unit: '% of a core',
      },
      {
        metric: `${name}: server event-loop delay p99 / max`,
        value: `${fmt(
          med(kind, (r) => r.server?.lagP99Ms ?? Number.NaN),
          0,
        )} / ${fmt(
          med(kind, (r) => r.server?.lagMaxMs ?? Number.NaN),
          0,
        )}`,
        unit: 'ms',
      },
      {
        metric: `${name}: server GC, total / longest pause`,
        value: `${fmt(
          med(kind, (r) => r.server?.gcTotalMs ?? Number.NaN),
          0,
        )} / ${fmt(
          med(kind, (r) => r.server?.gcMaxMs ?? Number.NaN),
          0,
        )}`,
        unit: 'ms',
      },
      {
        metric: `${name}: load generator event-loop lag p99`,
        value: med(kind, (r) => r.loadgenLagP99),
        unit: 'ms',
      },
      {
        metric: `${name}: time to open all sockets`,
        value: med(kind, (r) => r.connectSeconds),
        unit: 's',
      },
    );
  }
  rows.push({
    metric: 'RSS per socket, ours / peer',
    value: rssRatio,
    unit: '×',
    target: '≤ 1.0',
    met: rssRatio <= 1.0,
  });
  rows.push(...clusterRows(of, med, { sockets: FULL.clusterSockets, rate: FULL.rate }));
  notes.push(
    `Each exchange: offer, answer and ${SHAPE.candidates} ICE candidates each way (${messagesPerExchange(SHAPE.candidates)} relayed messages); ` +
      `SDP ${SHAPE.sdpChars} and candidate ${SHAPE.candidateChars} characters, sent sealed by ours (${sealedChars(SHAPE.sdpChars)} / ${sealedChars(SHAPE.candidateChars)} base64url characters) and raw JSON by PeerJS.`,
    `Rooms of ${scale.roomSize} (1 sharer, ${scale.roomSize - 1} recipients); recipients offer to their room's sharer, round robin; exchanges start at a fixed rate whether or not earlier ones finished (open loop).`,
    `Measured over ${scale.durationMs / 1000} s after ${scale.warmupMs / 1000} s of the same load unmeasured: RSS is read after full collections, which leave a server with a minimal young generation and its relay path not yet run, so the first second would measure that, not relaying at the rate.`,
    `PeerJS clients also send a HEARTBEAT every ${SHAPE.heartbeatMs / 1000} s, as PeerJS does by default; Socket.IO pings every 25 s.`,
    `Our service runs as shipped (node ${[...SERVER_FLAGS, SERVER_BUNDLE].join(' ')}) with its defaults, except ROOMS_PER_ADDRESS and the other per-address budgets raised out of the way (all load comes from one address) and SWARM_CAPACITY raised to the room size (${scale.roomSize}), so every recipient is served by its sharer at once rather than queued behind seeds. While connecting, each sharer confirms its recipients' leases (\`report\` \`opened\`), as the widget's sharer does when a link opens, so no lease runs out during the run.`,
    'Latency is send → delivery, both in the same load worker; the load generator shares the two cores with the server, as everything does here.',
    ...clusterNotes(scale.clusterSockets, scale.roomSize),
  );
  let profiles: ProfileSummary[] = [];
  if (ctx.profile || (!ctx.smoke && rows.some((r) => r.met === false))) {
    profiles = await profileTargets(ctx, scale);
    printProfiles(profiles);
  }
  const bars: Bar[] = [];
  for (const kind of kinds) {
    bars.push(
      {
        group: 'relay latency p50',
        label: kind,
        value: med(kind, (r) => r.p50),
        runs: of(kind, (r) => r.p50),
      },
      {
        group: 'relay latency p99',
        label: kind,
        value: med(kind, (r) => r.p99),
        runs: of(kind, (r) => r.p99),
      },
      {
        group: 'RSS per socket (all service processes)',
        label: kind,
        value: med(kind, (r) => r.rssPerSocket) / KiB,
        runs: of(kind, (r) => r.rssPerSocket / KiB),
      },
      {
        group: 'server CPU while relaying (all service processes)',
        label: kind,
        value: med(kind, (r) => r.cpuLoadPct),
        runs: of(kind, (r) => r.cpuLoadPct),
      },
    );
  }
  return {
    params: { ...scale, ...SHAPE, runs: ctx.runs, server: SERVER_BUNDLE },
    rows,
    runs: results,
    notes,
    browsers: {},
    extra: { profiles },
    chart: barChart(
      `Signalling: ${scale.sockets} sockets (two processes: ${scale.clusterSockets}), ${scale.rate} msg/s, median of ${ctx.runs}`,
      bars,
      {
        'relay latency p50': 'ms',
        'relay latency p99': 'ms',
        'RSS per socket (all service processes)': 'KiB',
        'server CPU while relaying (all service processes)': '% of a core',
      },
    ),
  };
}

/** One extra, profiled load phase per server (profiling slows it, so it is not measured). */
async function profileTargets(ctx: BenchContext, scale: Scale): Promise<ProfileSummary[]> {
  const dir = path.join(ctx.outDir, 'profiles');
  await mkdir(dir, { recursive: true });
  const out: ProfileSummary[] = [];
  for (const kind of ['ours', 'ours-redis', 'peer'] as TargetKind[]) {
    const file = path.join(dir, `signalling-${kind}.cpuprofile`);
    ctx.log(`profiling the ${kind} server under load`);
    await phase(kind, -1, scale, ctx.log, file);
    const files = profileFiles(kind, file);
    for (const [i, written] of files.entries()) {
      const profile = JSON.parse(await readFile(written, 'utf8')) as CpuProfile;
      const label = files.length > 1 ? `${kind} server #${i + 1}` : `${kind} server`;
      out.push({ ...summarize(`${label}, load phase`, profile, null), file: written });
    }
  }
  return out;
}

export const signalling: Benchmark = {
  name: 'signalling',
  title: 'Signalling load: our service, one process and two on Redis, vs the peer server',
  run: signallingRun,
};
