/**
 * The two ways a test or benchmark waits: `until` a state holds (polled, with a deadline and a
 * message that says what never happened), or a fixed `delay` where the time itself is the point
 * (a sampling interval, a settle time a benchmark measures around). Imports nothing, so
 * browser-side tests can use it too.
 */

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface UntilOptions {
  /** How long to keep trying, in ms (5 s by default). */
  timeout?: number;
  /** Pause between tries, in ms (100 by default). */
  interval?: number;
  /** What the error says when time runs out; a function is asked only then. */
  message?: string | (() => string | Promise<string>);
}

/** What `until` resolves with: `check`'s value, never a falsy one. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Calls `check` until it returns something truthy, and resolves with that; rejects once
 * `timeout` has passed without. `check` runs at least once, and once more at the deadline.
 */
export async function until<T>(
  check: () => T | Promise<T>,
  options: UntilOptions = {},
): Promise<Truthy<T>> {
  const { timeout = 5000, interval = 100, message = 'the condition never held' } = options;
  const deadline = performance.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value as Truthy<T>;
    const left = deadline - performance.now();
    if (left <= 0) {
      const text = typeof message === 'string' ? message : await message();
      throw new Error(`${text} (waited ${timeout} ms)`);
    }
    await delay(Math.min(interval, left));
  }
}
