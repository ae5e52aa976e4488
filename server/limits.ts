/**
 * Rate limits kept in this process: fixed-window counters (rooms created, password tries,
 * connections; keyed by client address or room) and token buckets for messages (one per socket,
 * one per client address: server/budget.ts). Both are bounded in memory however many keys a flood
 * brings. With several processes each counts for itself, so a client that reaches N processes
 * gets N times the allowance.
 */

export interface Verdict {
  allowed: boolean;
  /** Milliseconds until a refused key may try again (0 when allowed). */
  retryAfterMs: number;
}

interface Window {
  start: number;
  count: number;
}

export interface WindowLimiterOptions {
  /** Hits a key may make per window. */
  limit: number;
  windowMs: number;
  now?: () => number;
  /** Keys remembered at most; past it the oldest windows are forgotten (default 100,000). */
  maxKeys?: number;
}

/**
 * Counts hits per key in a fixed window that starts at the key's first hit. The map is kept in
 * window-start order (a key whose window restarts moves to the end), so expired windows are
 * always at the front and are dropped there in passing.
 */
export class WindowLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor({ limit, windowMs, now = Date.now, maxKeys = 100_000 }: WindowLimiterOptions) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  /** Whether `key` may act now; only an allowed hit is counted. */
  check(key: string): Verdict {
    const now = this.#now();
    this.prune(now);
    let window = this.#windows.get(key);
    if (!window || now - window.start >= this.#windowMs) {
      this.#windows.delete(key);
      window = { start: now, count: 0 };
      this.#windows.set(key, window);
      // A flood of fresh keys forgets the oldest windows rather than growing without end.
      if (this.#windows.size > this.#maxKeys) {
        this.#windows.delete(this.#windows.keys().next().value!);
      }
    }
    if (window.count >= this.#limit) {
      return { allowed: false, retryAfterMs: Math.ceil(window.start + this.#windowMs - now) };
    }
    window.count++;
    return { allowed: true, retryAfterMs: 0 };
  }

  /** Takes back one counted hit of `key` (a try that turned out right, or never ran). */
  refund(key: string): void {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count--;
  }

  /** How many keys are remembered now (for tests that check memory stays bounded). */
  get size(): number {
    return this.#windows.size;
  }

  /** Forgets the windows that have ended. */
  prune(now = this.#now()): void {
    for (const [key, window] of this.#windows) {
      if (now - window.start < this.#windowMs) break;
      this.#windows.delete(key);
    }
  }
}

const monotonic = () => performance.now();

/** A token bucket: `burst` tokens, refilled at `perSecond`; each message takes one. */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    readonly perSecond: number,
    readonly burst: number,
    // One clock shared by every bucket (there is one per socket and one per client address).
    readonly now: () => number = monotonic,
  ) {
    this.#tokens = burst;
    this.#last = now();
  }

  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Whether the bucket holds its whole burst again (as an unused one does). */
  full(): boolean {
    this.#refill();
    return this.#tokens >= this.burst;
  }

  #refill(): void {
    const now = this.now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#last) / 1000) * this.perSecond,
    );
    this.#last = now;
  }

  /** How long until `take` succeeds, as of its last call (0 when a token was left). */
  msUntilToken(): number {
    return this.#tokens >= 1 ? 0 : ((1 - this.#tokens) / this.perSecond) * 1000;
  }
}
