/**
 * Abuse (issue 22): what one visitor with a link can do to the service. For each attack of
 * bench/abuse/attacks.ts, and idle, a fresh service (as `npm run serve` runs it, its defaults) runs
 * while an attacker process drives the attack from a handful of loopback addresses; meanwhile an
 * honest visitor from addresses of its own times create + join + sources, one after another.
 * After the attack stops: the service's CPU in the second after the first (it must be idle
 * again within 1 s) and its RSS after a settle against its RSS before. Beside them, the cost of
 * one swarm step in the worst room one client can build, measured in this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { delay } from '../testing/wait.js';
import { ask, connect, createRoom, deleteRoom, join, loopback } from './abuse/client.js';
import { measureStepCost, type StepCost } from './abuse/step-cost.js';
import type { Benchmark, BenchContext, BenchOutput } from './lib/bench.js';
import { barChart, type Bar } from './lib/chart.js';
import { cpuSeconds, rssBytes } from './lib/proc.js';
import type { Row } from './lib/report.js';
import { SERVER_BUNDLE, SERVER_FLAGS } from './lib/service-command.js';
import { fmt, median, percentile, round } from './lib/stats.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const PHASES = [
  'idle',
  'junk-offers',
  'ban-storm',
  'fake-seeds',
  'room-fill',
  'reconnect-flood',
  'socket-flood',
  'room-hoard',
] as const;
type Phase = (typeof PHASES)[number];

interface Scale {
  /** Attack running before the honest visitor starts timing. */
  warmupMs: number;
  /** How long the honest visitor times its rounds under the attack. */
  measureMs: number;
  /** After a flood stops, before RSS is read again (the "30 s after the flood"). */
  settleMs: number;
}

/**
 * The attacks whose aftermath is judged by RSS: the floods of sockets and connections; and idle,
 * the control, whose RSS changes only with the honest visitor's rounds.
 */
const FLOODS: ReadonlySet<Phase> = new Set([
  'idle',
  'junk-offers',
  'reconnect-flood',
  'socket-flood',
]);

/** How often the honest visitor starts a round. */
const HONEST_EVERY_MS = 100;

const FULL: Scale = { warmupMs: 2_000, measureMs: 8_000, settleMs: 30_000 };
const SMOKE: Scale = { warmupMs: 1_000, measureMs: 2_000, settleMs: 2_000 };

/** The targets of issue 22. */
const HONEST_P99_MS = 100;
const IDLE_CPU_PCT = 5;
const RSS_RATIO = 1.1;

interface PhaseRun {
  phase: Phase;
  run: number;
  honestMs: number[];
  honestFailed: number;
  firstError: string | null;
  cpuDuringPct: number;
  /** Service CPU in the second that starts 1 s after the attack stopped. */
  cpuAfterPct: number;
  rssStart: number;
  rssAfter: number;
  attacker: { sent: number; refused: number; dropped: number } | null;
  /** The attacker stopped by itself before it was told to: its setup failed. */
  attackerDied: boolean;
}

interface Service {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function startService(): Promise<Service> {
  const child = spawn(process.execPath, [...SERVER_FLAGS, SERVER_BUNDLE], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('the service did not start in 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${out}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => stopChild(child, 'SIGKILL').then(() => void process.off('exit', kill)),
  };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

interface Attacker {
  /** Stops the attack and resolves to its tally (null if it printed none). */
  stop(): Promise<PhaseRun['attacker']>;
  died(): boolean;
}

function startAttacker(phase: Phase, url: string): Attacker {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/abuse/attacker.ts', phase, url],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  let stopping = false;
  let exitedEarly = false;
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.once('exit', () => (exitedEarly ||= !stopping));
  return {
    died: () => exitedEarly,
    async stop() {
      stopping = true;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      const line = out.trim().split('\n').at(-1);
      try {
        return line ? (JSON.parse(line) as PhaseRun['attacker']) : null;
      } catch {
        return null;
      }
    },
  };
}

/** One honest visitor's round: make a room, join it as sharer and as recipient, ask for sources. */
async function honestRound(url: string, n: number): Promise<number> {
  const from = loopback(1000 + (n % 10_000));
  const started = performance.now();
  const room = await createRoom(url, from);
  const sharer = await connect(url, from);
  const recipient = await connect(url, from).catch((err: unknown) => {
    sharer.close();
    throw err;
  });
  try {
    const sharerId = await join(sharer, room, 'sharer');
    await join(recipient, room, 'recipient');
    const ack = await ask(recipient, 'sources', {});
    if (!ack.ok) throw new Error(`sources refused: ${ack.error.code}`);
    if (!(ack.sources as string[]).includes(sharerId)) throw new Error('sources lack the sharer');
    return performance.now() - started;
  } finally {
    sharer.close();
    recipient.close();
    await deleteRoom(url, from, room).catch(() => undefined);
  }
}

/** Service CPU, in percent of one core, over `ms` from now. */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await delay(ms);
  return ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
}

/**
 * One honest visitor's rounds for `ms`, one starting every HONEST_EVERY_MS (or when the last
 * ends, if later): their times and failures. Paced as a person's visits are, not back to back,
 * so the honest traffic neither loads the service by itself nor grows its memory by thousands of
 * rooms in a phase.
 */
async function honestFor(url: string, ms: number, first: number) {
  const times: number[] = [];
  let failed = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  for (let n = first; performance.now() - t0 < ms; n++) {
    const started = performance.now();
    try {
      times.push(await honestRound(url, n));
    } catch (err) {
      failed++;
      firstError ??= err instanceof Error ? err.message : String(err);
    }
    await delay(Math.max(0, HONEST_EVERY_MS - (performance.now() - started)));
  }
  return { times, failed, firstError };
}

async function runPhase(phase: Phase, run: number, scale: Scale, log: BenchContext['log']) {
  const service = await startService();
  try {
    // Honest traffic first, so the RSS compared against is of a service that has run its code
    // and grown its heap for it, not of one that has served nothing yet.
    await honestFor(service.url, scale.warmupMs, 0);
    const rssStart = rssBytes(service.pid);
    const attacker = phase === 'idle' ? null : startAttacker(phase, service.url);
    await delay(scale.warmupMs);
    const c0 = cpuSeconds(service.pid);
    const t0 = performance.now();
    const {
      times: honestMs,
      failed: honestFailed,
      firstError,
    } = await honestFor(service.url, scale.measureMs, 5_000);
    const cpuDuringPct = ((cpuSeconds(service.pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
    const attackerDied = attacker?.died() ?? false;
    const tally = attacker ? await attacker.stop() : null;
    await delay(1_000);
    const cpuAfterPct = await cpuOver(service.pid, 1_000);
    if (FLOODS.has(phase)) await delay(Math.max(0, scale.settleMs - 2_000));
    const rssAfter = rssBytes(service.pid);
    const result: PhaseRun = {
      phase,
      run,
      honestMs,
      honestFailed,
      firstError,
      cpuDuringPct,
      cpuAfterPct,
      rssStart,
      rssAfter,
      attacker: tally,
      attackerDied,
    };
    log(
      `${phase} run ${run}: honest p99 ${fmt(percentile(honestMs, 99), 1)} ms (${honestMs.length} rounds, ${honestFailed} failed), CPU ${fmt(cpuDuringPct, 0)} % → ${fmt(cpuAfterPct, 1)} %, RSS ${fmt(rssStart / 2 ** 20, 1)} → ${fmt(rssAfter / 2 ** 20, 1)} MiB, attacker ${JSON.stringify(tally)}`,
    );
    return result;
  } finally {
    await service.stop();
  }
}

async function run(ctx: BenchContext): Promise<BenchOutput> {
  const scale = ctx.smoke ? SMOKE : FULL;
  const runs: PhaseRun[] = [];
  for (let r = 0; r < ctx.runs; r++) {
    for (const phase of PHASES) runs.push(await runPhase(phase, r, scale, ctx.log));
  }
  const steps: StepCost[] = [];
  for (let r = 0; r < ctx.runs; r++) steps.push(await measureStepCost(ctx.smoke ? 200 : 3_000));

  const rows: Row[] = [];
  for (const step of ['sources', 'report', 'release', 'seed'] as const) {
    const p99 = median(steps.map((s) => s[step].p99Us));
    rows.push({
      metric: `worst-room ${step} step p99`,
      value: round(p99, 1),
      unit: 'µs',
      target: '≤ 100',
      met: p99 <= 100,
      note: `room of ${steps[0]!.members} members, ${steps[0]!.waiting} waiting, ${steps[0]!.bans} bans; idle room: ${fmt(median(steps.map((s) => s[step].idleP99Us)), 1)} µs`,
    });
  }
  const bars: Bar[] = [];
  for (const phase of PHASES) {
    const mine = runs.filter((x) => x.phase === phase);
    const p99 = median(mine.map((x) => percentile(x.honestMs, 99)));
    const failed = mine.reduce((sum, x) => sum + x.honestFailed, 0);
    const died = mine.some((x) => x.attackerDied);
    rows.push({
      metric: `honest create+join+sources p99, ${phase}`,
      value: round(p99, 1),
      unit: 'ms',
      target: `< ${HONEST_P99_MS}, none failed`,
      met: p99 < HONEST_P99_MS && failed === 0 && !died,
      note:
        [
          failed ? `${failed} rounds failed (${mine.find((x) => x.firstError)?.firstError})` : '',
          died ? 'the attacker stopped by itself (its setup failed)' : '',
          `median p50 ${fmt(median(mine.map((x) => median(x.honestMs))), 1)} ms`,
          `service CPU during ${fmt(median(mine.map((x) => x.cpuDuringPct)), 0)} %`,
          mine[0]?.attacker ? `attacker ${JSON.stringify(mine[0].attacker)}` : '',
        ]
          .filter(Boolean)
          .join('; ') || undefined,
    });
    bars.push({
      group: 'honest p99',
      label: phase,
      value: round(p99, 1),
      runs: mine.map((x) => round(percentile(x.honestMs, 99), 1)),
    });
    const idleRss = median(
      runs.filter((x) => x.phase === 'idle').map((x) => x.rssAfter / x.rssStart),
    );
    if (phase !== 'idle') {
      const cpuAfter = median(mine.map((x) => x.cpuAfterPct));
      rows.push({
        metric: `service CPU 1–2 s after the attack, ${phase}`,
        value: round(cpuAfter, 1),
        unit: '%',
        target: `≤ ${IDLE_CPU_PCT}`,
        met: cpuAfter <= IDLE_CPU_PCT,
      });
    }
    if (!FLOODS.has(phase)) continue;
    const rss = median(mine.map((x) => x.rssAfter / x.rssStart));
    rows.push({
      metric: `service RSS ${scale.settleMs / 1000} s after / before, ${phase}`,
      value: round(rss, 2),
      unit: '×',
      target: `≤ ${RSS_RATIO}`,
      met: rss <= RSS_RATIO,
      note:
        phase === 'idle'
          ? 'the control: no attack, only the honest visitor'
          : `${fmt(rss / idleRss, 2)} × the idle control's`,
    });
  }
  return {
    params: { scale, phases: PHASES, server: [...SERVER_FLAGS, SERVER_BUNDLE].join(' ') },
    rows,
    runs: { phases: runs, steps },
    notes: [
      'Each phase runs against a fresh service with its shipped defaults; attackers use 127.0.0.2 and up, the honest visitor its own addresses (127.0.4.x on), one address per round.',
      'Honest latency includes two socket connections and the room deletion is not timed.',
    ],
    browsers: {},
    chart: barChart('Honest create + join + sources p99 under each attack', bars, {
      'honest p99': 'ms',
    }),
  };
}

export const abuse: Benchmark = {
  name: 'abuse',
  title: 'Abuse: swarm step cost and honest latency under attack',
  run,
};
