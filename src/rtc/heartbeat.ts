/**
 * The link's timekeeping: until the link opens, the deadline for opening; once it is open, a
 * ping every interval and the verdict that a peer heard from not at all for `deadAfterMs` is
 * gone. Anything from the peer counts as heard, not only its pongs. A hidden tab's throttled
 * timer (once a second) only delays a tick: silence is measured on the clock, not in ticks, and
 * pongs are answered from the message handler, so the peer hears from a hidden page all the same.
 */
export interface HeartbeatOptions {
  intervalMs: number;
  connectTimeoutMs: number;
  deadAfterMs: number;
  /** Milliseconds on a clock that never goes back. */
  now: () => number;
  /** Whether the link is open (it stops this heartbeat when it closes). */
  isOpen: () => boolean;
  ping: (n: number) => void;
  /** The link did not open within `connectTimeoutMs`. */
  onConnectTimeout: () => void;
  /** The open link heard nothing from the peer for `deadAfterMs`. */
  onSilence: () => void;
}

export class Heartbeat {
  private readonly startedAt: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private lastHeard = 0;
  private pingCount = 0;

  constructor(private readonly opts: HeartbeatOptions) {
    this.startedAt = opts.now();
    this.timer = setInterval(() => this.tick(), opts.intervalMs);
  }

  /** The peer was heard from (or the link just opened). */
  heard(): void {
    this.lastHeard = this.opts.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = this.opts.now();
    if (!this.opts.isOpen()) {
      if (now - this.startedAt > this.opts.connectTimeoutMs) this.opts.onConnectTimeout();
      return;
    }
    if (now - this.lastHeard > this.opts.deadAfterMs) {
      this.opts.onSilence();
      return;
    }
    this.opts.ping(++this.pingCount);
  }
}
