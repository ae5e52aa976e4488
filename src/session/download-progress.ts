/**
 * When a download reports its progress, and the speed and time left each report shows: at most
 * one report per PROGRESS_MS, except an attempt's first bytes and the end, which are news.
 */
import { PROGRESS_MS, RateMeter } from './rate.js';

export interface ProgressReport {
  /** Bytes per second over the last few seconds. */
  speed: number;
  /** Seconds left at that speed; null until known. */
  eta: number | null;
}

export class DownloadProgress {
  private readonly rate = new RateMeter();
  private lastReport = 0;
  /** Verified bytes in the last report, and when this attempt's first link opened. */
  private reportedBytes = 0;
  private attemptStartBytes = 0;

  /** An attempt's first link opened with `bytes` verified before it. */
  restart(bytes: number): void {
    this.attemptStartBytes = this.reportedBytes = bytes;
    this.rate.reset();
    this.rate.add(bytes);
  }

  /** Records `bytes` verified of `total`; the report to make now, or null if it would be too soon. */
  report(bytes: number, total: number, force = false): ProgressReport | null {
    this.rate.add(bytes);
    const now = performance.now();
    const first = this.reportedBytes < bytes && this.reportedBytes === this.attemptStartBytes;
    if (!force && !first && bytes < total && now - this.lastReport < PROGRESS_MS) return null;
    this.lastReport = now;
    this.reportedBytes = bytes;
    const speed = this.rate.rate;
    const eta = speed > 0 ? (total - bytes) / speed : null;
    return { speed, eta };
  }
}
