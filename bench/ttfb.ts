/**
 * Benchmark 3, time to first byte: on a freshly opened link, navigation start → the file's name
 * on screen (metadata over REST), and Download click → the first verified piece on disk (the
 * first `p2p-share-progress` with bytes > 0). The yardstick, measured in the same run: a bare
 * RTCPeerConnection going from nothing to an open data channel through the same service
 * (Socket.IO connect, join, sources, offer/answer/ICE as plain envelopes). Also reported: how
 * long a sharer waits for its link while the widget hashes a 256 MiB file, in Chromium and
 * Firefox.
 */
import { removeTempDir, tempDir } from '../testing/cleanup.js';
import { makeRandomFile, MiB } from '../testing/files.js';
import {
  failureNotes,
  retried,
  type Benchmark,
  type BenchContext,
  type BenchOutput,
  type Failure,
} from './lib/bench.js';
import { BenchBrowser } from './lib/browsers.js';
import { barChart } from './lib/chart.js';
import {
  bareConnect,
  widgetDownload,
  widgetOpen,
  widgetShare,
  widgetShareTimed,
} from './lib/drive.js';
import type { Row } from './lib/report.js';
import { median, medianRatio } from './lib/stats.js';
import { World } from './lib/world.js';
import type { ConnectTiming } from './pages/types.js';

/** One sharer's preparation of the large file: pick → link. */
interface PrepareRun {
  browser: 'chromium' | 'firefox';
  run: number;
  ms: number;
}

interface TtfbRun {
  run: number;
  metaMs: number;
  openedMs: number;
  firstByteMs: number;
  completeMs: number;
  bare: ConnectTiming;
}

async function pair(versions: Record<string, string>): Promise<[BenchBrowser, BenchBrowser]> {
  const [a, b] = await Promise.all([
    BenchBrowser.launch('chromium', 'sharer'),
    BenchBrowser.launch('chromium', 'recipient'),
  ]);
  versions.chromium = a.version;
  return [a, b];
}

async function ttfbRun(ctx: BenchContext): Promise<BenchOutput> {
  const size = ctx.smoke ? 2 * MiB : 16 * MiB;
  const versions: Record<string, string> = {};
  const world = await World.start();
  const dir = tempDir('p2p-bench-ttfb-');
  const runs: TtfbRun[] = [];
  const prepares: PrepareRun[] = [];
  const prepareSize = ctx.smoke ? 4 * MiB : 256 * MiB;
  const failures: Failure[] = [];
  try {
    const file = await makeRandomFile(dir, 'ttfb.bin', size);
    for (let run = 0; run < ctx.runs; run++) {
      const ours = await retried(
        `run ${run + 1} ours`,
        failures,
        async () => {
          const [a, b] = await pair(versions);
          try {
            const link = await widgetShare(a, world, file);
            const metaMs = await widgetOpen(b, link, file);
            const t = await widgetDownload(b, file, 120_000);
            return {
              metaMs,
              openedMs: t.openedMs,
              firstByteMs: t.firstByteMs,
              completeMs: t.completeMs,
            };
          } finally {
            await Promise.all([a.close(), b.close()]);
          }
        },
        ctx.log,
      );
      const bare = await retried(
        `run ${run + 1} bare`,
        failures,
        async () => {
          const [a, b] = await pair(versions);
          try {
            return await bareConnect(a, b, world);
          } finally {
            await Promise.all([a.close(), b.close()]);
          }
        },
        ctx.log,
      );
      runs.push({ run, ...ours, bare });
      ctx.log(
        `run ${run + 1}/${ctx.runs}: metadata ${ours.metaMs.toFixed(0)} ms, first byte ` +
          `${ours.firstByteMs.toFixed(0)} ms, bare channel ${bare.totalMs.toFixed(0)} ms`,
      );
    }
    // Before any of that, a sharer waits for its link while the widget hashes the file.
    const big = await makeRandomFile(dir, 'prepare.bin', prepareSize);
    for (const browser of ['chromium', 'firefox'] as const) {
      const b = await BenchBrowser.launch(browser, 'sharer');
      versions[browser] = b.version;
      try {
        for (let run = 0; run < ctx.runs; run++) {
          const { preparedMs } = await widgetShareTimed(b, world, big);
          prepares.push({ browser, run, ms: preparedMs });
          ctx.log(
            `prepare ${browser} ${run + 1}/${ctx.runs}: ${(prepareSize / MiB).toFixed(0)} MiB ` +
              `picked → link in ${preparedMs.toFixed(0)} ms`,
          );
        }
      } finally {
        await b.close();
      }
    }
  } finally {
    await world.close();
    removeTempDir(dir);
  }

  const col = (f: (r: TtfbRun) => number) => runs.map(f);
  const ratio = medianRatio(
    col((r) => r.firstByteMs),
    col((r) => r.bare.totalMs),
  );
  const prepareMbps = (browser: PrepareRun['browser']) =>
    median(
      prepares.filter((p) => p.browser === browser).map((p) => prepareSize / 1e6 / (p.ms / 1000)),
    );
  const rows: Row[] = [
    {
      metric: `sharer: ${prepareSize / MiB} MiB picked → link, Chromium`,
      value: prepareMbps('chromium'),
      unit: 'MB/s',
      note: 'hashing every piece (Web Crypto) and the whole file (@stablelib/sha256) in one read, then creating the room',
    },
    {
      metric: `sharer: ${prepareSize / MiB} MiB picked → link, Firefox`,
      value: prepareMbps('firefox'),
      unit: 'MB/s',
    },
    { metric: 'link opened → metadata on screen', value: median(col((r) => r.metaMs)), unit: 'ms' },
    {
      metric: 'Download click → first verified piece',
      value: median(col((r) => r.firstByteMs)),
      unit: 'ms',
    },
    {
      metric: '  ours: click → peer link open',
      value: median(col((r) => r.openedMs)),
      unit: 'ms',
      note: 'the 0-byte progress event the widget sends when its data channel opens and both proofs check out',
    },
    {
      metric: '  ours: link open → first verified piece',
      value: median(col((r) => r.firstByteMs - r.openedMs)),
      unit: 'ms',
      note: 'the manifest (the first request leaves with it, once the source says what it has), one piece of at least 64 KiB, its hash; the first bytes of an attempt are reported at once (later progress at most every 250 ms)',
    },
    {
      metric: 'bare: nothing → data channel open',
      value: median(col((r) => r.bare.totalMs)),
      unit: 'ms',
    },
    { metric: '  bare: Socket.IO connect', value: median(col((r) => r.bare.socketMs)), unit: 'ms' },
    {
      metric: '  bare: join + sources',
      value: median(col((r) => r.bare.joinMs + r.bare.sourcesMs)),
      unit: 'ms',
    },
    {
      metric: '  bare: offer → channel open',
      value: median(col((r) => r.bare.channelMs)),
      unit: 'ms',
    },
    {
      metric: 'first piece / bare channel',
      value: ratio,
      unit: '×',
      target: '≤ 1.5',
      met: ratio <= 1.5,
    },
  ];
  return {
    params: { bytes: size, prepareBytes: prepareSize, runs: ctx.runs },
    rows,
    runs: { ttfb: runs, prepare: prepares },
    notes: [
      ...failureNotes(failures),
      'Times are taken inside the pages with performance.now(); the metadata time starts at the navigation (performance.timeOrigin).',
      'The widget fetches socket.io-client while the file details are on screen, before the click; the bare page has it bundled.',
    ],
    browsers: versions,
    extra: { failures },
    chart: barChart(
      `Time to first byte, median of ${ctx.runs}`,
      [
        {
          group: 'time',
          label: 'link → metadata',
          value: median(col((r) => r.metaMs)),
          runs: col((r) => r.metaMs),
        },
        {
          group: 'time',
          label: 'click → peer link open',
          value: median(col((r) => r.openedMs)),
          runs: col((r) => r.openedMs),
        },
        {
          group: 'time',
          label: 'click → first piece',
          value: median(col((r) => r.firstByteMs)),
          runs: col((r) => r.firstByteMs),
        },
        {
          group: 'time',
          label: 'bare → channel open',
          value: median(col((r) => r.bare.totalMs)),
          runs: col((r) => r.bare.totalMs),
        },
        { group: 'ratio', label: 'first piece / bare (≤ 1.5)', value: ratio },
      ],
      { time: 'ms', ratio: '×' },
    ),
  };
}

export const ttfb: Benchmark = {
  name: 'ttfb',
  title: 'Time to first byte and to metadata (Chromium → Chromium)',
  run: ttfbRun,
};
