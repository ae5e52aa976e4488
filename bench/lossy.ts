/**
 * A lossy, slow path (issue 20): the widget's transfer speed over a path that loses 5 % of packets
 * and delays each by 100 ms in each direction, against a bare RTCDataChannel blast between the
 * same two Chromium processes over the same path, in the same run. Each browser runs in a network
 * namespace of its own, joined through a third that shapes every packet (testing/netns.ts,
 * testing/path-shaper.py); the service and the pages are reached around the path, so only the
 * peer-to-peer traffic is shaped. Needs root, as the outage tests do.
 */
import { CHROME_PATH } from '../testing/browser-options.js';
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { KiB, makeRandomFile, MiB, type SourceFile } from '../testing/files.js';
import { NetLab, requireNetns, type PathConditions } from '../testing/netns.js';
import {
  failureNotes,
  retried,
  type Benchmark,
  type BenchContext,
  type BenchOutput,
  type Failure,
} from './lib/bench.js';
import { BenchBrowser } from './lib/browsers.js';
import { barChart, type Bar } from './lib/chart.js';
import { bareBlast, bareConnect, widgetDownload, widgetOpen, widgetShare } from './lib/drive.js';
import type { Row } from './lib/report.js';
import { mbPerSecond, median, medianRatio, perRun } from './lib/stats.js';
import { World } from './lib/world.js';

const PATH: Required<PathConditions> = { loss: 5, delayMs: 100 };

/**
 * The bare blast's setting: small chunks and a small buffer. A path this slow carries tens of
 * kB/s, so the buffer only needs to keep the channel busy; a larger one changes nothing.
 */
const BLAST = { chunk: 16 * KiB, high: 256 * KiB, low: 64 * KiB };

type Variant = 'bare' | 'ours';

interface Trial {
  variant: Variant;
  run: number;
  mbps: number;
}

/** One transfer of `file` from a fresh sharer to a fresh recipient; returns its milliseconds. */
async function transfer(
  variant: Variant,
  lab: NetLab,
  world: World,
  file: SourceFile,
  timeout: number,
  versions: Record<string, string>,
): Promise<number> {
  const [a, b] = await Promise.all([
    BenchBrowser.launch('chromium', 'sharer', { wrapper: lab.a.wrapper(CHROME_PATH) }),
    BenchBrowser.launch('chromium', 'recipient', { wrapper: lab.b.wrapper(CHROME_PATH) }),
  ]);
  versions.chromium = a.version;
  try {
    if (variant === 'bare') {
      await bareConnect(a, b, world);
      const { ms } = await bareBlast(a, b, { ...BLAST, bytes: file.size });
      return ms;
    }
    const link = await widgetShare(a, world, file, timeout);
    await widgetOpen(b, link, file);
    const t = await widgetDownload(b, file, timeout);
    return t.completeMs;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function lossyRun(ctx: BenchContext): Promise<BenchOutput> {
  requireNetns();
  const size = ctx.smoke ? 128 * KiB : 1 * MiB;
  // Generous: about 30 kB/s is expected, and a slow run should finish slowly, not fail.
  const timeout = Math.max(120_000, (size / 5_000) * 1000);
  const versions: Record<string, string> = {};
  const world = await World.start();
  const dir = tempDir('p2p-bench-lossy-');
  const trials: Trial[] = [];
  const failures: Failure[] = [];
  const ports = [world.serviceUrl, world.hostOrigin].map((u) => Number(new URL(u).port));
  const lab = await NetLab.create(dir, ports);
  let shaped = { accepted: 0, dropped: 0 };
  try {
    await lab.shape(PATH);
    const file = await makeRandomFile(dir, 'lossy.bin', size);
    for (let run = 0; run < ctx.runs; run++) {
      // Alternating which goes first spreads any drift in the machine's load over both.
      const order: Variant[] = run % 2 ? ['ours', 'bare'] : ['bare', 'ours'];
      for (const variant of order) {
        const ms = await retried(
          `run ${run + 1} ${variant}`,
          failures,
          () => transfer(variant, lab, world, file, timeout, versions),
          ctx.log,
        );
        const t: Trial = { variant, run, mbps: mbPerSecond(file.size, ms) };
        trials.push(t);
        ctx.log(`run ${run + 1}/${ctx.runs} ${variant}: ${(t.mbps * 1000).toFixed(1)} kB/s`);
      }
    }
    shaped = { ...lab.shaped };
  } finally {
    lab.close();
    await world.close();
    removeTempDir(dir);
  }
  const of = (v: Variant) =>
    perRun(
      trials,
      (t) => t.variant === v,
      (t) => t.mbps * 1000,
    );
  const ratio = medianRatio(of('ours'), of('bare'));
  const lost = (100 * shaped.dropped) / (shaped.accepted + shaped.dropped);
  const rows: Row[] = [
    { metric: 'bare RTCDataChannel', value: median(of('bare')), unit: 'kB/s' },
    { metric: 'ours', value: median(of('ours')), unit: 'kB/s' },
    { metric: 'ours / bare', value: ratio, unit: '×' },
    { metric: 'packets the path dropped', value: lost, unit: '%' },
  ];
  const bars: Bar[] = (['bare', 'ours'] as Variant[]).map((v) => ({
    group: 'throughput',
    label: v,
    value: median(of(v)),
    runs: of(v),
  }));
  bars.push({ group: 'ratio', label: 'ours / bare', value: ratio });
  return {
    params: { bytes: size, ...PATH, blast: BLAST, runs: ctx.runs },
    rows,
    runs: trials,
    notes: [
      ...failureNotes(failures),
      `The path drops ${PATH.loss} % of packets and delays the rest ${PATH.delayMs} ms, in each direction (the round trip grows by ${2 * PATH.delayMs} ms); it forwarded ${shaped.accepted} packets and dropped ${shaped.dropped} over the run.`,
      'Ours: Download click → p2p-share-complete on the recipient (connect, verify and OPFS included). Bare: first byte sent → last byte received on a channel opened beforehand. kB/s is 10^3 bytes per second.',
      `The bare blast sends ${BLAST.chunk / KiB} KiB messages, pausing above ${BLAST.high / KiB} KiB buffered until ${BLAST.low / KiB} KiB.`,
    ],
    browsers: versions,
    extra: { failures, shaped },
    chart: barChart(
      `${PATH.loss} % loss, ${2 * PATH.delayMs} ms round trip, median of ${ctx.runs}`,
      bars,
      {
        throughput: 'kB/s',
        ratio: '×',
      },
    ),
  };
}

export const lossy: Benchmark = {
  name: 'lossy',
  title: 'A lossy path: transfer speed over 5 % loss and 100 ms each way, ours vs a bare channel',
  run: lossyRun,
};
