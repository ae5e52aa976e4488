/**
 * Benchmark 2, receiver memory: the recipient page's peak JS heap (CDP Runtime.getHeapUsage) and
 * its renderer process's peak RSS (/proc VmRSS) while the widget receives a small, a big and a
 * huge file (64 MiB, 1 GiB, 4 GiB), in the same run. Memory must not grow with file size: the
 * bytes go to disk as they arrive. The sources are written to disk in 1 MiB chunks (no file is
 * ever in memory), and the recipient's browser refuses the final download, so each received
 * file exists once, in its origin private file system, and only until its browser closes.
 */
import { statfs } from 'node:fs/promises';
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
import { BenchBrowser } from './lib/browsers.js';
import { barChart, type Bar } from './lib/chart.js';
import { widgetDownload, widgetOpen, widgetShare } from './lib/drive.js';
import type { Row } from './lib/report.js';
import { median, medianRatio, perRun } from './lib/stats.js';
import { World } from './lib/world.js';

const SAMPLE_MS = 200;

interface Sample {
  heapUsed: number;
  /** ArrayBuffer backing stores and other memory V8 holds outside its heap, when reported. */
  backing: number;
  /** The recipient page's renderer process. */
  pageRss: number;
  treeRss: number;
}

interface MemoryRun {
  run: number;
  bytes: number;
  seconds: number;
  samples: number;
  idle: Sample;
  peak: Sample;
}

interface HeapUsage {
  usedSize: number;
  totalSize: number;
  embedderHeapUsedSize?: number;
  backingStorageSize?: number;
}

async function receiveAndSample(
  world: World,
  file: SourceFile,
  run: number,
  versions: Record<string, string>,
): Promise<MemoryRun> {
  const timeout = Math.max(120_000, (file.size / (0.5 * 1e6)) * 1000);
  // A wait on the page is one protocol command: the whole download's must fit in its timeout.
  const protocolTimeout = timeout + 60_000;
  const [a, b] = await Promise.all([
    BenchBrowser.launch('chromium', 'sharer', { protocolTimeout }),
    BenchBrowser.launch('chromium', 'recipient', { protocolTimeout }),
  ]);
  versions.chromium = a.version;
  try {
    // The saved copy would be the file a second time on disk; the OPFS copy is what is measured.
    const browserCdp = await b.browser.target().createCDPSession();
    await browserCdp.send('Browser.setDownloadBehavior', { behavior: 'deny' });
    await browserCdp.detach();
    const link = await widgetShare(a, world, file, timeout);
    await widgetOpen(b, link, file);
    const cdp = await b.page.createCDPSession();
    const sample = async (): Promise<Sample> => {
      const heap = (await cdp.send('Runtime.getHeapUsage')) as HeapUsage;
      const rss = b.rss();
      return {
        heapUsed: heap.usedSize,
        backing: heap.backingStorageSize ?? 0,
        pageRss: rss.page,
        treeRss: rss.tree,
      };
    };
    const idle = await sample();
    const peak = { ...idle };
    let count = 0;
    let sampling = true;
    const loop = (async () => {
      while (sampling) {
        const s = await sample().catch(() => null);
        if (s) {
          count++;
          for (const k of Object.keys(peak) as Array<keyof Sample>)
            peak[k] = Math.max(peak[k], s[k]);
        }
        await delay(SAMPLE_MS);
      }
    })();
    let t;
    try {
      t = await widgetDownload(b, file, timeout);
    } finally {
      sampling = false;
      await loop;
    }
    await cdp.detach();
    return { run, bytes: file.size, seconds: t.completeMs / 1000, samples: count, idle, peak };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

/**
 * Fails early, and says why, when `dir`'s file system cannot hold the sources plus the biggest
 * received copy (and a GiB to spare) — rather than an hour in, with a full disk.
 */
async function checkDisk(dir: string, sizes: readonly number[]): Promise<void> {
  const need = sizes.reduce((a, b) => a + b, 0) + Math.max(...sizes) + 1024 * MiB;
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < need) {
    throw new Error(
      `${dir} has ${(free / 1024 / MiB).toFixed(1)} GiB free; the memory benchmark needs ` +
        `${(need / 1024 / MiB).toFixed(1)} GiB (its sources, the biggest received copy, 1 GiB spare)`,
    );
  }
}

async function memoryRun(ctx: BenchContext): Promise<BenchOutput> {
  // Smoke sizes are tiny, but three of them, so every row is still computed.
  const small = ctx.smoke ? 2 * MiB : 64 * MiB;
  const big = ctx.smoke ? 8 * MiB : 1024 * MiB;
  const huge = ctx.smoke ? 32 * MiB : 4096 * MiB;
  const versions: Record<string, string> = {};
  const world = await World.start();
  const dir = tempDir('p2p-bench-memory-');
  const runs: MemoryRun[] = [];
  const failures: Failure[] = [];
  try {
    await checkDisk(dir, [small, big, huge]);
    const files = [
      await makeRandomFile(dir, 'memory-small.bin', small),
      await makeRandomFile(dir, 'memory-big.bin', big),
      await makeRandomFile(dir, 'memory-huge.bin', huge),
    ];
    for (let run = 0; run < ctx.runs; run++) {
      for (const file of run % 2 ? [...files].reverse() : files) {
        const r = await retried(
          `run ${run + 1} ${file.size / MiB} MiB`,
          failures,
          () => receiveAndSample(world, file, run, versions),
          ctx.log,
        );
        runs.push(r);
        ctx.log(
          `run ${run + 1}/${ctx.runs} ${file.size / MiB} MiB: peak heap ${(r.peak.heapUsed / MiB).toFixed(1)} MiB, ` +
            `page process RSS ${(r.peak.pageRss / MiB).toFixed(0)} MiB (${r.samples} samples)`,
        );
      }
    }
  } finally {
    await world.close();
    removeTempDir(dir);
  }
  const of = (bytes: number, f: (r: MemoryRun) => number) =>
    perRun(runs, (r) => r.bytes === bytes, f);
  const heapRatio = medianRatio(
    of(big, (r) => r.peak.heapUsed),
    of(small, (r) => r.peak.heapUsed),
  );
  const rssRatio = medianRatio(
    of(big, (r) => r.peak.pageRss),
    of(small, (r) => r.peak.pageRss),
  );
  const hugeHeapRatio = medianRatio(
    of(huge, (r) => r.peak.heapUsed),
    of(big, (r) => r.peak.heapUsed),
  );
  const hugeRssRatio = medianRatio(
    of(huge, (r) => r.peak.pageRss),
    of(big, (r) => r.peak.pageRss),
  );
  const label = (n: number) => (n >= 1024 * MiB ? `${n / 1024 / MiB} GiB` : `${n / MiB} MiB`);
  const mib = (v: number) => v / MiB;
  const rows: Row[] = [
    {
      metric: `peak JS heap, ${label(small)}`,
      value: mib(median(of(small, (r) => r.peak.heapUsed))),
      unit: 'MiB',
    },
    {
      metric: `peak JS heap, ${label(big)}`,
      value: mib(median(of(big, (r) => r.peak.heapUsed))),
      unit: 'MiB',
    },
    {
      metric: `peak JS heap, ${label(huge)}`,
      value: mib(median(of(huge, (r) => r.peak.heapUsed))),
      unit: 'MiB',
    },
    {
      metric: `peak heap ${label(big)} / ${label(small)}`,
      value: heapRatio,
      unit: '×',
      target: '≤ 1.1',
      met: heapRatio <= 1.1,
    },
    {
      metric: `peak page process RSS, ${label(small)}`,
      value: mib(median(of(small, (r) => r.peak.pageRss))),
      unit: 'MiB',
    },
    {
      metric: `peak page process RSS, ${label(big)}`,
      value: mib(median(of(big, (r) => r.peak.pageRss))),
      unit: 'MiB',
    },
    {
      metric: `peak page process RSS, ${label(huge)}`,
      value: mib(median(of(huge, (r) => r.peak.pageRss))),
      unit: 'MiB',
    },
    {
      metric: `peak RSS ${label(big)} / ${label(small)}`,
      value: rssRatio,
      unit: '×',
      target: '≤ 1.1',
      met: rssRatio <= 1.1,
    },
    { metric: `peak heap ${label(huge)} / ${label(big)}`, value: hugeHeapRatio, unit: '×' },
    {
      metric: `peak RSS ${label(huge)} / ${label(big)}`,
      value: hugeRssRatio,
      unit: '×',
      target: '≤ 1.1',
      met: hugeRssRatio <= 1.1,
    },
    {
      metric: `peak off-heap buffers, ${label(big)}`,
      value: mib(median(of(big, (r) => r.peak.backing))),
      unit: 'MiB',
    },
    {
      metric: `peak off-heap buffers, ${label(huge)}`,
      value: mib(median(of(huge, (r) => r.peak.backing))),
      unit: 'MiB',
    },
  ];
  const bars: Bar[] = [];
  for (const bytes of [small, big, huge]) {
    bars.push(
      {
        group: 'peak JS heap',
        label: label(bytes),
        value: mib(median(of(bytes, (r) => r.peak.heapUsed))),
        runs: of(bytes, (r) => mib(r.peak.heapUsed)),
      },
      {
        group: 'peak page process RSS',
        label: label(bytes),
        value: mib(median(of(bytes, (r) => r.peak.pageRss))),
        runs: of(bytes, (r) => mib(r.peak.pageRss)),
      },
    );
  }
  bars.push(
    { group: 'ratio', label: `heap ${label(big)} / ${label(small)} (≤ 1.1)`, value: heapRatio },
    { group: 'ratio', label: `RSS ${label(big)} / ${label(small)} (≤ 1.1)`, value: rssRatio },
    { group: 'ratio', label: `heap ${label(huge)} / ${label(big)}`, value: hugeHeapRatio },
    { group: 'ratio', label: `RSS ${label(huge)} / ${label(big)} (≤ 1.1)`, value: hugeRssRatio },
  );
  return {
    params: { small, big, huge, runs: ctx.runs, sampleEveryMs: SAMPLE_MS },
    rows,
    runs,
    notes: [
      ...failureNotes(failures),
      `Sampled every ${SAMPLE_MS} ms from the Download click to p2p-share-complete; peaks are the largest sample.`,
      "Page process RSS is the VmRSS of the recipient page's renderer process (the browser's largest; Chromium's idle spare renderer is left out); page cache of the OPFS file is not RSS.",
      "The recipient's browser refuses the download the widget starts at the end (CDP Browser.setDownloadBehavior deny): the file it measures is the one in OPFS, and the disk holds each received file once.",
    ],
    browsers: versions,
    extra: { failures },
    chart: barChart(`Recipient memory, median of ${ctx.runs}`, bars, {
      'peak JS heap': 'MiB',
      'peak page process RSS': 'MiB',
      ratio: '×',
    }),
  };
}

export const memory: Benchmark = {
  name: 'memory',
  title: 'Recipient memory: huge and big file vs small file (Chromium)',
  run: memoryRun,
};
