/**
 * Background tabs (issue 20): the widget's transfer speed with the sharer's page hidden against
 * the same with it visible, in the same run. The sharer's Chromium throttles hidden pages as it
 * does for users (the flags that spare them are left out); its page goes behind another tab of
 * the same window, and each hidden trial checks `document.visibilityState` and that its timers
 * really wake only once a second. Measured without an upload limit and with one (the pacer waits
 * on timers).
 */
import { hidePage, timeoutChainMs } from '../testing/browsers.js';
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { makeRandomFile, MiB, type SourceFile } from '../testing/files.js';
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
import { widgetDownload, widgetOpen, widgetShare } from './lib/drive.js';
import type { Row } from './lib/report.js';
import { mbPerSecond, median, medianRatio, perRun } from './lib/stats.js';
import { World } from './lib/world.js';

type Mode = 'unlimited' | 'paced';
type Variant = `${Mode} ${'visible' | 'hidden'}`;

interface Trial {
  variant: Variant;
  run: number;
  mbps: number;
  /** Download click → the peer link open. */
  openMs: number;
  /** Hidden trials: how long three 10 ms timeouts took in the sharer's page (≥ ~1 s each). */
  timersMs?: number;
}

/** The threshold below which a hidden page's timers were not throttled: the trial is void. */
const THROTTLED_MS = 900;

async function transfer(
  world: World,
  file: SourceFile,
  hidden: boolean,
  uploadLimit: number | undefined,
  timeout: number,
  versions: Record<string, string>,
): Promise<{ ms: number; openMs: number; timersMs?: number }> {
  const [a, b] = await Promise.all([
    BenchBrowser.launch('chromium', 'sharer', { throttled: true }),
    BenchBrowser.launch('chromium', 'recipient'),
  ]);
  versions.chromium = a.version;
  try {
    const attributes = uploadLimit ? { 'upload-limit': uploadLimit } : {};
    const link = await widgetShare(a, world, file, timeout, attributes);
    let timersMs: number | undefined;
    if (hidden) {
      await hidePage(a.browser, a.page);
      timersMs = await timeoutChainMs(a.page, 3);
      if (timersMs < THROTTLED_MS) {
        throw new Error(`the hidden sharer's timers are not throttled (${timersMs} ms)`);
      }
    }
    await widgetOpen(b, link, file);
    const t = await widgetDownload(b, file, timeout);
    const state = await a.page.evaluate(() => document.visibilityState);
    if (state !== (hidden ? 'hidden' : 'visible')) {
      throw new Error(
        `the sharer's page was ${state} at the end of a ${hidden ? 'hidden' : 'visible'} trial`,
      );
    }
    return { ms: t.completeMs, openMs: t.openedMs, timersMs };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function backgroundRun(ctx: BenchContext): Promise<BenchOutput> {
  const size = ctx.smoke ? 4 * MiB : 256 * MiB;
  const pacedSize = ctx.smoke ? 2 * MiB : 64 * MiB;
  const limit = ctx.smoke ? 1 * MiB : 4 * MiB;
  const timeout = Math.max(120_000, (size / (0.5 * 1e6)) * 1000);
  const versions: Record<string, string> = {};
  const world = await World.start();
  const dir = tempDir('p2p-bench-background-');
  const trials: Trial[] = [];
  const failures: Failure[] = [];
  try {
    const files: Record<Mode, SourceFile> = {
      unlimited: await makeRandomFile(dir, 'background.bin', size),
      paced: await makeRandomFile(dir, 'background-paced.bin', pacedSize),
    };
    const variants: Variant[] = [
      'unlimited visible',
      'unlimited hidden',
      'paced visible',
      'paced hidden',
    ];
    for (let run = 0; run < ctx.runs; run++) {
      // Rotating the order spreads any drift in the machine's load over every variant.
      const order = [...variants.slice(run % 4), ...variants.slice(0, run % 4)];
      for (const variant of order) {
        const mode: Mode = variant.startsWith('paced') ? 'paced' : 'unlimited';
        const hidden = variant.endsWith('hidden');
        const file = files[mode];
        const r = await retried(
          `run ${run + 1} ${variant}`,
          failures,
          () =>
            transfer(world, file, hidden, mode === 'paced' ? limit : undefined, timeout, versions),
          ctx.log,
        );
        const t: Trial = { variant, run, mbps: mbPerSecond(file.size, r.ms), openMs: r.openMs };
        if (r.timersMs !== undefined) t.timersMs = r.timersMs;
        trials.push(t);
        ctx.log(
          `run ${run + 1}/${ctx.runs} ${variant}: ${t.mbps.toFixed(2)} MB/s, link open after ${t.openMs.toFixed(0)} ms`,
        );
      }
    }
  } finally {
    await world.close();
    removeTempDir(dir);
  }
  const of = (v: Variant) =>
    perRun(
      trials,
      (t) => t.variant === v,
      (t) => t.mbps,
    );
  const unlimitedRatio = medianRatio(of('unlimited hidden'), of('unlimited visible'));
  const pacedRatio = medianRatio(of('paced hidden'), of('paced visible'));
  const limitMb = limit / 1e6;
  const rows: Row[] = [
    { metric: 'sharer visible', value: median(of('unlimited visible')), unit: 'MB/s' },
    { metric: 'sharer hidden', value: median(of('unlimited hidden')), unit: 'MB/s' },
    {
      metric: 'hidden / visible',
      value: unlimitedRatio,
      unit: '×',
      target: '≥ 0.8',
      met: unlimitedRatio >= 0.8,
    },
    {
      metric: `upload limit ${limitMb.toFixed(2)} MB/s, visible`,
      value: median(of('paced visible')),
      unit: 'MB/s',
    },
    {
      metric: `upload limit ${limitMb.toFixed(2)} MB/s, hidden`,
      value: median(of('paced hidden')),
      unit: 'MB/s',
    },
    {
      metric: 'upload limit: hidden / visible',
      value: pacedRatio,
      unit: '×',
      target: '≥ 0.8',
      met: pacedRatio >= 0.8,
    },
  ];
  const bars: Bar[] = (
    ['unlimited visible', 'unlimited hidden', 'paced visible', 'paced hidden'] as Variant[]
  ).map((v) => ({ group: 'throughput', label: v, value: median(of(v)), runs: of(v) }));
  bars.push(
    { group: 'ratio', label: 'hidden / visible (≥ 0.8)', value: unlimitedRatio },
    { group: 'ratio', label: 'limited: hidden / visible (≥ 0.8)', value: pacedRatio },
  );
  const timers = trials.flatMap((t) => (t.timersMs === undefined ? [] : [t.timersMs]));
  return {
    params: { bytes: size, pacedBytes: pacedSize, uploadLimit: limit, runs: ctx.runs },
    rows,
    runs: trials,
    notes: [
      ...failureNotes(failures),
      'Download click → p2p-share-complete on the recipient (connect, verify and OPFS included); MB/s is 10^6 bytes per second.',
      "The sharer's Chromium runs without --disable-background-timer-throttling, --disable-renderer-backgrounding and --disable-backgrounding-occluded-windows; its page is hidden by bringing another tab of its window to the front before the recipient opens the link.",
      `In hidden trials three 10 ms timeouts took ${timers.map((ms) => Math.round(ms)).join(', ')} ms in the sharer's page (a visible page: about 30 ms).`,
    ],
    browsers: versions,
    extra: { failures },
    chart: barChart(`Hidden vs visible sharer, median of ${ctx.runs}`, bars, {
      throughput: 'MB/s',
      ratio: '×',
    }),
  };
}

export const background: Benchmark = {
  name: 'background',
  title: "Background tabs: transfer speed with the sharer's page hidden vs visible (Chromium)",
  run: backgroundRun,
};
