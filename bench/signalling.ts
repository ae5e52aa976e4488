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
import type { Benchmark, BenchContext, BenchOutput } from './lib/bench.js';
import { SERVER_BUNDLE, SERVER_FLAGS } from './lib/service-command.js';
import { barChart, type Bar } from './lib/chart.js';
import { printProfiles, summarize, type CpuProfile, type ProfileSummary } from './lib/profile.js';
import type { Row } from './lib/report.js';
import { fmt, median, medianRatio, perRun } from './lib/stats.js';
import { clusterNotes, clusterRows, PROCESSES } from './signalling/cluster.js';
import { FULL, phase, scaleOverride, SHAPE, SMOKE, type Scale } from './signalling/phase.js';
import type { PhaseResult } from './signalling/phase-result.js';
import { messagesPerExchange, sealedChars, type TargetKind } from './signalling/protocol.js';
import { profileFiles, hardFdLimit, softFdLimit } from './signalling/target.js';

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
    perRun(results, (r) => r.target === kind, f);
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
