/**
 * A Chromium page's memory while it works: its JS heap and its workers', sampled through the
 * DevTools protocol, with ArrayBuffers (which live outside the heap) counted too.
 */
import type { Page } from 'puppeteer-core';
import { delay } from '../../testing/wait.js';

export interface HeapPeak {
  /** Largest `usedSize` of the page's JS heap (what `JSHeapUsedSize` reports). */
  used: number;
  /** Largest `usedSize + backingStorageSize` (ArrayBuffers live outside the JS heap). */
  usedWithBuffers: number;
  /** Largest `usedSize + backingStorageSize` of any dedicated worker the page started. */
  worker: number;
  samples: number;
  /** The largest `usedWithBuffers` in each quarter of the run: flat when memory is bounded. */
  quarters: number[];
  /** `usedSize + backingStorageSize` after a forced garbage collection at the end: what is kept. */
  retained: number;
}

/**
 * Samples a Chromium page's heap (and its workers') through CDP `Runtime.getHeapUsage` every
 * `intervalMs` until `stop()` resolves with the peaks.
 */
export async function sampleHeap(
  page: Page,
  intervalMs = 200,
): Promise<{ stop(): Promise<HeapPeak> }> {
  const session = await page.createCDPSession();
  const peak: HeapPeak = {
    used: 0,
    usedWithBuffers: 0,
    worker: 0,
    samples: 0,
    quarters: [],
    retained: 0,
  };
  const series: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const usage = await session.send('Runtime.getHeapUsage');
      peak.used = Math.max(peak.used, usage.usedSize);
      peak.usedWithBuffers = Math.max(
        peak.usedWithBuffers,
        usage.usedSize + usage.backingStorageSize,
      );
      series.push(usage.usedSize + usage.backingStorageSize);
      for (const worker of page.workers()) {
        const w = await worker.client.send('Runtime.getHeapUsage').catch(() => null);
        if (w) peak.worker = Math.max(peak.worker, w.usedSize + w.backingStorageSize);
      }
      peak.samples += 1;
      await delay(intervalMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const q = Math.ceil(series.length / 4);
      for (let i = 0; i < series.length; i += q)
        peak.quarters.push(Math.max(...series.slice(i, i + q)));
      await session.send('HeapProfiler.collectGarbage');
      const end = await session.send('Runtime.getHeapUsage');
      peak.retained = end.usedSize + end.backingStorageSize;
      await session.detach().catch(() => {});
      return peak;
    },
  };
}
