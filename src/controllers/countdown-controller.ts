/**
 * A wait that counts down on screen: re-renders its host each second while it runs, and once
 * more when it is over, so the view can show the seconds left and announce the end. It knows
 * nothing of what is being waited for; stopping it, or the host leaving the page, forgets it.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class CountdownController implements ReactiveController {
  /** When the wait is over (epoch ms); null while nothing is being waited for. */
  private endsAt: number | null = null;
  private ticker: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly now: () => number = Date.now,
  ) {
    host.addController(this);
  }

  /** Whole seconds left, rounded up (0 once the wait is over); null while not counting. */
  get seconds(): number | null {
    if (this.endsAt === null) return null;
    return Math.max(0, Math.ceil((this.endsAt - this.now()) / 1000));
  }

  /** Counts down `ms` milliseconds from now, replacing any wait before. */
  start(ms: number): void {
    this.stop();
    this.endsAt = this.now() + ms;
    this.ticker = setInterval(() => {
      if (this.seconds === 0) this.clearTicker();
      this.host.requestUpdate();
    }, 1000);
    this.host.requestUpdate();
  }

  /** Forgets the wait. */
  stop(): void {
    this.clearTicker();
    this.endsAt = null;
  }

  hostDisconnected(): void {
    this.stop();
  }

  private clearTicker(): void {
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}
