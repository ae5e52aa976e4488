/**
 * Transfer speed over a sliding window of a few seconds, so the numbers the widget shows react to
 * change without jumping on every piece.
 */
const WINDOW_MS = 3000;
/**
 * Shortest time between two progress reports of one transfer, on either side. Each recipient
 * update re-renders the widget (style, layout, paint, the live region), a few milliseconds on a
 * busy machine: at ten a second that was a sixth of the recipient's main-thread time in the
 * throughput benchmark. The sharer's per-recipient `p2p-share-progress` came once per piece.
 */
export const PROGRESS_MS = 250;
/** Samples kept are at least this far apart (but the latest is always kept). */
const SPACING_MS = 100;

export class RateMeter {
  private samples: Array<{ at: number; bytes: number }> = [];

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Records the running total of bytes moved. */
  add(totalBytes: number): void {
    const at = this.now();
    const n = this.samples.length;
    // A sample close on the heels of the one before the last replaces the last: callers add one
    // per piece, and the window then holds a few dozen samples instead of a few hundred.
    if (n >= 2 && at - this.samples[n - 2]!.at < SPACING_MS) {
      this.samples[n - 1] = { at, bytes: totalBytes };
      return;
    }
    this.samples.push({ at, bytes: totalBytes });
    while (this.samples.length > 2 && at - this.samples[0]!.at > WINDOW_MS) this.samples.shift();
  }

  /** Bytes per second; 0 until two samples span some time. */
  get rate(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }

  reset(): void {
    this.samples = [];
  }
}
