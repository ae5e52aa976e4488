/**
 * Benchmark 6, the swarm: one file to N = 1, 2, 4, 8 recipients with every peer's upload capped at
 * the same rate (so uplinks, not this machine's CPU, decide), with the swarm on (finished
 * recipients seed, the service's capacity at its default) and off (recipients do not seed and the
 * service lets the sharer serve them all at once), in the same run. For each N: first Download
 * click → last recipient's verified file, the bytes the sharer uploaded, and the fluid model's bound.
 */
import { execFileSync } from 'node:child_process';
import { defaultConfig } from '../server/config.js';
import { choosePieceSize } from '../protocol/meta.js';
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { makeRandomFile, MiB, type SourceFile } from '../testing/files.js';
import { delay } from '../testing/wait.js';
import {
  failureNotes,
  retried,
  type Benchmark,
  type BenchContext,
  type BenchOutput,
  type Failure,
} from './lib/bench.js';
import { closeAll, launchAll, type BenchBrowser } from './lib/browsers.js';
import { lineChart, type Series } from './lib/chart.js';
import { widgetDownload, widgetOpen, widgetShare, widgetUploaded } from './lib/drive.js';
import type { Row } from './lib/report.js';
import { median, medianRatio, perRun } from './lib/stats.js';
import { withAttributes, World, type WidgetAttributes } from './lib/world.js';

type Mode = 'on' | 'off';

interface SwarmTrial {
  mode: Mode;
  n: number;
  run: number;
  /** First recipient's Download click → last recipient's `p2p-share-complete`, wall clock. */
  lastFinishMs: number;
  /** Each recipient's own click → complete, in the order they were clicked. */
  recipientMs: number[];
  /** Last click − first click: how "at once" the clicks were. */
  clickSpreadMs: number;
  sharerUploaded: number;
  /** What the recipients uploaded to each other as seeds (part-way and finished), together. */
  seedsUploaded: number;
  /** CPU seconds of every browser process tree over the downloads. */
  cpuSeconds: number;
  /** Errors the sharer's widget reported for single recipients (the transfer went on). */
  sharerErrors: Array<Record<string, unknown>>;
}

/** Peers are spread over this many browser processes (fewer when there are fewer peers). */
const PROCESSES = 3;
const UPLOAD_LIMIT = 1 * MiB;
/** After the last completion: lets in-flight sends land and the sharer's figure render. */
const SETTLE_MS = 1000;

/**
 * Which product was measured: the widget build served (dist/ or P2P_BENCH_DIST) and the commit
 * the in-process service ran from (`-dirty`: with uncommitted changes in the checkout).
 */
function build(): { widget: string; commit: string } {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['describe', '--always', '--dirty'], { encoding: 'utf8' }).trim();
  } catch {
    // Not a checkout: the figures stand, without a commit.
  }
  return { widget: process.env.P2P_BENCH_DIST ?? 'dist/', commit };
}

/** The fluid model's least time for `n` recipients: (S/u)·(1 + log₂N / M). */
export function fluidBoundMs(size: number, uploadLimit: number, n: number): number {
  const pieces = Math.ceil(size / choosePieceSize(size));
  return (size / uploadLimit) * (1 + Math.log2(n) / pieces) * 1000;
}

/** What each widget shows, for the error of a trial that failed: where each peer got stuck. */
async function peerStates(peers: readonly BenchBrowser[]): Promise<string> {
  const lines = await Promise.all(
    peers.map(async (b) => {
      const text = await b.page
        .evaluate(() => {
          const el = document.querySelector('p2p-share') as unknown as {
            sharer?: { state: unknown };
            receiver?: { state: unknown };
          } | null;
          const state = (location.hash.length > 1 ? el?.receiver : el?.sharer)?.state as
            Record<string, unknown> | undefined;
          const { file: _file, link: _link, ...rest } = state ?? {};
          const errors = window.__bench.events.filter((e) => e.type === 'p2p-share-error');
          return JSON.stringify({ state: rest, errors: errors.map((e) => e.detail) });
        })
        .catch((err: unknown) => `unreadable (${String(err).slice(0, 100)})`);
      return `${b.label}: ${text.slice(0, 600)}`;
    }),
  );
  return lines.join('\n');
}

async function swarmTrial(
  world: World,
  mode: Mode,
  n: number,
  run: number,
  file: SourceFile,
  timeout: number,
  versions: Record<string, string>,
): Promise<SwarmTrial> {
  const count = Math.min(PROCESSES, n + 1);
  const browsers = await launchAll(
    Array.from({ length: count }, (_, i) => ['chromium', i === 0 ? 'sharer' : `r${i}`] as const),
  );
  versions.chromium = browsers[0]!.version;
  const peers: BenchBrowser[] = [browsers[0]!];
  try {
    // Peer k (0: the sharer) lives in process k mod count; the first page of each is its own.
    for (let k = 1; k <= n; k++) {
      peers.push(k < count ? browsers[k]! : await browsers[k % count]!.openTab(`r${k}`));
    }
    const [sharer, ...recipients] = peers as [BenchBrowser, ...BenchBrowser[]];
    const limit: WidgetAttributes = { 'upload-limit': UPLOAD_LIMIT };
    const link = await widgetShare(sharer, world, file, timeout, limit);
    // Swarm on: the element's default seeding (no attribute); off: recipients opt out.
    const recipientLink = withAttributes(
      link,
      mode === 'off' ? { ...limit, seeding: 'off' } : limit,
    );
    await Promise.all(recipients.map((r) => widgetOpen(r, recipientLink, file)));

    const cpu = () => browsers.reduce((sum, b) => sum + b.cpuSeconds(), 0);
    const cpuBefore = cpu();
    let timings;
    try {
      // All at once: with the swarm on, the service queues those no seed has room for.
      timings = await Promise.all(recipients.map((r) => widgetDownload(r, file, timeout)));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`swarm ${mode}, N=${n}: ${why}\n${await peerStates(peers)}`);
    }
    const cpuSeconds = cpu() - cpuBefore;
    await delay(SETTLE_MS);
    const sharerUploaded = await widgetUploaded(sharer);
    const seeds = await Promise.all(recipients.map((r) => widgetUploaded(r)));
    const sharerErrors = await sharer.page.evaluate(() =>
      window.__bench.events.filter((e) => e.type === 'p2p-share-error').map((e) => e.detail),
    );
    const firstClick = Math.min(...timings.map((t) => t.clickWallMs));
    const lastClick = Math.max(...timings.map((t) => t.clickWallMs));
    return {
      mode,
      n,
      run,
      lastFinishMs: Math.max(...timings.map((t) => t.completeWallMs)) - firstClick,
      recipientMs: timings.map((t) => t.completeMs),
      clickSpreadMs: lastClick - firstClick,
      sharerUploaded,
      seedsUploaded: seeds.reduce((a, b) => a + b, 0),
      cpuSeconds,
      sharerErrors,
    };
  } finally {
    // Tabs first: closing a browser takes its tabs with it.
    await closeAll(peers.filter((p) => !browsers.includes(p)));
    await closeAll(browsers);
  }
}

async function swarmRun(ctx: BenchContext): Promise<BenchOutput> {
  const size = ctx.smoke ? 2 * MiB : 8 * MiB;
  const ns = ctx.smoke ? [1, 2] : [1, 2, 4, 8];
  const top = ns[ns.length - 1]!;
  const pieceSize = choosePieceSize(size);
  const pieces = Math.ceil(size / pieceSize);
  const alone = (n: number) => ((n * size) / UPLOAD_LIMIT) * 1000;
  // Generous: a slow run should finish slowly, not fail the benchmark.
  const timeoutFor = (n: number) => 120_000 + 4 * alone(n);
  const versions: Record<string, string> = {};
  // Now, not at the end: others commit during a long run.
  const measured = build();
  // Swarm off must really be "the sharer alone, everyone at once": room for every recipient.
  const capacityOff = Math.max(top, defaultConfig.swarmCapacity);
  const worlds: Record<Mode, World> = {
    on: await World.start(),
    off: await World.start({ config: { swarmCapacity: capacityOff } }),
  };
  const dir = tempDir('p2p-bench-swarm-');
  const trials: SwarmTrial[] = [];
  const failures: Failure[] = [];
  try {
    const file = await makeRandomFile(dir, 'swarm.bin', size);
    for (let run = 0; run < ctx.runs; run++) {
      for (const n of ns) {
        // Alternating which mode goes first spreads drift in the machine's load over both.
        const modes: Mode[] = (run + n) % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
        for (const mode of modes) {
          const t = await retried(
            `run ${run + 1} N=${n} swarm ${mode}`,
            failures,
            () => swarmTrial(worlds[mode], mode, n, run, file, timeoutFor(n), versions),
            ctx.log,
          );
          trials.push(t);
          ctx.log(
            `run ${run + 1}/${ctx.runs} N=${n} swarm ${mode}: last finish ` +
              `${(t.lastFinishMs / 1000).toFixed(1)} s, sharer uploaded ` +
              `${(t.sharerUploaded / size).toFixed(2)} × file, seeds ` +
              `${(t.seedsUploaded / size).toFixed(2)} × file, CPU ${t.cpuSeconds.toFixed(1)} s` +
              (t.sharerErrors.length ? `, sharer saw ${t.sharerErrors.length} error(s)` : ''),
          );
          for (const e of t.sharerErrors) ctx.log(`  sharer error: ${JSON.stringify(e)}`);
        }
      }
    }
  } finally {
    await Promise.all([worlds.on.close(), worlds.off.close()]);
    removeTempDir(dir);
  }

  const of = (mode: Mode, n: number, f: (t: SwarmTrial) => number) =>
    perRun(trials, (t) => t.mode === mode && t.n === n, f);
  const seconds = (t: SwarmTrial) => t.lastFinishMs / 1000;
  const copies = (t: SwarmTrial) => t.sharerUploaded / size;
  const cores = (t: SwarmTrial) => t.cpuSeconds / (t.lastFinishMs / 1000);
  const sent = (t: SwarmTrial) => (t.sharerUploaded + t.seedsUploaded) / (t.n * size);

  const rows: Row[] = [];
  for (const n of ns) {
    rows.push(
      { metric: `N=${n}: last finish, swarm on`, value: median(of('on', n, seconds)), unit: 's' },
      { metric: `N=${n}: last finish, swarm off`, value: median(of('off', n, seconds)), unit: 's' },
      {
        metric: `N=${n}: fluid-model bound`,
        value: fluidBoundMs(size, UPLOAD_LIMIT, n) / 1000,
        unit: 's',
      },
      {
        metric: `N=${n}: sharer uploaded, swarm on`,
        value: median(of('on', n, copies)),
        unit: '× file',
      },
      {
        metric: `N=${n}: sharer uploaded, swarm off`,
        value: median(of('off', n, copies)),
        unit: '× file',
      },
    );
  }
  const upOn = median(of('on', top, copies));
  const upOff = median(of('off', top, copies));
  const timeRatio = medianRatio(of('on', top, seconds), of('off', top, seconds));
  const boundRatio = fluidBoundMs(size, UPLOAD_LIMIT, top) / alone(top);
  rows.push(
    {
      metric: `N=${top}: sharer uploaded / file, swarm on`,
      value: upOn,
      unit: '×',
      target: '≤ 2',
      met: upOn <= 2,
    },
    {
      metric: `N=${top}: sharer uploaded / file, swarm off`,
      value: upOff,
      unit: '×',
      target: `≈ ${top}`,
      met: upOff >= top && upOff <= top * 1.05,
      note: `a check that "off" is every recipient from the sharer alone: it is at least ${top} when every byte came from the sharer; above it by what the sharer sent twice (5% allowed)`,
    },
    {
      metric: `N=${top}: last finish, on / off`,
      value: timeRatio,
      unit: '×',
      target: '≤ 0.35',
      met: timeRatio <= 0.35,
      note: 'median of per-run ratios',
    },
    {
      metric: `N=${top}: fluid bound / (N·S/u)`,
      value: boundRatio,
      unit: '×',
      note: `the model's ratio against the sharer alone at its limit (${pieces} pieces of ${pieceSize / 1024} KiB)`,
    },
    {
      metric: `N=${top}: everyone's uploads / bytes delivered, swarm on`,
      value: median(of('on', top, sent)),
      unit: '×',
      note: '(sharer + seeds uploaded) / (N × file): above 1 by what was sent twice or more',
    },
    {
      metric: `N=${top}: browsers' CPU, swarm on`,
      value: median(of('on', top, cores)),
      unit: 'cores',
      note: `CPU seconds of every browser process over the downloads / their wall time; the machine has 2 cores, shared`,
    },
    {
      metric: `N=${top}: browsers' CPU, swarm off`,
      value: median(of('off', top, cores)),
      unit: 'cores',
    },
  );

  const line = (mode: Mode, f: (t: SwarmTrial) => number) =>
    ns.map((n) => ({ x: n, y: median(of(mode, n, f)), runs: of(mode, n, f) }));
  const series: Series[] = [
    { panel: 'time', name: 'swarm on', points: line('on', seconds) },
    { panel: 'time', name: 'swarm off', points: line('off', seconds) },
    {
      panel: 'time',
      name: 'fluid bound (S/u)(1 + log₂N/M)',
      reference: true,
      points: ns.map((n) => ({ x: n, y: fluidBoundMs(size, UPLOAD_LIMIT, n) / 1000 })),
    },
    {
      panel: 'time',
      name: 'sharer alone at its limit, N·S/u',
      reference: true,
      points: ns.map((n) => ({ x: n, y: alone(n) / 1000 })),
    },
    { panel: 'upload', name: 'swarm on', points: line('on', copies) },
    { panel: 'upload', name: 'swarm off', points: line('off', copies) },
  ];
  const sharerErrors = trials.flatMap((t) =>
    t.sharerErrors.map((e) => `run ${t.run + 1} N=${t.n} swarm ${t.mode}: ${JSON.stringify(e)}`),
  );

  return {
    params: {
      build: measured,
      bytes: size,
      pieceSize,
      pieces,
      uploadLimitBytesPerSecond: UPLOAD_LIMIT,
      recipients: ns,
      runs: ctx.runs,
      browserProcesses: PROCESSES,
      swarmOn: {
        seeding: 'element default (on)',
        swarmCapacity: defaultConfig.swarmCapacity,
        swarmMaxSources: defaultConfig.swarmMaxSources,
      },
      swarmOff: {
        seeding: 'off',
        swarmCapacity: capacityOff,
        swarmMaxSources: defaultConfig.swarmMaxSources,
      },
      timing:
        'first Download click → last p2p-share-complete, on the wall clock (performance.timeOrigin + now() in each page); every sha256 checked against the source',
    },
    rows,
    runs: trials,
    notes: [
      ...failureNotes(failures),
      ...sharerErrors.map((e) => `The sharer's widget reported an error for one recipient: ${e}`),
      `Every peer (sharer and recipients) has upload-limit=${UPLOAD_LIMIT} bytes/s. Peers share ${PROCESSES} Chromium processes (peer k in process k mod ${PROCESSES}; the sharer is peer 0), with background throttling off; all recipients click Download at once (Promise.all) after every page shows the file.`,
      `Swarm on: seeding at the element's default, the service's default capacity (${defaultConfig.swarmCapacity} recipients per seed) and sources (${defaultConfig.swarmMaxSources}), so later recipients queue. Swarm off: seeding="off" and capacity ${capacityOff}, so the sharer serves every recipient at once and alone.`,
      "The sharer's upload is its widget's `uploaded` state (bytes of pieces handed to the data channels), read from the element after the last completion and checked against the \"You uploaded …\" line it renders. Its per-recipient p2p-share-progress events are not summed: a recipient's `done` reports the whole file for that peer even when seeds sent most of it.",
      `The fluid-model bound assumes every recipient serves what it has at its full upload from the first piece on, no byte is sent twice and nothing costs time but uploads; S/u = ${(size / UPLOAD_LIMIT).toFixed(0)} s is the sharer's one copy at its limit.`,
    ],
    browsers: versions,
    chart: lineChart(
      `Swarm: ${size / MiB} MiB to N recipients, every upload ${UPLOAD_LIMIT / MiB} MiB/s, median of ${ctx.runs}`,
      series,
      'recipients (N)',
      { time: 'first click → last verified file (s)', upload: 'sharer uploaded (× file size)' },
    ),
    extra: { failures },
  };
}

export const swarm: Benchmark = {
  name: 'swarm',
  title: 'Swarm: N recipients, swarm on vs off, every upload capped (Chromium)',
  run: swarmRun,
};
