/**
 * Rate limits: fixed-window counters (rooms created, password tries, connections; keyed by client
 * address or room) behind one async interface, kept in this process by default or in Redis
 * (./limits-redis.ts) where several processes share them; and token buckets for messages (one per
 * socket, one per client address: server/budget.ts), which meter the sockets of this process and
 * so stay in it. Everything kept in memory is bounded however many keys a flood brings.
 */

export interface Verdict {
  allowed: boolean;
  /** Milliseconds until a refused key may try again (0 when allowed). */
  retryAfterMs: number;
}

/**
 * Counts hits per key in a fixed window that starts at the key's first hit. A call that rejects
 * could not reach the counters (Redis away); callers refuse the request rather than guess.
 */
export interface WindowLimiter {
  /** Whether `key` may act now; only an allowed hit is counted. */
  check(key: string): Promise<Verdict>;
  /** Takes back one counted hit of `key` (a try that turned out right, or never ran). */
  refund(key: string): Promise<void>;
}

/** What a window limiter counts: `limit` hits per `windowMs`. */
export interface WindowLimits {
  limit: number;
  windowMs: number;
}

/**
 * Makes the window limiter of one kind of hit; `name` (`creations`, `tries-by-room`, ...) keeps
 * the kinds apart where the counters are shared (Redis keys).
 */
export type WindowLimiterFactory = (name: string, limits: WindowLimits) => WindowLimiter;

interface Window {
  start: number;
  count: number;
}

export interface MemoryWindowLimiterOptions extends WindowLimits {
  now?: () => number;
  /** Keys remembered at most; past it the oldest windows are forgotten (default 100,000). */
  maxKeys?: number;
}

/** Window limiters kept in this process, on the clock `now`. */
export function memoryWindowLimiters(now?: () => number): WindowLimiterFactory {
  return (_name, limits) => new MemoryWindowLimiter({ ...limits, now });
}

/**
 * The window limiter of one process. The map is kept in window-start order (a key whose window
 * restarts moves to the end), so expired windows are always at the front and are dropped there in
 * passing.
 */
export class MemoryWindowLimiter implements WindowLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;

  constructor({ limit, windowMs, now = Date.now, maxKeys = 100_000 }: MemoryWindowLimiterOptions) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#maxKeys = maxKeys;
  }

  check(key: string): Promise<Verdict> {
    return Promise.resolve(this.#hit(key));
  }

  #hit(key: string): Verdict {
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

  refund(key: string): Promise<void> {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count--;
    return Promise.resolve();
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
